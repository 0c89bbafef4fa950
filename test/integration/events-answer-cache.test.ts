import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { beforeRewritingEvents } from '../../shared/domain/events/answer-cache';
import { type EventsGetParams, getEvents } from '../../shared/domain/events/get';
import { placementFor } from '../../shared/domain/events/write-checks';
import { loadUserData } from '../../shared/domain/user-data';
import type { PryvError } from '../../shared/errors';
import { newId } from '../../shared/ids';
import type { StoredEvent } from '../../shared/model/events';
import { getAccessByToken } from '../../shared/store/accesses';
import { batchPut } from '../../shared/store/batch';
import { newEventItems } from '../../shared/store/events/items';
import { readDataMeta } from '../../shared/store/streams';
import { call, createUser, type TestUser, useRuntimeStore } from '../setup/api';

/**
 * `events.get` answers kept by the runtime's containers (shared/domain/events/answer-cache.ts)
 * must be what a read of the table answers at that moment, whatever changed in between. Every
 * read here goes through the runtime (where repeated reads are answered from kept answers once
 * checked against the change index) and is compared with the same read made in this process
 * by `getEvents` straight on the table, with the same access: the test fails when the runtime
 * answers from memory what a change has made stale.
 */

const DAY = 24 * 3600;
let now: number;

beforeAll(() => {
  useRuntimeStore();
  now = Math.floor(Date.now() / 1000);
});

interface Account {
  user: TestUser;
  restricted: string;
  restrictedId: string;
  other: TestUser;
  events: string[];
  streams: string[];
}

const STREAMS = ['A', 'A1', 'A2', 'B', 'C'];

async function ok(res: Promise<{ status: number; body: any }>, status = [200, 201]): Promise<any> {
  const r = await res;
  expect(status, JSON.stringify(r.body)).toContain(r.status);
  return r.body;
}

async function newAccount(): Promise<Account> {
  const [user, other] = await Promise.all([createUser(), createUser()]);
  const t = user.token;
  await ok(call('POST', `/${user.username}/streams`, { token: t, body: { id: 'A', name: 'A' } }));
  await ok(call('POST', `/${user.username}/streams`, { token: t, body: { id: 'A1', name: 'A1', parentId: 'A' } }));
  await ok(call('POST', `/${user.username}/streams`, { token: t, body: { id: 'A2', name: 'A2', parentId: 'A' } }));
  await ok(call('POST', `/${user.username}/streams`, { token: t, body: { id: 'B', name: 'B' } }));
  await ok(call('POST', `/${user.username}/streams`, { token: t, body: { id: 'C', name: 'C' } }));
  await ok(call('POST', `/${other.username}/streams`, { token: other.token, body: { id: 'A', name: 'A' } }));
  const access = await ok(
    call('POST', `/${user.username}/accesses`, {
      token: t,
      body: {
        name: 'restricted',
        permissions: [
          { streamId: 'A1', level: 'contribute' },
          { streamId: 'B', level: 'read' },
        ],
      },
    }),
  );
  return { user, other, restricted: access.access.token, restrictedId: access.access.id, events: [], streams: [...STREAMS] };
}

/** The reads compared: each as a query string and as the parameters the API gives the method. */
const READS: Array<{ query: string; params: EventsGetParams }> = [
  { query: 'limit=4', params: { limit: 4 } },
  { query: 'streams[]=A&limit=3', params: { streams: ['A'], limit: 3 } },
  { query: `fromTime=${0}&toTime=${0}&limit=5`, params: { limit: 5 } },
  { query: `fromTime=${0}&toTime=${0}&skip=2&limit=3&sortAscending=true`, params: { skip: 2, limit: 3, sortAscending: true } },
  { query: 'state=all&limit=6', params: { state: 'all', limit: 6 } },
  { query: 'running=true', params: { running: true } },
  { query: 'modifiedSince=0&includeDeletions=true', params: { includeDeletions: true } },
];

/** The read's query and parameters with this run's times (known once `now` is). */
function read(i: number): { query: string; params: EventsGetParams } {
  const r = READS[i]!;
  const from = now - 10 * DAY;
  const to = now + DAY;
  const since = now - 60;
  if (r.query.startsWith('fromTime')) {
    return {
      query: r.query.replace(/fromTime=0&toTime=0/, `fromTime=${from}&toTime=${to}`),
      params: { ...r.params, fromTime: from, toTime: to },
    };
  }
  if (r.query.startsWith('modifiedSince'))
    return { query: r.query.replace('modifiedSince=0', `modifiedSince=${since}`), params: { ...r.params, modifiedSince: since } };
  return r;
}

const summary = (body: { events?: Array<Record<string, unknown>>; eventDeletions?: Array<{ id: string }> }) => ({
  events: (body.events ?? []).map((e) => `${e.id}@${e.modified}${e.trashed ? ':t' : ''}:${(e.streamIds as string[]).join(',')}:${e.time}`),
  deletions: (body.eventDeletions ?? []).map((d) => d.id),
});

/** The runtime's answer to read `i` with `token`, and the same read on the table, now (an error as its id). */
async function compare(account: Account, token: string, i: number): Promise<void> {
  const { query, params } = read(i);
  const res = await call('GET', `/${account.user.username}/events?${query}`, { token });
  const access = (await getAccessByToken(account.user.username, token))!;
  const data = await loadUserData({ username: account.user.username, access });
  let expected: unknown;
  try {
    const direct = await getEvents(account.user.username, params, data, Date.now() / 1000);
    expected = summary({ events: direct.events as unknown as Array<Record<string, unknown>>, eventDeletions: direct.eventDeletions });
  } catch (err) {
    expected = (err as PryvError).id;
  }
  // Account events (personal reads) carry computed values: ids, versions and places are compared.
  const got = res.status === 200 ? summary(res.body) : res.body.error.id;
  expect(got, `${token === account.user.token ? 'personal' : 'restricted'} ${query}`).toEqual(expected);
}

type Op =
  | { kind: 'create'; stream: number; at: number; duration: number | null | undefined; restricted: boolean }
  | { kind: 'update'; event: number; at?: number; stream?: number; content?: string }
  | { kind: 'delete'; event: number }
  | { kind: 'stream'; parent: number }
  | { kind: 'other' }
  | { kind: 'permissions'; stream: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('create' as const),
      stream: fc.nat(4),
      at: fc.integer({ min: -20 * 24, max: 2 * 24 }),
      duration: fc.oneof(fc.constant(undefined), fc.constant(null), fc.integer({ min: 1, max: 20 * DAY })),
      restricted: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record(
      {
        kind: fc.constant('update' as const),
        event: fc.nat(),
        at: fc.integer({ min: -20 * 24, max: 2 * 24 }),
        stream: fc.nat(4),
        content: fc.string({ maxLength: 5 }),
      },
      { requiredKeys: ['kind', 'event'] },
    ),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), event: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('stream' as const), parent: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'other' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('permissions' as const), stream: fc.nat(4) }) },
);

async function apply(a: Account, op: Op): Promise<void> {
  const u = a.user.username;
  const t = a.user.token;
  switch (op.kind) {
    case 'create': {
      const streamId = op.restricted ? 'A1' : a.streams[op.stream % a.streams.length]!;
      const body: Record<string, unknown> = { streamIds: [streamId], type: 'note/txt', content: 'x', time: now + op.at * 3600 };
      if (op.duration !== undefined) body.duration = op.duration;
      const res = await call('POST', `/${u}/events`, { token: op.restricted ? a.restricted : t, body });
      if (res.status === 201) a.events.push(res.body.event.id);
      return;
    }
    case 'update': {
      if (a.events.length === 0) return;
      const id = a.events[op.event % a.events.length]!;
      const body: Record<string, unknown> = {};
      if (op.at !== undefined) body.time = now + op.at * 3600;
      if (op.stream !== undefined) body.streamIds = [a.streams[op.stream % a.streams.length]];
      if (op.content !== undefined) body.content = op.content;
      await call('PUT', `/${u}/events/${id}`, { token: t, body });
      return;
    }
    case 'delete': {
      // Trashes first, deletes for good the second time.
      if (a.events.length === 0) return;
      await call('DELETE', `/${u}/events/${a.events[op.event % a.events.length]}`, { token: t });
      return;
    }
    case 'stream': {
      const id = `s${a.streams.length}`;
      const res = await call('POST', `/${u}/streams`, {
        token: t,
        body: { id, name: id, parentId: a.streams[op.parent % a.streams.length] },
      });
      if (res.status === 201) a.streams.push(id);
      return;
    }
    case 'other': {
      // Another user's event: nothing of this account's answers may change.
      await ok(
        call('POST', `/${a.other.username}/events`, { token: a.other.token, body: { streamIds: ['A'], type: 'note/txt', content: 'y' } }),
      );
      return;
    }
    case 'permissions': {
      const streamId = a.streams[op.stream % a.streams.length]!;
      const updated = await ok(
        call('PUT', `/${u}/accesses/${a.restrictedId}`, {
          token: t,
          body: {
            permissions: [
              { streamId: 'A1', level: 'contribute' },
              { streamId, level: 'read' },
            ],
          },
        }),
      );
      // An update makes a new version of the access, with an id of its own.
      a.restrictedId = updated.access.id;
    }
  }
}

describe('events.get answers kept by the runtime', () => {
  it('after any sequence of writes, a repeated read answers what a read of the table answers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ op: opArb, reads: fc.array(fc.tuple(fc.nat(READS.length - 1), fc.boolean()), { minLength: 2, maxLength: 5 }) }),
          {
            minLength: 3,
            maxLength: 12,
          },
        ),
        async (steps) => {
          const a = await newAccount();
          // Every read once first: each is then kept, and every later one is checked against its changes.
          for (let i = 0; i < READS.length; i++) {
            await compare(a, a.user.token, i);
            await compare(a, a.restricted, i);
          }
          for (const { op, reads } of steps) {
            await apply(a, op);
            for (const [i, restricted] of reads) await compare(a, restricted ? a.restricted : a.user.token, i);
          }
        },
      ),
      { numRuns: 10 },
    );
  }, 600_000);

  it('each kind of change to an event a kept answer holds is seen: content, time, streams, trash, deletion', async () => {
    const a = await newAccount();
    for (const stream of [0, 1, 3]) await apply(a, { kind: 'create', stream, at: -2 - stream, duration: undefined, restricted: false });
    const readAll = async () => {
      for (let i = 0; i < READS.length; i++) {
        await compare(a, a.user.token, i);
        await compare(a, a.restricted, i);
      }
    };
    await readAll();
    await readAll();
    const steps: Op[] = [
      { kind: 'update', event: 2, content: 'changed' },
      { kind: 'update', event: 1, at: -30 * 24 },
      { kind: 'update', event: 0, stream: 3 },
      { kind: 'delete', event: 2 },
      { kind: 'delete', event: 2 },
    ];
    for (const step of steps) {
      await apply(a, step);
      await readAll();
    }
  }, 180_000);

  it("another access's writes reach the reads that can see them; another user's writes reach none", async () => {
    const a = await newAccount();
    await apply(a, { kind: 'create', stream: 1, at: -2, duration: undefined, restricted: false });
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < READS.length; i++) {
        await compare(a, a.restricted, i);
        await compare(a, a.user.token, i);
      }
      // The restricted access writes in A1 (the personal reads see it), the other user in its own A.
      await apply(a, { kind: 'create', stream: 0, at: -1, duration: undefined, restricted: true });
      await apply(a, { kind: 'other' });
    }
  }, 120_000);

  it('a stream move marks the account before its events are re-indexed, and reads after it see the new places', async () => {
    const a = await newAccount();
    await apply(a, { kind: 'create', stream: 1, at: -2, duration: undefined, restricted: false });
    await apply(a, { kind: 'create', stream: 2, at: -3, duration: undefined, restricted: false });
    for (let i = 0; i < 3; i++) await compare(a, a.user.token, i);
    const before = Date.now() / 1000;
    await ok(call('PUT', `/${a.user.username}/streams/A1`, { token: a.user.token, body: { parentId: 'B' } }));
    const meta = await readDataMeta(a.user.username);
    // Past the longest the moving call can run: no answer read before then is kept.
    expect(meta.rewritesUntil).toBeGreaterThan(before + 29);
    for (let i = 0; i < 3; i++) {
      await compare(a, a.user.token, i);
      await compare(a, a.restricted, i);
    }
  }, 120_000);

  /**
   * Event items written with an old `modified`, as an import writes them (or the re-indexing
   * after a stream move rewrites copies): put straight into the table here, after the data
   * meta mark such writers raise first.
   */
  async function writeAsImport(a: Account, mark: boolean): Promise<string> {
    const u = a.user.username;
    if (mark) await beforeRewritingEvents(u, Date.now() / 1000, 60);
    const { tree } = await loadUserData({ username: u, access: (await getAccessByToken(u, a.user.token))! });
    const old = now - 400 * DAY;
    const event = {
      id: newId(),
      streamIds: ['B'],
      type: 'note/txt',
      content: 'imported',
      time: now - 3600,
      created: old,
      createdBy: 'import',
      modified: old,
      modifiedBy: 'import',
    } as StoredEvent;
    await batchPut(newEventItems(u, event, placementFor(tree, event.streamIds)));
    return event.id;
  }

  it('an answer read before such a mark is not used after it', async () => {
    const a = await newAccount();
    await apply(a, { kind: 'create', stream: 3, at: -2, duration: undefined, restricted: false });
    for (let round = 0; round < 2; round++) for (let i = 0; i < 3; i++) await compare(a, a.restricted, i);
    const id = await writeAsImport(a, true);
    for (let i = 0; i < 3; i++) await compare(a, a.restricted, i);
    const res = await call('GET', `/${a.user.username}/events?limit=4`, { token: a.restricted });
    expect(res.body.events.map((e: { id: string }) => e.id)).toContain(id);
  }, 120_000);

  it('an answer read while such writes may still go on is not kept', async () => {
    const a = await newAccount();
    await apply(a, { kind: 'create', stream: 3, at: -2, duration: undefined, restricted: false });
    await beforeRewritingEvents(a.user.username, Date.now() / 1000, 60);
    for (let round = 0; round < 2; round++) for (let i = 0; i < 3; i++) await compare(a, a.restricted, i);
    // Under the same mark: only answers not kept show this event.
    const id = await writeAsImport(a, false);
    for (let i = 0; i < 3; i++) await compare(a, a.restricted, i);
    const res = await call('GET', `/${a.user.username}/events?limit=4`, { token: a.restricted });
    expect(res.body.events.map((e: { id: string }) => e.id)).toContain(id);
  }, 120_000);
});
