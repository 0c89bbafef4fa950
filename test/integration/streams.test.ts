import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Permission } from '../../shared/model/accesses';
import { insertAccess } from '../setup/accesses';
import { call, createUser, expectError, type TestUser, useRuntimeStore } from '../setup/api';

/** Calls of one user with one token. */
function as(username: string, token: string) {
  const base = `/${username}`;
  return {
    get: (path: string) => call('GET', base + path, { token }),
    post: (path: string, body: unknown) => call('POST', base + path, { token, body }),
    put: (path: string, body: unknown) => call('PUT', base + path, { token, body }),
    del: (path: string) => call('DELETE', base + path, { token }),
  };
}
type Client = ReturnType<typeof as>;

/** A stream id unique to this run (tests may share a user). */
const sid = (prefix = 's') => `${prefix}-${randomBytes(4).toString('hex')}`;

const streamsParam = (ids: string[]) => encodeURIComponent(JSON.stringify(ids));

async function mkStream(api: Client, body: { id?: string; name?: string; parentId?: string | null; [k: string]: unknown }) {
  const res = await api.post('/streams', { name: body.name ?? body.id ?? sid('name'), ...body });
  if (res.status !== 201) throw new Error(`stream not created: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.stream;
}

async function mkEvent(api: Client, streamIds: string[], extra: Record<string, unknown> = {}) {
  const res = await api.post('/events', { streamIds, type: 'note/txt', content: 'hello', ...extra });
  if (res.status !== 201) throw new Error(`event not created: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.event;
}

/**
 * Ids of the user's own streams in a `streams.get` forest, nested like the tree: [[id,
 * [children…]], …]. The account system tree the personal token always sees is left out here
 * (test/integration/system-streams.test.ts checks it).
 */
type Shape = Array<[string, Shape]>;
/** The user's own root streams of a forest (without the account system tree). */
const ownStreams = (streams: any[]): any[] => streams.filter((s) => s.id !== ':_system:account');
const shape = (streams: Array<{ id: string; children?: unknown[] }>): Shape =>
  streams
    .filter((s) => s.id !== ':_system:account')
    .map((s) => [s.id, shape((s.children ?? []) as Array<{ id: string; children?: unknown[] }>)]);

function findIn(streams: any[], id: string): any {
  for (const s of streams) {
    if (s.id === id) return s;
    const found = findIn(s.children ?? [], id);
    if (found) return found;
  }
  return undefined;
}

async function eventIdsIn(api: Client, streamId: string, state = 'default'): Promise<string[]> {
  const res = await api.get(`/events?streams=${streamsParam([streamId])}&state=${state}&limit=1000`);
  expect(res.status).toBe(200);
  return res.body.events.map((e: { id: string }) => e.id).sort();
}

let shared: TestUser;
let me: Client;
let personalAccessId: string;

beforeAll(async () => {
  useRuntimeStore();
  shared = await createUser();
  me = as(shared.username, shared.token);
  personalAccessId = (await me.get('/access-info')).headers.get('pryv-access-id')!;
});

describe('streams.create (spec §2.3)', () => {
  it('creates a root stream with a custom id: 201, {stream} without children, authorship set', async () => {
    const id = sid('custom');
    const res = await me.post('/streams', { id, name: `Name ${id}`, clientData: { 'app:color': 'red' } });
    expect(res.status).toBe(201);
    const s = res.body.stream;
    expect(s).toEqual({
      id,
      name: `Name ${id}`,
      parentId: null,
      clientData: { 'app:color': 'red' },
      created: expect.any(Number),
      createdBy: personalAccessId,
      modified: s.created,
      modifiedBy: personalAccessId,
    });
    expect(s).not.toHaveProperty('children');
    expect(s).not.toHaveProperty('trashed');
    expect(Math.abs(s.created - res.body.meta.serverTime)).toBeLessThan(5);
  });

  it('slugifies a given id (spaces → "-", case kept)', async () => {
    const suffix = randomBytes(3).toString('hex');
    const res = await me.post('/streams', { id: `My Stream ${suffix}`, name: `slug ${suffix}` });
    expect(res.status).toBe(201);
    expect(res.body.stream.id).toBe(`My-Stream-${suffix}`);
    const again = await me.get(`/streams?parentId=${encodeURIComponent(`My-Stream-${suffix}`)}`);
    expect(again.status).toBe(200);
  });

  it('generates a cuid when the id is omitted', async () => {
    const res = await me.post('/streams', { name: sid('no-id') });
    expect(res.status).toBe(201);
    expect(res.body.stream.id).toMatch(/^c[a-z0-9]{24}$/);
  });

  it.each(['null', 'undefined', '*'])('refuses the reserved id %j with 400 invalid-item-id', async (id) => {
    const name = sid('reserved');
    const res = await me.post('/streams', { id, name });
    expectError(res, 400, 'invalid-item-id');
    const all = await me.get('/streams?state=all');
    expect(JSON.stringify(all.body.streams)).not.toContain(name);
  });

  it('refuses a sibling with the same name (409 {name}) but accepts the name under another parent', async () => {
    const a = await mkStream(me, { id: sid('pa') });
    const b = await mkStream(me, { id: sid('pb') });
    const name = `Twin ${sid()}`;
    await mkStream(me, { id: sid('t1'), name, parentId: a.id });
    const clash = await me.post('/streams', { id: sid('t2'), name, parentId: a.id });
    expectError(clash, 409, 'item-already-exists', { name });
    const elsewhere = await me.post('/streams', { id: sid('t3'), name, parentId: b.id });
    expect(elsewhere.status).toBe(201);
    expect(elsewhere.body.stream).toMatchObject({ name, parentId: b.id });
    // Root level is a sibling set too.
    await mkStream(me, { name });
    expectError(await me.post('/streams', { name }), 409, 'item-already-exists', { name });
  });

  it('refuses an id already taken, even by a trashed stream: 409 {id}', async () => {
    const id = sid('taken');
    await mkStream(me, { id, name: `first ${id}` });
    expectError(await me.post('/streams', { id, name: `second ${id}` }), 409, 'item-already-exists', { id });
    expect((await me.del(`/streams/${id}`)).status).toBe(200); // trashed
    expectError(await me.post('/streams', { id, name: `third ${id}` }), 409, 'item-already-exists', { id });
  });

  it('unknown parent → 400 unknown-referenced-resource {parentId}', async () => {
    const parentId = sid('ghost');
    expectError(await me.post('/streams', { name: sid(), parentId }), 400, 'unknown-referenced-resource', { parentId });
  });

  it('trashed parent (or trashed ancestor) → 400 invalid-operation', async () => {
    const p = await mkStream(me, { id: sid('tp') });
    const c = await mkStream(me, { id: sid('tc'), parentId: p.id });
    expect((await me.del(`/streams/${p.id}`)).body.stream.trashed).toBe(true);
    expectError(await me.post('/streams', { name: sid(), parentId: p.id }), 400, 'invalid-operation');
    expectError(await me.post('/streams', { name: sid(), parentId: c.id }), 400, 'invalid-operation');
  });

  it('unknown or extra fields → 400 invalid-parameters-format; missing/empty name → 400', async () => {
    const id = sid('extra');
    expectError(await me.post('/streams', { id, name: 'x', color: 'red' }), 400, 'invalid-parameters-format');
    expectError(await me.post('/streams', { id }), 400, 'invalid-parameters-format');
    expectError(await me.post('/streams', { id, name: '' }), 400, 'invalid-parameters-format');
    expectError(await me.post('/streams', { id, name: 42 }), 400, 'invalid-parameters-format');
    expectError(await me.get(`/streams?parentId=${id}`), 400, 'unknown-referenced-resource', { parentId: id });
  });

  it('system stream ids or parents → 400 invalid-operation', async () => {
    const names: string[] = [];
    for (const id of [':_system:my-stream', ':system:my-stream']) {
      names.push(sid('sys'));
      expectError(await me.post('/streams', { id, name: names.at(-1) }), 400, 'invalid-operation');
    }
    names.push(sid('sys'));
    expectError(await me.post('/streams', { name: names.at(-1), parentId: ':_system:account' }), 400, 'invalid-operation');
    const all = JSON.stringify((await me.get('/streams?state=all')).body.streams);
    expect(all).not.toContain('my-stream');
    for (const name of names) expect(all).not.toContain(name);
  });

  it('accepts and ignores `children` in the body', async () => {
    const id = sid('kids');
    const res = await me.post('/streams', { id, name: id, children: [{ id: sid(), name: 'ignored' }] });
    expect(res.status).toBe(201);
    expect(res.body.stream).not.toHaveProperty('children');
    const tree = await me.get(`/streams?parentId=${id}`);
    expect(tree.body.streams).toEqual([]);
  });

  it('of two concurrent creations of siblings with the same name exactly one wins', async () => {
    const parent = await mkStream(me, { id: sid('race') });
    for (let round = 0; round < 3; round++) {
      const name = `Race ${round}`;
      const results = await Promise.all(
        [0, 1, 2, 3].map((i) => me.post('/streams', { id: `${parent.id}-${round}-${i}`, name, parentId: parent.id })),
      );
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([201, 409, 409, 409]);
      for (const r of results.filter((x) => x.status === 409)) {
        expect(r.body.error).toMatchObject({ id: 'item-already-exists', data: { name } });
      }
    }
    const tree = await me.get(`/streams?parentId=${parent.id}`);
    expect(tree.body.streams.map((s: { name: string }) => s.name)).toEqual(['Race 0', 'Race 1', 'Race 2']);
  });
});

describe('streams.get (spec §2.3)', () => {
  it('returns the tree, siblings sorted by name, each node with children', async () => {
    const u = await createUser();
    const api = as(u.username, u.token);
    await mkStream(api, { id: 'zeta', name: 'Zeta' });
    await mkStream(api, { id: 'alpha', name: 'Alpha' });
    await mkStream(api, { id: 'a-c', name: 'Charlie', parentId: 'alpha' });
    await mkStream(api, { id: 'a-b', name: 'Bravo', parentId: 'alpha' });
    await mkStream(api, { id: 'a-b-x', name: 'X-ray', parentId: 'a-b' });
    await mkStream(api, { id: 'mid', name: 'Mike' });
    const res = await api.get('/streams');
    expect(res.status).toBe(200);
    expect(shape(res.body.streams)).toEqual([
      [
        'alpha',
        [
          ['a-b', [['a-b-x', []]]],
          ['a-c', []],
        ],
      ],
      ['mid', []],
      ['zeta', []],
    ]);
    const alpha = ownStreams(res.body.streams)[0];
    expect(alpha).toMatchObject({ id: 'alpha', name: 'Alpha', parentId: null });
    expect(alpha.children[0]).toMatchObject({ id: 'a-b', name: 'Bravo', parentId: 'alpha' });
    expect(alpha.children[1].children).toEqual([]);
    expect(res.body).not.toHaveProperty('streamDeletions');

    const sub = await api.get('/streams?parentId=alpha');
    expect(sub.status).toBe(200);
    expect(shape(sub.body.streams)).toEqual([
      ['a-b', [['a-b-x', []]]],
      ['a-c', []],
    ]);
    expect(sub.body.streams[0].parentId).toBe('alpha');
  });

  it('state default hides trashed streams with their subtrees; state=all shows them with trashed: true', async () => {
    const u = await createUser();
    const api = as(u.username, u.token);
    await mkStream(api, { id: 'keep', name: 'Keep' });
    await mkStream(api, { id: 'bin', name: 'Bin' });
    await mkStream(api, { id: 'bin-child', name: 'Bin child', parentId: 'bin' });
    await mkStream(api, { id: 'keep-trashed', name: 'Keep trashed', parentId: 'keep' });
    expect((await api.del('/streams/bin')).status).toBe(200);
    expect((await api.del('/streams/keep-trashed')).status).toBe(200);

    const def = await api.get('/streams');
    expect(shape(def.body.streams)).toEqual([['keep', []]]);
    const explicitDefault = await api.get('/streams?state=default');
    expect(shape(explicitDefault.body.streams)).toEqual([['keep', []]]);

    const all = await api.get('/streams?state=all');
    expect(shape(all.body.streams)).toEqual([
      ['bin', [['bin-child', []]]],
      ['keep', [['keep-trashed', []]]],
    ]);
    expect(ownStreams(all.body.streams)[0].trashed).toBe(true);
    expect(ownStreams(all.body.streams)[0].children[0]).not.toHaveProperty('trashed'); // only its parent is trashed
    expect(ownStreams(all.body.streams)[1]).not.toHaveProperty('trashed');
    expect(ownStreams(all.body.streams)[1].children[0].trashed).toBe(true);

    expectError(await api.get('/streams?state=trashed'), 400, 'invalid-parameters-format');
  });

  it('unknown parentId → 400 unknown-referenced-resource {parentId}', async () => {
    expectError(await me.get('/streams?parentId=does-not-exist'), 400, 'unknown-referenced-resource', { parentId: 'does-not-exist' });
  });

  it('includeDeletionsSince lists {id, deleted} of streams deleted after that time', async () => {
    const u = await createUser();
    const api = as(u.username, u.token);
    await mkStream(api, { id: 'old', name: 'Old' });
    await mkStream(api, { id: 'old-kid', name: 'Old kid', parentId: 'old' });
    await mkStream(api, { id: 'stay', name: 'Stay' });
    const before = (await api.get('/streams')).body.meta.serverTime - 1;
    expect((await api.del('/streams/old')).status).toBe(200);
    const deletion = await api.del('/streams/old');
    expect(deletion.status).toBe(200);
    const res = await api.get(`/streams?includeDeletionsSince=${before}`);
    expect(res.status).toBe(200);
    expect(shape(res.body.streams)).toEqual([['stay', []]]);
    const deletions = [...res.body.streamDeletions].sort((a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id));
    expect(deletions).toEqual([
      { id: 'old', deleted: expect.any(Number) },
      { id: 'old-kid', deleted: expect.any(Number) },
    ]);
    expect(Math.abs(deletions[0].deleted - deletion.body.meta.serverTime)).toBeLessThan(5);
    const later = await api.get(`/streams?includeDeletionsSince=${deletion.body.meta.serverTime + 10}`);
    expect(later.body.streamDeletions).toEqual([]);
  });
});

describe('streams.update (spec §2.3)', () => {
  it('renames a stream; modified/modifiedBy change, created stays; result has no children', async () => {
    const s = await mkStream(me, { id: sid('ren'), name: sid('before') });
    await mkStream(me, { id: sid('ren-kid'), parentId: s.id });
    const name = sid('after');
    const res = await me.put(`/streams/${s.id}`, { name });
    expect(res.status).toBe(200);
    expect(res.body.stream).toMatchObject({
      id: s.id,
      name,
      parentId: null,
      created: s.created,
      createdBy: s.createdBy,
      modifiedBy: personalAccessId,
    });
    expect(res.body.stream.modified).toBeGreaterThanOrEqual(s.modified);
    expect(res.body.stream).not.toHaveProperty('children');
    // The old name is free again among the roots, the new one is taken.
    expect((await me.post('/streams', { name: s.name })).status).toBe(201);
    expectError(await me.post('/streams', { name }), 409, 'item-already-exists', { name });
  });

  it('moves a stream (parentId), to another parent and back to the root', async () => {
    const a = await mkStream(me, { id: sid('mva') });
    const b = await mkStream(me, { id: sid('mvb') });
    const s = await mkStream(me, { id: sid('mvs'), parentId: a.id });
    await mkStream(me, { id: `${s.id}-kid`, parentId: s.id });
    const moved = await me.put(`/streams/${s.id}`, { parentId: b.id });
    expect(moved.status).toBe(200);
    expect(moved.body.stream).toMatchObject({ id: s.id, parentId: b.id });
    expect(shape((await me.get(`/streams?parentId=${a.id}`)).body.streams)).toEqual([]);
    expect(shape((await me.get(`/streams?parentId=${b.id}`)).body.streams)).toEqual([[s.id, [[`${s.id}-kid`, []]]]]);
    const toRoot = await me.put(`/streams/${s.id}`, { parentId: null });
    expect(toRoot.status).toBe(200);
    expect(toRoot.body.stream.parentId).toBeNull();
    expect(shape((await me.get(`/streams?parentId=${b.id}`)).body.streams)).toEqual([]);
  });

  it('refuses moving a stream into itself or its own descendant (400 invalid-operation), changing nothing', async () => {
    const top = await mkStream(me, { id: sid('cyc') });
    const mid = await mkStream(me, { id: `${top.id}-mid`, parentId: top.id });
    const low = await mkStream(me, { id: `${top.id}-low`, parentId: mid.id });
    expectError(await me.put(`/streams/${top.id}`, { parentId: low.id }), 400, 'invalid-operation');
    expectError(await me.put(`/streams/${top.id}`, { parentId: mid.id }), 400, 'invalid-operation');
    expectError(await me.put(`/streams/${mid.id}`, { parentId: mid.id }), 400, 'invalid-operation');
    const tree = await me.get(`/streams?parentId=${top.id}`);
    expect(shape(tree.body.streams)).toEqual([[mid.id, [[low.id, []]]]]);
  });

  it('two concurrent moves that together would make a cycle: one of them is refused', async () => {
    for (let round = 0; round < 3; round++) {
      const a = await mkStream(me, { id: sid('cya') });
      const b = await mkStream(me, { id: sid('cyb') });
      const [ab, ba] = await Promise.all([me.put(`/streams/${a.id}`, { parentId: b.id }), me.put(`/streams/${b.id}`, { parentId: a.id })]);
      expect([ab.status, ba.status].sort()).toEqual([200, 400]);
      expect([ab, ba].find((r) => r.status === 400)!.body.error.id).toBe('invalid-operation');
      const top = ab.status === 200 ? b : a;
      const below = ab.status === 200 ? a : b;
      const tree = await me.get('/streams');
      expect(findIn(tree.body.streams, top.id)).toMatchObject({
        parentId: null,
        children: [expect.objectContaining({ id: below.id, parentId: top.id })],
      });
    }
  });

  it('moving next to a sibling with the same name → 409 {name}; unknown target parent → 400; trashed → 400', async () => {
    const a = await mkStream(me, { id: sid('cla') });
    const b = await mkStream(me, { id: sid('clb') });
    const name = sid('Same');
    const s = await mkStream(me, { id: sid('cls'), name, parentId: a.id });
    await mkStream(me, { id: sid('clo'), name, parentId: b.id });
    expectError(await me.put(`/streams/${s.id}`, { parentId: b.id }), 409, 'item-already-exists', { name });
    // Renaming into a clash among its current siblings too.
    const sib = await mkStream(me, { id: sid('clsib'), parentId: a.id });
    expectError(await me.put(`/streams/${sib.id}`, { name }), 409, 'item-already-exists', { name });
    const ghost = sid('ghost');
    expectError(await me.put(`/streams/${s.id}`, { parentId: ghost }), 400, 'unknown-referenced-resource', { parentId: ghost });
    const bin = await mkStream(me, { id: sid('clbin') });
    await me.del(`/streams/${bin.id}`);
    expectError(await me.put(`/streams/${s.id}`, { parentId: bin.id }), 400, 'invalid-operation');
    const still = await me.get(`/streams?parentId=${a.id}`);
    expect(findIn(still.body.streams, s.id)).toMatchObject({ parentId: a.id, name });
    expect(findIn(still.body.streams, sib.id).name).toBe(sib.name);
  });

  it('merges clientData key-wise; null deletes a key', async () => {
    const s = await mkStream(me, { id: sid('cd'), clientData: { a: 1, b: { deep: true }, c: 'x' } });
    const res = await me.put(`/streams/${s.id}`, { clientData: { b: null, c: 'y', d: [1, 2] } });
    expect(res.status).toBe(200);
    expect(res.body.stream.clientData).toEqual({ a: 1, c: 'y', d: [1, 2] });
    const onlyName = await me.put(`/streams/${s.id}`, { name: sid('cd-renamed') });
    expect(onlyName.body.stream.clientData).toEqual({ a: 1, c: 'y', d: [1, 2] });
    const tree = await me.get('/streams');
    expect(findIn(tree.body.streams, s.id).clientData).toEqual({ a: 1, c: 'y', d: [1, 2] });
  });

  it('10 concurrent updates of distinct clientData keys: none is lost', async () => {
    const s = await mkStream(me, { id: sid('cdrace'), clientData: { base: true } });
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    const results = await Promise.all(keys.map((k, i) => me.put(`/streams/${s.id}`, { clientData: { [k]: i } })));
    expect(results.map((r) => (r.status === 200 ? 200 : JSON.stringify(r.body.error)))).toEqual(keys.map(() => 200));
    const tree = await me.get('/streams');
    expect(findIn(tree.body.streams, s.id).clientData).toEqual({ base: true, ...Object.fromEntries(keys.map((k, i) => [k, i])) });
  });

  it('protected fields (id, created, createdBy, modified, children) → 403 forbidden; unknown fields → 400', async () => {
    const s = await mkStream(me, { id: sid('prot') });
    for (const update of [{ id: 'other' }, { created: 1 }, { createdBy: 'me' }, { modified: 2 }, { modifiedBy: 'x' }, { children: [] }]) {
      expectError(await me.put(`/streams/${s.id}`, { name: 'renamed?', ...update }), 403, 'forbidden');
    }
    expectError(await me.put(`/streams/${s.id}`, { color: 'blue' }), 400, 'invalid-parameters-format');
    expectError(await me.put(`/streams/${s.id}`, { name: '' }), 400, 'invalid-parameters-format');
    expect(findIn((await me.get('/streams')).body.streams, s.id).name).toBe(s.name);
  });

  it('unknown stream → 404 unknown-resource', async () => {
    expectError(await me.put(`/streams/${sid('nope')}`, { name: 'x' }), 404, 'unknown-resource');
  });

  it('after a move, events follow the stream: the new parent returns them, the old parent no longer does', async () => {
    const oldParent = await mkStream(me, { id: sid('old-p') });
    const newParent = await mkStream(me, { id: sid('new-p') });
    const s = await mkStream(me, { id: sid('mover'), parentId: oldParent.id });
    const kid = await mkStream(me, { id: `${s.id}-kid`, parentId: s.id });
    const e1 = await mkEvent(me, [s.id]);
    const e2 = await mkEvent(me, [kid.id]);
    const e3 = await mkEvent(me, [kid.id], { trashed: true });
    expect(await eventIdsIn(me, oldParent.id)).toEqual([e1.id, e2.id].sort());
    expect(await eventIdsIn(me, newParent.id)).toEqual([]);

    expect((await me.put(`/streams/${s.id}`, { parentId: newParent.id })).status).toBe(200);
    expect(await eventIdsIn(me, newParent.id)).toEqual([e1.id, e2.id].sort());
    expect(await eventIdsIn(me, oldParent.id)).toEqual([]);
    expect(await eventIdsIn(me, newParent.id, 'trashed')).toEqual([e3.id]);
    expect(await eventIdsIn(me, oldParent.id, 'all')).toEqual([]);
    // The moved stream itself and its child still answer for their own events.
    expect(await eventIdsIn(me, s.id)).toEqual([e1.id, e2.id].sort());
    expect(await eventIdsIn(me, kid.id)).toEqual([e2.id]);
    // Events keep their streamIds and version.
    const one = await me.get(`/events/${e2.id}`);
    expect(one.body.event).toMatchObject({ streamIds: [kid.id], modified: e2.modified });
  });
});

describe('streams.delete (spec §2.3)', () => {
  it('first call trashes ({stream} with trashed: true), second deletes ({streamDeletion:{id}}); the id is then reusable', async () => {
    const id = sid('del');
    await mkStream(me, { id, name: `n ${id}` });
    const first = await me.del(`/streams/${id}`);
    expect(first.status).toBe(200);
    expect(first.body.stream).toMatchObject({ id, trashed: true, parentId: null });
    expect(first.body.stream).not.toHaveProperty('children');
    const second = await me.del(`/streams/${id}`);
    expect(second.status).toBe(200);
    expect(second.body.streamDeletion).toEqual({ id });
    expect(second.body.updatedEvents).toEqual([]);
    expect(findIn((await me.get('/streams?state=all')).body.streams, id)).toBeUndefined();
    expectError(await me.del(`/streams/${id}`), 404, 'unknown-resource');
    expectError(await me.put(`/streams/${id}`, { name: 'x' }), 404, 'unknown-resource');
    // Both the id and the name are free again.
    const again = await me.post('/streams', { id, name: `n ${id}` });
    expect(again.status).toBe(201);
    expect(again.body.stream).toMatchObject({ id, name: `n ${id}` });
    expect(again.body.stream).not.toHaveProperty('trashed');
  });

  it('untrashing through streams.update (trashed: false) brings the stream back', async () => {
    const id = sid('untrash');
    await mkStream(me, { id });
    await me.del(`/streams/${id}`);
    const res = await me.put(`/streams/${id}`, { trashed: false });
    expect(res.status).toBe(200);
    expect(res.body.stream).not.toHaveProperty('trashed');
    expect(findIn((await me.get('/streams')).body.streams, id)).toBeDefined();
  });

  it('with events and no mergeEventsWithParent: 400 invalid-parameters-format and nothing deleted', async () => {
    const p = await mkStream(me, { id: sid('mp') });
    const s = await mkStream(me, { id: sid('ms'), parentId: p.id });
    const kid = await mkStream(me, { id: `${s.id}-kid`, parentId: s.id });
    const e = await mkEvent(me, [kid.id]);
    await me.del(`/streams/${s.id}`);
    expectError(await me.del(`/streams/${s.id}`), 400, 'invalid-parameters-format');
    const all = await me.get(`/streams?parentId=${p.id}&state=all`);
    expect(shape(all.body.streams)).toEqual([[s.id, [[kid.id, []]]]]);
    const one = await me.get(`/events/${e.id}`);
    expect(one.status).toBe(200);
    expect(one.body.event.streamIds).toEqual([kid.id]);
  });

  it('mergeEventsWithParent=true moves the subtree events to the parent (mergedToParent)', async () => {
    const p = await mkStream(me, { id: sid('mg-p') });
    const other = await mkStream(me, { id: sid('mg-o') });
    const s = await mkStream(me, { id: sid('mg-s'), parentId: p.id });
    const kid = await mkStream(me, { id: `${s.id}-kid`, parentId: s.id });
    const e1 = await mkEvent(me, [s.id]);
    const e2 = await mkEvent(me, [kid.id, other.id]);
    const e3 = await mkEvent(me, [kid.id, p.id]);
    const before = (await me.get('/streams')).body.meta.serverTime - 1;
    await me.del(`/streams/${s.id}`);
    const res = await me.del(`/streams/${s.id}?mergeEventsWithParent=true`);
    expect(res.status).toBe(200);
    expect(res.body.streamDeletion).toEqual({ id: s.id });
    const actions = [...res.body.updatedEvents].sort((a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id));
    expect(actions).toEqual([e1, e2, e3].map((e) => ({ id: e.id, action: 'mergedToParent' })).sort((a, b) => a.id.localeCompare(b.id)));

    const inParent = await me.get(`/events?streams=${streamsParam([p.id])}`);
    const byId = new Map(inParent.body.events.map((e: { id: string }) => [e.id, e]));
    expect([...byId.keys()].sort()).toEqual([e1.id, e2.id, e3.id].sort());
    expect((byId.get(e1.id) as any).streamIds).toEqual([p.id]);
    expect([...(byId.get(e2.id) as any).streamIds].sort()).toEqual([other.id, p.id].sort());
    expect((byId.get(e3.id) as any).streamIds).toEqual([p.id]);
    expect(await eventIdsIn(me, other.id)).toEqual([e2.id]);

    const tree = await me.get(`/streams?includeDeletionsSince=${before}`);
    expect(findIn(tree.body.streams, s.id)).toBeUndefined();
    // (other tests of this user may have deleted streams in the same second)
    const deletedHere = tree.body.streamDeletions.filter((d: { id: string }) => d.id.startsWith(s.id));
    expect(deletedHere.map((d: { id: string }) => d.id).sort()).toEqual([kid.id, s.id].sort());
  });

  it('mergeEventsWithParent=false deletes events only in the deleted streams; the others lose the deleted ids', async () => {
    const p = await mkStream(me, { id: sid('nm-p') });
    const other = await mkStream(me, { id: sid('nm-o') });
    const s = await mkStream(me, { id: sid('nm-s'), parentId: p.id });
    const kid = await mkStream(me, { id: `${s.id}-kid`, parentId: s.id });
    const only = await mkEvent(me, [s.id]);
    const onlyKid = await mkEvent(me, [kid.id, s.id]);
    const trashedOnly = await mkEvent(me, [kid.id], { trashed: true });
    const both = await mkEvent(me, [kid.id, other.id]);
    await me.del(`/streams/${s.id}`);
    const res = await me.del(`/streams/${s.id}?mergeEventsWithParent=false`);
    expect(res.status).toBe(200);
    expect(res.body.streamDeletion).toEqual({ id: s.id });
    const actions = Object.fromEntries(res.body.updatedEvents.map((u: { id: string; action: string }) => [u.id, u.action]));
    expect(actions).toEqual({
      [only.id]: 'deleted',
      [onlyKid.id]: 'deleted',
      [trashedOnly.id]: 'deleted',
      [both.id]: 'updatedStreamIds',
    });
    for (const e of [only, onlyKid, trashedOnly]) {
      const gone = await me.get(`/events/${e.id}`);
      expect(gone.status).toBe(200);
      expect(gone.body.event).toEqual({ id: e.id, deleted: expect.any(Number) });
    }
    const kept = await me.get(`/events/${both.id}`);
    expect(kept.body.event.streamIds).toEqual([other.id]);
    expect(await eventIdsIn(me, p.id, 'all')).toEqual([]);
    expect(findIn((await me.get('/streams?state=all')).body.streams, kid.id)).toBeUndefined();
    // A new stream with a deleted id starts empty.
    await mkStream(me, { id: kid.id, name: 'reborn' });
    expect(await eventIdsIn(me, kid.id, 'all')).toEqual([]);
  });

  it('mergeEventsWithParent=true on a root stream with events → 400 invalid-operation, nothing deleted', async () => {
    const root = await mkStream(me, { id: sid('rootm') });
    const e = await mkEvent(me, [root.id]);
    await me.del(`/streams/${root.id}`);
    expectError(await me.del(`/streams/${root.id}?mergeEventsWithParent=true`), 400, 'invalid-operation');
    expect(findIn((await me.get('/streams?state=all')).body.streams, root.id)).toMatchObject({ trashed: true });
    expect((await me.get(`/events/${e.id}`)).body.event.streamIds).toEqual([root.id]);
    // The same root deleted without merge works.
    const ok = await me.del(`/streams/${root.id}?mergeEventsWithParent=false`);
    expect(ok.status).toBe(200);
    expect(ok.body.updatedEvents).toEqual([{ id: e.id, action: 'deleted' }]);
  });

  it('deleting a stream whose parent is trashed, merging into that parent, keeps its events', async () => {
    const p = await mkStream(me, { id: sid('tpm') });
    const s = await mkStream(me, { id: `${p.id}-kid`, parentId: p.id });
    const e = await mkEvent(me, [s.id]);
    await me.del(`/streams/${p.id}`); // parent trashed, the child only through it
    await me.del(`/streams/${s.id}`); // the child trashed itself
    const res = await me.del(`/streams/${s.id}?mergeEventsWithParent=true`);
    expect(res.status).toBe(200);
    expect(res.body.updatedEvents).toEqual([{ id: e.id, action: 'mergedToParent' }]);
    const one = await me.get(`/events/${e.id}`);
    expect(one.body.event.streamIds).toEqual([p.id]);
  });

  it('unknown stream → 404 unknown-resource', async () => {
    expectError(await me.del(`/streams/${sid('nope')}`), 404, 'unknown-resource');
  });
});

describe('streams permissions (spec §4)', () => {
  let owner: TestUser;
  let api: Client;
  beforeAll(async () => {
    owner = await createUser();
    api = as(owner.username, owner.token);
    await mkStream(api, { id: 'work', name: 'Work' });
    await mkStream(api, { id: 'work-a', name: 'A', parentId: 'work' });
    await mkStream(api, { id: 'home', name: 'Home' });
  });
  const withAccess = async (permissions: Permission[], type: 'shared' | 'app' = 'shared') => {
    const access = await insertAccess(owner.username, type, { permissions });
    return { access, api: as(owner.username, access.token) };
  };

  it('read: lists its streams only, cannot create, update or delete streams', async () => {
    const { api: reader } = await withAccess([{ streamId: 'work', level: 'read' }]);
    const res = await reader.get('/streams');
    expect(res.status).toBe(200);
    expect(res.body.streams.map((x: { id: string }) => x.id)).toEqual(['work']);
    expect(findIn(res.body.streams, 'work-a')).toMatchObject({ parentId: 'work' });
    expect(findIn(res.body.streams, 'home')).toBeUndefined();
    expectError(await reader.post('/streams', { name: sid(), parentId: 'work' }), 403, 'forbidden');
    expectError(await reader.post('/streams', { name: sid() }), 403, 'forbidden');
    expectError(await reader.put('/streams/work-a', { name: 'renamed' }), 403, 'forbidden');
    expectError(await reader.del('/streams/work-a'), 403, 'forbidden');
    expectError(await reader.get('/streams?parentId=home'), 403, 'forbidden');
    expect(findIn((await api.get('/streams')).body.streams, 'work-a')).toMatchObject({ name: 'A' });
  });

  it('a stream whose parent is not listable is a root of the answer with parentId null', async () => {
    const { api: reader } = await withAccess([{ streamId: 'work-a', level: 'read' }]);
    const res = await reader.get('/streams');
    expect(res.body.streams).toEqual([expect.objectContaining({ id: 'work-a', parentId: null, children: [] })]);
  });

  it('contribute cannot create, update or delete streams', async () => {
    const { api: contributor } = await withAccess([{ streamId: '*', level: 'contribute' }]);
    expectError(await contributor.post('/streams', { name: sid(), parentId: 'work' }), 403, 'forbidden');
    expectError(await contributor.post('/streams', { name: sid() }), 403, 'forbidden');
    expectError(await contributor.put('/streams/work-a', { name: 'renamed' }), 403, 'forbidden');
    expectError(await contributor.del('/streams/work-a'), 403, 'forbidden');
  });

  it('manage on a stream: create/rename/delete children and itself, but no root streams; createdBy = its id', async () => {
    const { access, api: manager } = await withAccess([{ streamId: 'work', level: 'manage' }]);
    const id = sid('mgd');
    const created = await manager.post('/streams', { id, name: id, parentId: 'work' });
    expect(created.status).toBe(201);
    expect(created.body.stream).toMatchObject({ parentId: 'work', createdBy: access.id, modifiedBy: access.id });
    expectError(await manager.post('/streams', { name: sid() }), 403, 'forbidden');
    expectError(await manager.post('/streams', { name: sid(), parentId: 'home' }), 403, 'forbidden');
    // Renaming needs manage on the stream only (no `*` check when the parent does not change).
    const renamed = await manager.put(`/streams/${id}`, { name: `${id} renamed` });
    expect(renamed.status).toBe(200);
    expect(renamed.body.stream.modifiedBy).toBe(access.id);
    // Moving out of its reach (to root or a stream it does not manage) is forbidden.
    expectError(await manager.put(`/streams/${id}`, { parentId: null }), 403, 'forbidden');
    expectError(await manager.put(`/streams/${id}`, { parentId: 'home' }), 403, 'forbidden');
    expect((await manager.put(`/streams/${id}`, { parentId: 'work-a' })).status).toBe(200);
    expect((await manager.del(`/streams/${id}`)).body.stream.trashed).toBe(true);
    expect((await manager.del(`/streams/${id}`)).body.streamDeletion).toEqual({ id });
  });

  it('stream writes right after other stream writes (no current tree held) still see permissions, trash and cycles through every ancestor', async () => {
    // Each write changes the tree version, so the next write checks the streams' ancestry
    // without a cached tree: these rules must hold four levels down.
    const top = sid('top');
    const ids = [top, sid('l1'), sid('l2'), sid('l3')];
    for (const [i, id] of ids.entries()) await mkStream(api, { id, name: id, parentId: i === 0 ? null : ids[i - 1] });
    const { api: manager } = await withAccess([{ streamId: top, level: 'manage' }]);
    const deep = await manager.post('/streams', { name: sid(), parentId: ids[3] });
    expect(deep.status).toBe(201);
    expect((await manager.put(`/streams/${deep.body.stream.id}`, { parentId: ids[1] })).status).toBe(200);
    expectError(await manager.post('/streams', { name: sid(), parentId: 'home' }), 403, 'forbidden');
    // Moving the top under its own great-grandchild: a cycle.
    expectError(await api.put(`/streams/${top}`, { parentId: ids[3] }), 400, 'invalid-operation');
    // Trashing the top trashes everything below it for new children.
    expect((await api.del(`/streams/${top}`)).body.stream.trashed).toBe(true);
    const res = await manager.post('/streams', { name: sid(), parentId: ids[3] });
    expectError(res, 400, 'invalid-operation');
    expect(res.body.error.data).toEqual({ trashedReference: 'parentId' });
    expectError(await api.post('/streams', { name: sid(), parentId: 'no-such-stream' }), 400, 'unknown-referenced-resource');
  });

  it('a lower explicit permission on a child overrides manage on its parent', async () => {
    const { api: manager } = await withAccess([
      { streamId: 'work', level: 'manage' },
      { streamId: 'work-a', level: 'read' },
    ]);
    expectError(await manager.post('/streams', { name: sid(), parentId: 'work-a' }), 403, 'forbidden');
    expectError(await manager.put('/streams/work-a', { name: 'nope' }), 403, 'forbidden');
    const ok = await manager.post('/streams', { name: sid(), parentId: 'work' });
    expect(ok.status).toBe(201);
  });

  it('manage on `*` (app access) may create root streams', async () => {
    const { api: app } = await withAccess([{ streamId: '*', level: 'manage' }], 'app');
    const res = await app.post('/streams', { name: sid('app-root') });
    expect(res.status).toBe(201);
    expect(res.body.stream.parentId).toBeNull();
  });
});
