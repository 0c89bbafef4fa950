import { beforeAll, describe, expect, it } from 'vitest';
import { type ApiResponse, call, createUser, type TestUser, useRuntimeStore } from '../setup/api';

/**
 * Stream permissions (spec §4.1, §4.2, §4.3) as a matrix: level × method × placement.
 *
 * The expected outcome of every cell comes from SPEC_4_1 below (a transcription of the
 * §4.1 table) and from where the level sits (PLACEMENTS), never from the implementation.
 * One fixture user; the accesses are made with accesses.create and the personal token.
 * Each (placement, level) has a parent stream P; each writing method has a child S of P
 * of its own (the reads share one), so cells do not depend on each other's writes, and
 * every cell that may write re-reads its streams and events with the personal token to
 * check that a refused write changed nothing.
 */

type Level = 'read' | 'contribute' | 'manage' | 'create-only' | 'none';
type Capability = 'list' | 'read' | 'create' | 'update' | 'manage';

const LEVELS: Level[] = ['read', 'contribute', 'manage', 'create-only', 'none'];

/** Spec §4.1: list streams / read events / create events / update-trash-delete events / manage (sub)streams. */
const SPEC_4_1: Record<Level, Record<Capability, boolean>> = {
  none: { list: false, read: false, create: false, update: false, manage: false },
  read: { list: true, read: true, create: false, update: false, manage: false },
  'create-only': { list: true, read: false, create: true, update: false, manage: false },
  contribute: { list: true, read: true, create: true, update: true, manage: false },
  manage: { list: true, read: true, create: true, update: true, manage: true },
};

/** No permission at all (`undefined`) grants nothing. */
const can = (level: Level | undefined, capability: Capability): boolean => level !== undefined && SPEC_4_1[level][capability];

/**
 * Where the tested level is given, and the resulting levels (§4.2) of the cell's stream S
 * (a child of P) and of P:
 * - explicit: `{S: level}` only — P has no permission;
 * - inherited: `{P: level}` — S inherits it;
 * - override: `{P: manage, S: level}` — the child's own permission wins, even when lower;
 * - nearest: `{G: manage, P: level}` with G the parent of P — S inherits from the nearest
 *   explicit permission (P's), not from further up;
 * - star: `{*: level}` — applies to both;
 * - star overridden: `{*: manage, S: level}` — an explicit permission beats `*`.
 */
type Placement = 'explicit' | 'inherited' | 'override' | 'nearest' | 'star' | 'star overridden';
interface PlacementDef {
  parentLevel: (l: Level) => Level | undefined;
  /** P hangs below a grandparent G (listable by the access) instead of being a root. */
  withGrandparent?: boolean;
  permissions: (l: Level, cells: Cell[]) => object[];
}
const PLACEMENTS: Record<Placement, PlacementDef> = {
  explicit: {
    parentLevel: () => undefined,
    permissions: (l, cells) => cells.map((c) => ({ streamId: c.s, level: l })),
  },
  inherited: {
    parentLevel: (l) => l,
    permissions: (l, cells) => [{ streamId: cells[0]!.p, level: l }],
  },
  override: {
    parentLevel: () => 'manage',
    permissions: (l, cells) => [{ streamId: cells[0]!.p, level: 'manage' }, ...cells.map((c) => ({ streamId: c.s, level: l }))],
  },
  nearest: {
    parentLevel: (l) => l,
    withGrandparent: true,
    permissions: (l, cells) => [
      { streamId: cells[0]!.g!, level: 'manage' },
      { streamId: cells[0]!.p, level: l },
    ],
  },
  star: {
    parentLevel: (l) => l,
    permissions: (l) => [{ streamId: '*', level: l }],
  },
  'star overridden': {
    parentLevel: () => 'manage',
    permissions: (l, cells) => [{ streamId: '*', level: 'manage' }, ...cells.map((c) => ({ streamId: c.s, level: l }))],
  },
};

/** A cell's streams: P (root, or below G), its child S, and (when the method needs one) an event E in S. */
interface Cell {
  g?: string;
  p: string;
  s: string;
  e?: string;
  secret: string;
}

interface Ctx {
  user: TestUser;
  token: string;
  cell: Cell;
}

interface Expectation {
  status: number;
  /** For reads answering 200: whether E (resp. S) must be part of the answer. */
  visible?: boolean;
  parentVisible?: boolean;
}

interface MethodCase {
  /** Which cell the method uses: the shared read-only one, or a cell of its own. */
  cell: 'read' | 'own';
  needsEvent: boolean;
  writes: boolean;
  expect: (s: Level, p: Level | undefined) => Expectation;
  run: (ctx: Ctx) => Promise<ApiResponse>;
  /** Checks of an allowed call's effect, with the personal token. */
  effect?: (ctx: Ctx, res: ApiResponse) => Promise<void>;
}

const q = (value: unknown) => encodeURIComponent(JSON.stringify(value));

function findStream(forest: Array<Record<string, any>>, id: string): Record<string, any> | undefined {
  for (const s of forest) {
    if (s.id === id) return s;
    const found = findStream(s.children ?? [], id);
    if (found) return found;
  }
  return undefined;
}

async function personalEvent(ctx: Ctx): Promise<Record<string, any>> {
  const res = await call('GET', `/${ctx.user.username}/events/${ctx.cell.e}`, { token: ctx.user.token });
  expect(res.status).toBe(200);
  return res.body.event;
}

async function personalTree(ctx: Ctx): Promise<Array<Record<string, any>>> {
  const res = await call('GET', `/${ctx.user.username}/streams?state=all`, { token: ctx.user.token });
  expect(res.status).toBe(200);
  return res.body.streams;
}

const METHODS: Record<string, MethodCase> = {
  'events.get on the stream': {
    cell: 'read',
    needsEvent: true,
    writes: false,
    expect: (s) => ({ status: can(s, 'read') ? 200 : 403, visible: true }),
    run: ({ user, token, cell }) => call('GET', `/${user.username}/events?streams=${q([cell.s])}&limit=1000`, { token }),
  },
  'events.get on the parent': {
    cell: 'read',
    needsEvent: true,
    writes: false,
    expect: (s, p) => ({ status: can(p, 'read') ? 200 : 403, visible: can(s, 'read') }),
    run: ({ user, token, cell }) => call('GET', `/${user.username}/events?streams=${q([cell.p])}&limit=1000`, { token }),
  },
  'events.get on all streams': {
    cell: 'read',
    needsEvent: true,
    writes: false,
    expect: (s) => ({ status: 200, visible: can(s, 'read') }),
    run: ({ user, token }) => call('GET', `/${user.username}/events?limit=1000`, { token }),
  },
  'events.getOne': {
    cell: 'read',
    needsEvent: true,
    writes: false,
    expect: (s) => ({ status: can(s, 'read') ? 200 : 403 }),
    run: ({ user, token, cell }) => call('GET', `/${user.username}/events/${cell.e}`, { token }),
  },
  'streams.get': {
    cell: 'read',
    needsEvent: false,
    writes: false,
    expect: (s, p) => ({ status: 200, visible: can(s, 'list'), parentVisible: can(p, 'list') }),
    run: ({ user, token }) => call('GET', `/${user.username}/streams`, { token }),
  },
  'events.create': {
    cell: 'own',
    needsEvent: false,
    writes: true,
    expect: (s) => ({ status: can(s, 'create') ? 201 : 403 }),
    run: ({ user, token, cell }) =>
      call('POST', `/${user.username}/events`, { token, body: { streamIds: [cell.s], type: 'note/txt', content: `new ${cell.secret}` } }),
    effect: async (ctx, res) => {
      const seen = await call('GET', `/${ctx.user.username}/events/${res.body.event.id}`, { token: ctx.user.token });
      expect(seen.body.event).toMatchObject({ streamIds: [ctx.cell.s], content: `new ${ctx.cell.secret}` });
    },
  },
  'events.update': {
    cell: 'own',
    needsEvent: true,
    writes: true,
    expect: (s) => ({ status: can(s, 'update') ? 200 : 403 }),
    run: ({ user, token, cell }) => call('PUT', `/${user.username}/events/${cell.e}`, { token, body: { content: 'overwritten' } }),
    effect: async (ctx) => {
      expect((await personalEvent(ctx)).content).toBe('overwritten');
    },
  },
  'events.delete': {
    cell: 'own',
    needsEvent: true,
    writes: true,
    expect: (s) => ({ status: can(s, 'update') ? 200 : 403 }),
    run: ({ user, token, cell }) => call('DELETE', `/${user.username}/events/${cell.e}`, { token }),
    effect: async (ctx) => {
      expect((await personalEvent(ctx)).trashed).toBe(true);
    },
  },
  'streams.create (child)': {
    cell: 'own',
    needsEvent: false,
    writes: true,
    expect: (s) => ({ status: can(s, 'manage') ? 201 : 403 }),
    run: ({ user, token, cell }) =>
      call('POST', `/${user.username}/streams`, { token, body: { id: `${cell.s}-kid`, name: 'Kid', parentId: cell.s } }),
    effect: async (ctx) => {
      expect(findStream(await personalTree(ctx), `${ctx.cell.s}-kid`)).toMatchObject({ parentId: ctx.cell.s, name: 'Kid' });
    },
  },
  'streams.update': {
    cell: 'own',
    needsEvent: false,
    writes: true,
    expect: (s) => ({ status: can(s, 'manage') ? 200 : 403 }),
    run: ({ user, token, cell }) => call('PUT', `/${user.username}/streams/${cell.s}`, { token, body: { name: 'Renamed' } }),
    effect: async (ctx) => {
      expect(findStream(await personalTree(ctx), ctx.cell.s)).toMatchObject({ name: 'Renamed', parentId: ctx.cell.p });
    },
  },
  'streams.delete': {
    cell: 'own',
    needsEvent: false,
    writes: true,
    expect: (s) => ({ status: can(s, 'manage') ? 200 : 403 }),
    run: ({ user, token, cell }) => call('DELETE', `/${user.username}/streams/${cell.s}`, { token }),
    effect: async (ctx) => {
      expect(findStream(await personalTree(ctx), ctx.cell.s)?.trashed).toBe(true);
    },
  },
};

const PLACEMENT_NAMES = Object.keys(PLACEMENTS) as Placement[];
const METHOD_NAMES = Object.keys(METHODS);
const slug = (s: string) =>
  s
    .replace(/[^a-z0-9]+/gi, '-')
    .toLowerCase()
    .replace(/-+$/, '');

/** The cell of a (placement, level, method): P is per (placement, level), S is the shared read one or the method's own. */
function cellOf(placement: Placement, level: Level, method: string): Cell {
  const key = METHODS[method]!.cell === 'read' ? 'read' : slug(method);
  const p = `mx-${slug(placement)}-${level}`;
  const g = PLACEMENTS[placement].withGrandparent ? `${p}-g` : undefined;
  return { ...(g ? { g } : {}), p, s: `${p}-${key}`, secret: `secret-${p}-${key}` };
}

function cellsOf(placement: Placement, level: Level): Cell[] {
  const seen = new Map<string, Cell>();
  for (const m of METHOD_NAMES) {
    const c = cellOf(placement, level, m);
    seen.set(c.s, c);
  }
  return [...seen.values()];
}

// Cells are independent (own streams, own events): they run concurrently.
describe('permissions matrix (spec §4.1–4.3): level × method × placement', { concurrent: true }, () => {
  let user: TestUser;
  const tokens = new Map<string, string>();
  const events = new Map<string, string>(); // cell S → event id

  beforeAll(async () => {
    useRuntimeStore();
    user = await createUser();
    // Streams and events of every cell, in one batch with the personal token.
    const calls: Array<{ method: string; params: object }> = [];
    const withEvent = new Set<string>();
    for (const placement of PLACEMENT_NAMES) {
      for (const level of LEVELS) {
        for (const m of METHOD_NAMES) if (METHODS[m]!.needsEvent) withEvent.add(cellOf(placement, level, m).s);
        const cells = cellsOf(placement, level);
        const { g, p } = cells[0]!;
        if (g) calls.push({ method: 'streams.create', params: { id: g, name: g } });
        calls.push({ method: 'streams.create', params: { id: p, name: p, parentId: g ?? null } });
        for (const c of cells) {
          calls.push({ method: 'streams.create', params: { id: c.s, name: c.s, parentId: c.p } });
          if (withEvent.has(c.s)) {
            calls.push({ method: 'events.create', params: { streamIds: [c.s], type: 'note/txt', content: c.secret } });
          }
        }
      }
    }
    // Batches stay well under the 29 s a call may take (API Gateway's limit, kept by the local gateway).
    for (let start = 0; start < calls.length; start += 60) {
      const chunk = calls.slice(start, start + 60);
      const batch = await call('POST', `/${user.username}/`, { token: user.token, body: chunk });
      expect(batch.status, JSON.stringify(batch.body)).toBe(200);
      batch.body.results.forEach((r: Record<string, any>, i: number) => {
        expect(r.error, JSON.stringify(chunk[i])).toBeUndefined();
        if (r.event) events.set(r.event.streamIds[0], r.event.id);
      });
    }

    for (const placement of PLACEMENT_NAMES) {
      for (const level of LEVELS) {
        const res = await call('POST', `/${user.username}/accesses`, {
          token: user.token,
          body: {
            type: 'shared',
            name: `matrix ${placement} ${level}`,
            permissions: PLACEMENTS[placement].permissions(level, cellsOf(placement, level)),
          },
        });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        tokens.set(`${placement}/${level}`, res.body.access.token);
      }
    }
  }, 180_000);

  /** Everything a cell may touch, as the personal token sees it: P and S (without the other cells' streams), S's events. */
  async function snapshot(cell: Cell): Promise<unknown> {
    const tree = await call('GET', `/${user.username}/streams?state=all`, { token: user.token });
    const evs = await call('GET', `/${user.username}/events?streams=${q([cell.s])}&state=all&limit=1000`, { token: user.token });
    expect(evs.status).toBe(200);
    const { children: _c, ...parent } = findStream(tree.body.streams, cell.p)!;
    return { parent, stream: findStream(tree.body.streams, cell.s), events: evs.body.events };
  }

  describe.each(PLACEMENT_NAMES)('permission %s', (placement) => {
    describe.each(LEVELS)('level %s', (level) => {
      it.each(METHOD_NAMES)('%s', async (method) => {
        const m = METHODS[method]!;
        const cell = { ...cellOf(placement, level, method) };
        cell.e = events.get(cell.s);
        if (m.needsEvent) expect(cell.e).toBeDefined();
        const ctx: Ctx = { user, token: tokens.get(`${placement}/${level}`)!, cell };
        const expected = m.expect(level, PLACEMENTS[placement].parentLevel(level));

        const before = m.writes ? await snapshot(cell) : undefined;
        const res = await m.run(ctx);
        expect(res.status, JSON.stringify(res.body)).toBe(expected.status);
        const text = JSON.stringify(res.body);

        if (expected.status >= 400) {
          expect(res.body.error.id).toBe('forbidden');
          expect(text).not.toContain(cell.secret);
        }
        if (expected.status < 300 && m.effect) await m.effect(ctx, res);
        if (m.writes && expected.status >= 400) {
          expect(await snapshot(cell), 'a refused write changed nothing').toEqual(before);
        }

        // What reads reveal.
        if (expected.status === 200 && res.body.events) {
          const ids = res.body.events.map((e: { id: string }) => e.id);
          if (expected.visible) {
            expect(ids).toContain(cell.e);
            expect(res.body.events.find((e: { id: string }) => e.id === cell.e).content).toBe(cell.secret);
          } else {
            expect(ids).not.toContain(cell.e);
            expect(text).not.toContain(cell.secret);
          }
        }
        if (method === 'events.getOne' && expected.status === 200) {
          expect(res.body.event).toMatchObject({ id: cell.e, streamIds: [cell.s], content: cell.secret });
        }
        if (method === 'streams.get') {
          const s = findStream(res.body.streams, cell.s);
          const p = findStream(res.body.streams, cell.p);
          if (expected.visible) expect(s).toMatchObject({ id: cell.s, parentId: expected.parentVisible ? cell.p : null });
          else expect(s).toBeUndefined();
          if (expected.parentVisible) expect(p).toMatchObject({ id: cell.p, parentId: cell.g ?? null });
          else expect(p).toBeUndefined();
          if (expected.parentVisible && expected.visible) expect(p!.children.map((c: { id: string }) => c.id)).toContain(cell.s);
        }
      });
    });
  });
});

/**
 * Spec §4.3 for events in several streams, and §4.2 for stream moves and root streams:
 * create needs the right on every stream; update/delete on at least one current stream
 * plus on every stream added or removed; read on at least one.
 */
describe('permissions over several streams (spec §4.2, §4.3)', () => {
  let user: TestUser;
  let token: string;
  const ev: Record<string, string> = {};
  const id = (name: string) => `multi-${name}`;

  const personalEvent = async (eventId: string) =>
    (await call('GET', `/${user.username}/events/${eventId}`, { token: user.token })).body.event;
  const personalStreams = async () => (await call('GET', `/${user.username}/streams?state=all`, { token: user.token })).body.streams;

  beforeAll(async () => {
    useRuntimeStore();
    user = await createUser();
    const levels: Record<string, Level> = {
      ro: 'read',
      co: 'contribute',
      co2: 'contribute',
      mg: 'manage',
      mg2: 'manage',
      no: 'none',
      cr: 'create-only',
    };
    const calls: Array<{ method: string; params: object }> = [];
    for (const name of [...Object.keys(levels), 'free']) calls.push({ method: 'streams.create', params: { id: id(name), name } });
    calls.push({ method: 'streams.create', params: { id: id('mg-child'), name: 'child', parentId: id('mg') } });
    const events: Record<string, string[]> = { roCo: ['ro', 'co'], ro: ['ro'], co: ['co'], coNo: ['co', 'no'], moveOut: ['ro', 'co'] };
    for (const [key, streams] of Object.entries(events)) {
      calls.push({ method: 'events.create', params: { streamIds: streams.map(id), type: 'note/txt', content: `event ${key}` } });
    }
    const batch = await call('POST', `/${user.username}/`, { token: user.token, body: calls });
    expect(batch.status).toBe(200);
    const keys = Object.keys(events);
    for (const r of batch.body.results) {
      expect(r.error).toBeUndefined();
      if (r.event) ev[keys.shift()!] = r.event.id;
    }
    const access = await call('POST', `/${user.username}/accesses`, {
      token: user.token,
      body: { name: 'multi', permissions: Object.entries(levels).map(([name, level]) => ({ streamId: id(name), level })) },
    });
    expect(access.status).toBe(201);
    token = access.body.access.token;
  });

  it('events.create needs a create right on every stream', async () => {
    const create = (streams: string[]) =>
      call('POST', `/${user.username}/events`, {
        token,
        body: { streamIds: streams.map(id), type: 'note/txt', content: `in ${streams.join('+')}` },
      });
    const countIn = async (name: string) =>
      (await call('GET', `/${user.username}/events?streams=${q([id(name)])}&state=all&limit=1000`, { token: user.token })).body.events
        .length;
    const before = { co: await countIn('co'), ro: await countIn('ro'), no: await countIn('no') };
    for (const refused of [['co', 'ro'], ['co', 'no'], ['co', 'free'], ['ro']]) {
      const res = await create(refused);
      expect(res.status, refused.join('+')).toBe(403);
      expect(res.body.error.id).toBe('forbidden');
    }
    expect({ co: await countIn('co'), ro: await countIn('ro'), no: await countIn('no') }).toEqual(before);
    for (const allowed of [
      ['co', 'cr'],
      ['co', 'co2'],
      ['mg', 'cr'],
    ]) {
      expect((await create(allowed)).status, allowed.join('+')).toBe(201);
    }
  });

  it('events.update: a right on one current stream is enough for content changes', async () => {
    const res = await call('PUT', `/${user.username}/events/${ev.roCo}`, { token, body: { content: 'changed' } });
    expect(res.status).toBe(200);
    expect((await personalEvent(ev.roCo!)).content).toBe('changed');
    const before = await personalEvent(ev.ro!);
    const refused = await call('PUT', `/${user.username}/events/${ev.ro}`, { token, body: { content: 'changed' } });
    expect(refused.status).toBe(403);
    expect(await personalEvent(ev.ro!)).toEqual(before);
  });

  it('events.update: every added or removed stream needs the update right', async () => {
    const before = await personalEvent(ev.co!);
    for (const streamIds of [['ro'], ['co', 'ro'], ['co', 'cr'], ['co', 'free']]) {
      const res = await call('PUT', `/${user.username}/events/${ev.co}`, { token, body: { streamIds: streamIds.map(id) } });
      expect(res.status, streamIds.join('+')).toBe(403);
    }
    expect(await personalEvent(ev.co!)).toEqual(before);
    const moveOutBefore = await personalEvent(ev.moveOut!);
    const removeRead = await call('PUT', `/${user.username}/events/${ev.moveOut}`, { token, body: { streamIds: [id('co')] } });
    expect(removeRead.status).toBe(403); // removing "ro" needs an update right on it
    expect(await personalEvent(ev.moveOut!)).toEqual(moveOutBefore);

    const add = await call('PUT', `/${user.username}/events/${ev.co}`, { token, body: { streamIds: [id('co'), id('co2')] } });
    expect(add.status).toBe(200);
    expect((await personalEvent(ev.co!)).streamIds.sort()).toEqual([id('co'), id('co2')].sort());
    const move = await call('PUT', `/${user.username}/events/${ev.co}`, { token, body: { streamIds: [id('mg')] } });
    expect(move.status).toBe(200);
    expect((await personalEvent(ev.co!)).streamIds).toEqual([id('mg')]);
  });

  it('events.getOne: one readable stream is enough; events.delete: one updatable stream', async () => {
    const read = await call('GET', `/${user.username}/events/${ev.coNo}`, { token });
    expect(read.status).toBe(200);
    expect(read.body.event.id).toBe(ev.coNo);
    const del = await call('DELETE', `/${user.username}/events/${ev.roCo}`, { token });
    expect(del.status).toBe(200);
    expect((await personalEvent(ev.roCo!)).trashed).toBe(true);
  });

  it('streams.update: moving needs manage on the stream and on the target parent; root moves need manage on "*"', async () => {
    const before = findStream(await personalStreams(), id('mg-child'));
    for (const parentId of [id('co'), id('ro'), id('free'), null]) {
      const res = await call('PUT', `/${user.username}/streams/${id('mg-child')}`, { token, body: { parentId } });
      expect(res.status, String(parentId)).toBe(403);
    }
    expect(findStream(await personalStreams(), id('mg-child'))).toEqual(before);
    const ok = await call('PUT', `/${user.username}/streams/${id('mg-child')}`, { token, body: { parentId: id('mg2') } });
    expect(ok.status).toBe(200);
    expect(findStream(await personalStreams(), id('mg-child'))?.parentId).toBe(id('mg2'));
  });

  it('streams.create at the root needs manage on "*"', async () => {
    const refused = await call('POST', `/${user.username}/streams`, { token, body: { id: id('new-root'), name: 'New root' } });
    expect(refused.status).toBe(403);
    expect(findStream(await personalStreams(), id('new-root'))).toBeUndefined();
    const star = await call('POST', `/${user.username}/accesses`, {
      token: user.token,
      body: { name: 'star manage', permissions: [{ streamId: '*', level: 'manage' }] },
    });
    const res = await call('POST', `/${user.username}/streams`, {
      token: star.body.access.token,
      body: { id: id('new-root'), name: 'New root' },
    });
    expect(res.status).toBe(201);
    expect(findStream(await personalStreams(), id('new-root'))).toMatchObject({ parentId: null });
    const contributeStar = await call('POST', `/${user.username}/accesses`, {
      token: user.token,
      body: { name: 'star contribute', permissions: [{ streamId: '*', level: 'contribute' }] },
    });
    const no = await call('POST', `/${user.username}/streams`, {
      token: contributeStar.body.access.token,
      body: { id: id('other-root'), name: 'Other root' },
    });
    expect(no.status).toBe(403);
  });
});
