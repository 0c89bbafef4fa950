import { beforeAll, describe, expect, it } from 'vitest';
import { insertAccess } from '../setup/accesses';
import { type ApiResponse, call, createUser, type TestUser, useRuntimeStore } from '../setup/api';

/**
 * events.get (spec §2.2.1, §3.1, §3.4, §4) against the real local runtime.
 *
 * One fixture account, built through the API in beforeAll and never changed afterwards
 * (tests that write use their own fresh users):
 *
 *   A ── A1            eA, eOld, eDayEdge, ePeriodIn, ePeriodEnded, eFuture in A
 *    └── A2 ── A2x     eA1, eLate, eTrashed (trashed) in A1; eA1B in A1 and B
 *   B                  eA2 in A2; eA2x in A2x
 *   C (trashed) ── C1  eB, eLong (20-day period) in B
 *   F                  eC in C, eC1 in C1; fill0…fill19 in F
 *   R                  eRunning (running, 40 days old), eRunning2 (running) in R
 *
 * Running events have a stream of their own so that, should they fail to be stored, the
 * failures stay confined to the tests about them (and to those reading everything).
 */

const H = 3600;
const D = 24 * H;
const BASE = 1_700_000_000; // fixture times are relative to this (Nov 2023: in the past)

interface Spec {
  key: string;
  streamIds: string[];
  time: number;
  type: string;
  duration?: number | null;
  content?: unknown;
  trashed?: boolean;
}

const now = () => Date.now() / 1000;

function fixtureEvents(): Spec[] {
  const list: Spec[] = [
    { key: 'eRunning', streamIds: ['R'], time: BASE - 40 * D, type: 'activity/plain', duration: null },
    { key: 'eLong', streamIds: ['B'], time: BASE - 10 * D, type: 'activity/plain', duration: 20 * D },
    { key: 'eOld', streamIds: ['A'], time: BASE - 2 * D, type: 'note/txt', content: 'old' },
    { key: 'eDayEdge', streamIds: ['A'], time: BASE - 10 * H, type: 'note/txt', content: 'day edge' },
    { key: 'eA', streamIds: ['A'], time: BASE + 1 * H, type: 'note/txt', content: 'a' },
    { key: 'eA1', streamIds: ['A1'], time: BASE + 2 * H, type: 'note/txt', content: 'a1' },
    { key: 'eA2', streamIds: ['A2'], time: BASE + 3 * H, type: 'mass/kg', content: 70 },
    { key: 'eA2x', streamIds: ['A2x'], time: BASE + 4 * H, type: 'mass/g', content: 500 },
    { key: 'eB', streamIds: ['B'], time: BASE + 5 * H, type: 'note/txt', content: 'b' },
    { key: 'eC', streamIds: ['C'], time: BASE + 6 * H, type: 'note/txt', content: 'c' },
    { key: 'eC1', streamIds: ['C1'], time: BASE + 6.5 * H, type: 'note/txt', content: 'c1' },
    { key: 'eA1B', streamIds: ['A1', 'B'], time: BASE + 7 * H, type: 'activity/plain' },
    { key: 'eTrashed', streamIds: ['A1'], time: BASE + 8 * H, type: 'note/txt', content: 'trashed', trashed: true },
    { key: 'ePeriodIn', streamIds: ['A'], time: BASE + 9 * H, type: 'activity/plain', duration: 2 * H },
    { key: 'ePeriodEnded', streamIds: ['A'], time: BASE + 9.25 * H, type: 'activity/plain', duration: 0.5 * H },
    { key: 'eRunning2', streamIds: ['R'], time: BASE + 12 * H, type: 'activity/plain', duration: null },
    { key: 'eLate', streamIds: ['A1'], time: BASE + 13 * H, type: 'note/txt', content: 'late' },
  ];
  for (let i = 0; i < 20; i++) {
    list.push({ key: `fill${i}`, streamIds: ['F'], time: BASE + 20 * H + i * 60, type: 'count/steps', content: i });
  }
  list.push({ key: 'eFuture', streamIds: ['A'], time: now() + 2 * H, type: 'note/txt', content: 'future' });
  return list;
}

const FILLS = Array.from({ length: 20 }, (_, i) => `fill${i}`);
/** Events of each subtree that `state=default` shows (not trashed, not in trashed streams). */
const A_ONLY = ['eA', 'eOld', 'eDayEdge', 'ePeriodIn', 'ePeriodEnded', 'eFuture'];
const A1_SUB = ['eA1', 'eA1B', 'eLate'];
const A2_SUB = ['eA2', 'eA2x'];
const A_SUB = [...A_ONLY, ...A1_SUB, ...A2_SUB];
const B_ONLY = ['eB', 'eLong'];
const R_SUB = ['eRunning', 'eRunning2'];
/** The account's own value events (Pryv API reference §7): the personal token's `*` reads them too. */
const ACCOUNT_FIELDS = [':system:email', ':_system:language', ':_system:dbDocuments', ':_system:attachedFiles'];
const ACCOUNT = ACCOUNT_FIELDS.map((f) => `account${f}`);
const VISIBLE = [...A_SUB, ...B_ONLY, ...FILLS, ...R_SUB, ...ACCOUNT];

type Query = Record<string, string | number | boolean | string[] | object | undefined>;

/** Query string: arrays as repeated `key[]=`, objects as JSON strings (how Pryv clients send them). */
function toQuery(params: Query | string): string {
  if (typeof params === 'string') return params;
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const item of v) sp.append(`${k}[]`, String(item));
    else if (typeof v === 'object') sp.append(k, JSON.stringify(v));
    else sp.append(k, String(v));
  }
  return sp.toString();
}

describe('events.get (spec §2.2.1)', () => {
  let user: TestUser;
  const ids = new Map<string, string>(); // fixture key → event id
  const keys = new Map<string, string>(); // event id → fixture key
  const specs = new Map<string, Spec>();
  const failedCreates: string[] = [];

  const get = (params: Query | string = {}, token = user.token): Promise<ApiResponse> =>
    call('GET', `/${user.username}/events?${toQuery(params)}`, { token });

  /** Fixture keys of the answer's events, in answer order (fails on a non-200). */
  async function keysOf(params: Query | string = {}, token?: string): Promise<string[]> {
    const res = await get(params, token);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.events.map((e: { id: string }) => keys.get(e.id) ?? `unknown:${e.id}`);
  }

  const sorted = (list: string[]) => [...list].sort();

  /** Expected order of a set of fixture keys: by time, newest first unless ascending. */
  function byTime(list: string[], ascending = false): string[] {
    // Events of one time come in id order (the account events share their registration time).
    const id = (k: string) => ids.get(k) ?? '';
    const out = [...list].sort((a, b) => specs.get(a)!.time - specs.get(b)!.time || (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0));
    return ascending ? out : out.reverse();
  }

  async function expectError(params: Query | string, status: number, id: string, token?: string): Promise<ApiResponse> {
    const res = await get(params, token);
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body.error.id).toBe(id);
    return res;
  }

  beforeAll(async () => {
    useRuntimeStore();
    user = await createUser();
    const streams = [
      { id: 'A', name: 'A' },
      { id: 'A1', name: 'A1', parentId: 'A' },
      { id: 'A2', name: 'A2', parentId: 'A' },
      { id: 'A2x', name: 'A2x', parentId: 'A2' },
      { id: 'B', name: 'B' },
      { id: 'C', name: 'C' },
      { id: 'C1', name: 'C1', parentId: 'C' },
      { id: 'F', name: 'F' },
      { id: 'R', name: 'R' },
    ];
    for (const s of streams) {
      const res = await call('POST', `/${user.username}/streams`, { token: user.token, body: s });
      if (res.status !== 201) throw new Error(`stream ${s.id}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    for (const spec of fixtureEvents()) {
      const { key, ...body } = spec;
      const res = await call('POST', `/${user.username}/events`, { token: user.token, body });
      specs.set(key, spec);
      if (res.status !== 201) {
        failedCreates.push(`${key}: ${res.status} ${JSON.stringify(res.body?.error ?? res.body)}`);
        continue;
      }
      ids.set(key, res.body.event.id);
      keys.set(res.body.event.id, key);
    }
    // The account events written at registration are part of the fixture, keyed by their field.
    const account = await call('GET', `/${user.username}/events?streams=${encodeURIComponent(':_system:account')}&limit=100`, {
      token: user.token,
    });
    for (const e of account.body.events as Array<{ id: string; time: number; streamIds: string[]; type: string }>) {
      const key = `account${e.streamIds[0]}`;
      specs.set(key, { key, streamIds: e.streamIds, time: e.time, type: e.type });
      ids.set(key, e.id);
      keys.set(e.id, key);
    }
    const trash = await call('DELETE', `/${user.username}/streams/C`, { token: user.token });
    if (trash.status !== 200 || trash.body.stream?.trashed !== true) throw new Error(`trashing C: ${JSON.stringify(trash.body)}`);
  });

  it('fixture: every event was created through the API (running events, duration null, included)', () => {
    expect(failedCreates).toEqual([]);
  });

  describe('defaults, order and paging', () => {
    it('without parameters: the 20 newest non-trashed events, newest first', async () => {
      const res = await get();
      expect(res.status).toBe(200);
      expect(res.body.eventDeletions).toBeUndefined();
      const got = res.body.events.map((e: { id: string }) => keys.get(e.id));
      expect(got).toEqual(byTime(VISIBLE).slice(0, 20));
      expect(got[0]).toBe('eFuture');
    });

    it('returns events in the spec shape (§3.1): running duration null, point events without duration', async () => {
      const res = await get({ streams: ['A2', 'R'], state: 'all', limit: 1000 });
      expect(res.status).toBe(200);
      const running = res.body.events.find((e: { id: string }) => e.id === ids.get('eRunning'));
      expect(running).toMatchObject({
        id: ids.get('eRunning'),
        streamIds: ['R'],
        time: BASE - 40 * D,
        duration: null,
        type: 'activity/plain',
      });
      for (const f of ['created', 'createdBy', 'modified', 'modifiedBy']) expect(running).toHaveProperty(f);
      const point = res.body.events.find((e: { id: string }) => e.id === ids.get('eA2'));
      expect(point).toMatchObject({ streamIds: ['A2'], time: BASE + 3 * H, type: 'mass/kg', content: 70 });
      expect(point.duration).toBeUndefined();
      expect(point.trashed).toBeUndefined();
    });

    it('sortAscending=true: the 20 oldest, oldest first', async () => {
      expect(await keysOf({ sortAscending: true })).toEqual(byTime(VISIBLE, true).slice(0, 20));
    });

    it('an explicit limit overrides the default of 20', async () => {
      expect(await keysOf({ limit: 1000 })).toEqual(byTime(VISIBLE));
      expect(await keysOf({ limit: 3 })).toEqual(byTime(VISIBLE).slice(0, 3));
      expect(await keysOf({ limit: 1 })).toEqual(byTime(VISIBLE).slice(0, 1));
    });

    it('limit=0 means no limit (Pryv v1: MongoDB limit(0)), never a single event', async () => {
      expect(await keysOf({ limit: 0 })).toEqual(byTime(VISIBLE));
      expect(await keysOf({ limit: 0, streams: 'A' })).toEqual(byTime(A_SUB));
      expect(await keysOf({ limit: 0, skip: 30 })).toEqual(byTime(VISIBLE).slice(30));
    });

    it('skip + limit pages give the same sequence as one big page, in both orders', async () => {
      for (const sortAscending of [false, true]) {
        const all = await keysOf({ limit: 1000, sortAscending });
        expect(all).toHaveLength(VISIBLE.length);
        const paged: string[] = [];
        for (let skip = 0; skip < all.length + 7; skip += 7) paged.push(...(await keysOf({ skip, limit: 7, sortAscending })));
        expect(paged).toEqual(all);
      }
    });

    it('paging over several streams (several key ranges merged) is consistent and has no duplicates', async () => {
      const query = { streams: ['A1', 'B', 'A2x'], state: 'all' };
      const all = await keysOf({ ...query, limit: 1000 });
      expect(sorted(all)).toEqual(sorted(['eA1', 'eA1B', 'eLate', 'eTrashed', 'eB', 'eLong', 'eA2x']));
      const paged: string[] = [];
      for (let skip = 0; skip < all.length + 2; skip += 2) paged.push(...(await keysOf({ ...query, skip, limit: 2 })));
      expect(paged).toEqual(all);
      expect(all).toEqual(byTime(all));
    });

    it('skip alone (no time bounds) still applies the default limit of 20', async () => {
      expect(await keysOf({ skip: 5 })).toEqual(byTime(VISIBLE).slice(5, 25));
    });
  });

  describe('time frame', () => {
    /** Everything but the running events' stream: time semantics of point and period events. */
    const NO_R = { any: ['*'], not: ['R', ':_system:account'] };

    it('fromTime/toTime: points inside and periods overlapping the start; not periods ended before', async () => {
      const got = await keysOf({ fromTime: BASE + 10 * H, toTime: BASE + 14 * H, streams: NO_R });
      // ePeriodIn began at 9 h and ends at 11 h; ePeriodEnded ended at 9.75 h; eLong spans 20 days.
      expect(got).toEqual(['eLate', 'ePeriodIn', 'eLong']);
    });

    it('fromTime/toTime: running events overlapping the frame are returned, wherever they began', async () => {
      expect(await keysOf({ fromTime: BASE + 10 * H, toTime: BASE + 14 * H })).toEqual([
        'eLate',
        'eRunning2',
        'ePeriodIn',
        'eLong',
        'eRunning',
      ]);
      expect(await keysOf({ fromTime: BASE + 10 * H, toTime: BASE + 14 * H, streams: 'R' })).toEqual(['eRunning2', 'eRunning']);
      // eRunning2 begins at 12 h: after this frame
      expect(await keysOf({ fromTime: BASE + 10 * H, toTime: BASE + 11 * H, streams: 'R' })).toEqual(['eRunning']);
    });

    it('bounds are inclusive: an event at toTime and a period ending exactly at fromTime are returned', async () => {
      expect(await keysOf({ fromTime: BASE + 11 * H, toTime: BASE + 13 * H, streams: NO_R })).toEqual(['eLate', 'ePeriodIn', 'eLong']);
      expect(await keysOf({ fromTime: BASE + 11 * H + 1, toTime: BASE + 13 * H - 1, streams: NO_R })).toEqual(['eLong']);
      expect(await keysOf({ fromTime: BASE + 12 * H, toTime: BASE + 12 * H, streams: 'R' })).toEqual(['eRunning2', 'eRunning']);
    });

    it('sortAscending with a time frame sorts by start time', async () => {
      const got = await keysOf({ fromTime: BASE + 10 * H, toTime: BASE + 14 * H, sortAscending: true, streams: NO_R });
      expect(got).toEqual(['eLong', 'ePeriodIn', 'eLate']);
      const withRunning = await keysOf({ fromTime: BASE + 10 * H, toTime: BASE + 14 * H, sortAscending: true });
      expect(withRunning).toEqual(['eRunning', 'eLong', 'ePeriodIn', 'eRunning2', 'eLate']);
    });

    it('a frame far from any event start returns only the long period and running events spanning it', async () => {
      expect(await keysOf({ fromTime: BASE - 5 * D, toTime: BASE - 4 * D, streams: NO_R })).toEqual(['eLong']);
      expect(await keysOf({ fromTime: BASE - 5 * D, toTime: BASE - 4 * D })).toEqual(['eLong', 'eRunning']);
      expect(await keysOf({ fromTime: BASE - 39 * D, toTime: BASE - 38 * D })).toEqual(['eRunning']);
      expect(await keysOf({ fromTime: BASE - 50 * D, toTime: BASE - 45 * D })).toEqual([]);
    });

    it('fromTime after toTime: only events spanning both (time ≤ toTime, end ≥ fromTime), no error', async () => {
      expect(await keysOf({ fromTime: BASE + 12 * H, toTime: BASE + 11.5 * H, streams: NO_R })).toEqual(['eLong']);
      expect(await keysOf({ fromTime: BASE + 12 * H, toTime: BASE + 11.5 * H })).toEqual(['eLong', 'eRunning']);
      // fromTime − longest duration is still after toTime: only running events can span that
      expect(await keysOf({ fromTime: BASE + 30 * D, toTime: BASE + 5 * D, streams: NO_R })).toEqual([]);
      expect(await keysOf({ fromTime: BASE + 30 * D, toTime: BASE + 5 * D })).toEqual(['eRunning2', 'eRunning']);
      expect(await keysOf({ fromTime: 1e300, toTime: 1e299 })).toEqual([]);
    });

    it('only fromTime, in the future (so after the implied toTime = now): running events only', async () => {
      expect(await keysOf({ fromTime: now() + 30 * D, streams: NO_R })).toEqual([]);
      expect(await keysOf({ fromTime: now() + 30 * D })).toEqual(['eRunning2', 'eRunning']);
    });

    it('only toTime: fromTime = toTime − 24 h (events that ended before are not returned), no default limit', async () => {
      const got = await keysOf({ toTime: BASE + 13 * H, streams: NO_R });
      // The window is [BASE − 11 h, BASE + 13 h]: eDayEdge (−10 h) is in, eOld (−2 days) is out.
      const expected = ['eLate', 'ePeriodEnded', 'ePeriodIn', 'eA1B', 'eB', 'eA2x', 'eA2', 'eA1', 'eA', 'eDayEdge', 'eLong'];
      expect(got).toEqual(expected);
      expect(got).not.toContain('eOld');
      // Same answer as with the explicit fromTime.
      expect(await keysOf({ fromTime: BASE + 13 * H - D, toTime: BASE + 13 * H, streams: NO_R })).toEqual(expected);
      // Running events overlap any window after their start.
      expect(await keysOf({ toTime: BASE + 13 * H, streams: 'R' })).toEqual(['eRunning2', 'eRunning']);
    });

    it('only toTime: the 24 h window moves with toTime', async () => {
      // eOld is at BASE − 2 days: outside [BASE − 25 h, BASE − 1 h], inside [BASE − 3 days, BASE − 2 days].
      expect(await keysOf({ toTime: BASE - 1 * H, streams: NO_R })).toEqual(['eDayEdge', 'eLong']);
      expect(await keysOf({ toTime: BASE - 2 * D + 1, streams: NO_R })).toEqual(['eOld', 'eLong']);
      expect(await keysOf({ toTime: BASE - 20 * D, streams: NO_R })).toEqual([]);
      expect(await keysOf({ toTime: BASE - 20 * D })).toEqual(['eRunning']);
    });

    it('only fromTime: toTime = now (future events excluded), no default limit of 20', async () => {
      const got = await keysOf({ fromTime: BASE + 12.5 * H, streams: NO_R });
      expect(got).toEqual([...[...FILLS].reverse(), 'eLate', 'eLong']);
      expect(got.length).toBeGreaterThan(20);
      expect(got).not.toContain('eFuture');
      // The future event is found when toTime reaches it.
      expect(await keysOf({ fromTime: now() + H, toTime: now() + 3 * H, streams: NO_R })).toEqual(['eFuture']);
      // Without streams, the account's own value events (written at registration, just before now) come first.
      expect(await keysOf({ fromTime: BASE + 12.5 * H })).toEqual([
        ...byTime(ACCOUNT),
        ...[...FILLS].reverse(),
        'eLate',
        'eRunning2',
        'eLong',
        'eRunning',
      ]);
    });

    it('an explicit limit still applies with time bounds', async () => {
      expect(await keysOf({ fromTime: BASE + 12.5 * H, limit: 2, streams: NO_R })).toEqual(['fill19', 'fill18']);
      expect(await keysOf({ fromTime: BASE + 12.5 * H, limit: 2, skip: 18, sortAscending: true, streams: NO_R })).toEqual([
        'fill16',
        'fill17',
      ]);
    });

    it('running=true returns only running events (duration null)', async () => {
      const res = await get({ running: true });
      expect(res.status).toBe(200);
      expect(res.body.events.map((e: { id: string }) => keys.get(e.id))).toEqual(['eRunning2', 'eRunning']);
      for (const e of res.body.events) expect(e.duration).toBeNull();
      expect(await keysOf({ running: true, streams: ['R'] })).toEqual(['eRunning2', 'eRunning']);
      expect(await keysOf({ running: true, streams: ['A', 'B'] })).toEqual([]);
      expect(await keysOf({ running: true, state: 'trashed' })).toEqual([]);
    });

    it('running=true keeps toTime: a running event started after toTime is not returned', async () => {
      expect(await keysOf({ running: true, toTime: BASE + 11 * H })).toEqual(['eRunning']);
      expect(await keysOf({ running: true, fromTime: BASE + 11 * H, toTime: BASE + 14 * H })).toEqual(['eRunning2', 'eRunning']);
    });

    it('running=false does not filter', async () => {
      expect(await keysOf({ running: false, limit: 1000, streams: NO_R })).toEqual(
        byTime(VISIBLE.filter((k) => !R_SUB.includes(k) && !ACCOUNT.includes(k))),
      );
    });
  });

  describe('streams', () => {
    it('a single stream id includes its descendants', async () => {
      expect(sorted(await keysOf({ streams: 'A', limit: 1000 }))).toEqual(sorted(A_SUB));
      expect(sorted(await keysOf({ streams: 'A2', limit: 1000 }))).toEqual(sorted(A2_SUB));
      expect(sorted(await keysOf({ streams: ['A'], limit: 1000 }))).toEqual(sorted(A_SUB));
    });

    it('results of a streams query are sorted by time like any other', async () => {
      expect(await keysOf({ streams: 'A', limit: 1000 })).toEqual(byTime(A_SUB));
      expect(await keysOf({ streams: 'A', limit: 1000, sortAscending: true })).toEqual(byTime(A_SUB, true));
    });

    it('"A!" excludes descendants: plain, as repeated streams[]=, and as JSON ["A!"]', async () => {
      expect(sorted(await keysOf({ streams: 'A!', limit: 1000 }))).toEqual(sorted(A_ONLY));
      expect(sorted(await keysOf('streams[]=A!&limit=1000'))).toEqual(sorted(A_ONLY));
      expect(sorted(await keysOf({ streams: JSON.stringify(['A!']), limit: 1000 }))).toEqual(sorted(A_ONLY));
      expect(sorted(await keysOf('streams[]=A!&streams[]=B!&limit=1000'))).toEqual(sorted([...A_ONLY, 'eB', 'eA1B', 'eLong']));
      expect(sorted(await keysOf({ streams: { any: ['A2!'] }, limit: 1000 }))).toEqual(['eA2']);
    });

    it('an array of ids matches any of them (streams[]=, repeated streams=, JSON array)', async () => {
      const expected = sorted(['eA1', 'eA1B', 'eLate', 'eA2x']);
      expect(sorted(await keysOf('streams[]=A1&streams[]=A2x&limit=1000'))).toEqual(expected);
      expect(sorted(await keysOf('streams=A1&streams=A2x&limit=1000'))).toEqual(expected);
      expect(sorted(await keysOf({ streams: JSON.stringify(['A1', 'A2x']), limit: 1000 }))).toEqual(expected);
    });

    it('an event in two read streams appears once', async () => {
      const got = await keysOf({ streams: ['A1', 'B'], limit: 1000 });
      expect(sorted(got)).toEqual(sorted(['eA1', 'eA1B', 'eLate', 'eB', 'eLong']));
      expect(got.filter((k) => k === 'eA1B')).toHaveLength(1);
      const star = await keysOf({ streams: '*', limit: 1000 });
      expect(star.filter((k) => k === 'eA1B')).toHaveLength(1);
      const parents = await keysOf({ streams: ['A', 'B'], limit: 1000 });
      expect(parents.filter((k) => k === 'eA1B')).toHaveLength(1);
      expect(sorted(parents)).toEqual(sorted([...A_SUB, ...B_ONLY]));
    });

    it('{any, all}: an event in A1 and B matches {any:[A], all:[B]}', async () => {
      expect(await keysOf({ streams: { any: ['A'], all: ['B'] }, limit: 1000 })).toEqual(['eA1B']);
      expect(await keysOf({ streams: { any: ['B'], all: ['A'] }, limit: 1000 })).toEqual(['eA1B']);
      expect(await keysOf({ streams: { any: ['A'], all: ['B!'] }, limit: 1000 })).toEqual(['eA1B']);
      expect(await keysOf({ streams: { any: ['A2'], all: ['B'] }, limit: 1000 })).toEqual([]);
      // all: in each listed stream (or a descendant of each)
      expect(await keysOf({ streams: { any: ['A1', 'B'], all: ['A', 'B'] }, limit: 1000 })).toEqual(['eA1B']);
      expect(sorted(await keysOf({ streams: { any: ['A'], all: ['A1'] }, limit: 1000 }))).toEqual(sorted(A1_SUB));
    });

    it('{any, not}: not excludes the stream and its descendants', async () => {
      expect(sorted(await keysOf({ streams: { any: ['A'], not: ['A2'] }, limit: 1000 }))).toEqual(sorted([...A_ONLY, ...A1_SUB]));
      expect(sorted(await keysOf({ streams: { any: ['A'], not: ['A2!'] }, limit: 1000 }))).toEqual(sorted([...A_ONLY, ...A1_SUB, 'eA2x']));
      expect(sorted(await keysOf({ streams: { any: ['A'], not: ['A1', 'A2x'] }, limit: 1000 }))).toEqual(sorted([...A_ONLY, 'eA2']));
      // An event in B and A1 is excluded by not:[A] although it is in B.
      expect(sorted(await keysOf({ streams: { any: ['B'], not: ['A'] }, limit: 1000 }))).toEqual(sorted(B_ONLY));
      expect(sorted(await keysOf({ streams: { any: ['B'], not: ['A1'] }, limit: 1000 }))).toEqual(sorted(B_ONLY));
      expect(sorted(await keysOf({ streams: { any: ['*'], not: ['A', 'F', 'R', ':_system:account'] }, limit: 1000 }))).toEqual(
        sorted(B_ONLY),
      );
    });

    it('an array of queries is an OR of them', async () => {
      const got = await keysOf({ streams: JSON.stringify([{ any: ['A2x'] }, { any: ['B'], not: ['A'] }]), limit: 1000 });
      expect(sorted(got)).toEqual(sorted(['eA2x', ...B_ONLY]));
      const overlapping = await keysOf({ streams: JSON.stringify([{ any: ['A1'] }, { any: ['B'] }]), limit: 1000 });
      expect(sorted(overlapping)).toEqual(sorted([...A1_SUB, ...B_ONLY]));
    });

    it('"*" alone means every stream (plain, JSON array, query object)', async () => {
      const expected = byTime(VISIBLE);
      expect(await keysOf({ streams: '*', limit: 1000 })).toEqual(expected);
      expect(await keysOf({ streams: JSON.stringify(['*']), limit: 1000 })).toEqual(expected);
      expect(await keysOf({ streams: { any: ['*'] }, limit: 1000 })).toEqual(expected);
    });

    it('events in a trashed stream are excluded with state default, included with state=all', async () => {
      expect(await keysOf({ limit: 1000 })).not.toContain('eC');
      expect(await keysOf({ streams: '*', limit: 1000 })).not.toContain('eC');
      const all = await keysOf({ state: 'all', limit: 1000 });
      expect(sorted(all)).toEqual(sorted([...VISIBLE, 'eC', 'eC1', 'eTrashed']));
      expect(await keysOf({ streams: 'C', state: 'all', limit: 1000 })).toEqual(['eC1', 'eC']);
      expect(await keysOf({ streams: 'C1', state: 'all', limit: 1000 })).toEqual(['eC1']);
    });

    it('state default: a trashed stream named in the query (or one below it) yields no events, without error', async () => {
      // Spec §2.2.1: unless state is trashed/all, trashed streams and their subtrees are excluded from expansion.
      expect(await keysOf({ streams: 'C', limit: 1000 })).toEqual([]);
      expect(await keysOf({ streams: 'C!', limit: 1000 })).toEqual([]);
      expect(await keysOf({ streams: 'C1', limit: 1000 })).toEqual([]);
      expect(await keysOf({ streams: ['C', 'A2'], limit: 1000 })).toEqual(byTime(A2_SUB));
      expect(await keysOf({ streams: { any: ['A'], all: ['C'] }, limit: 1000 })).toEqual([]);
    });

    describe('invalid queries → 400 invalid-request-structure', () => {
      const cases: Array<[string, string]> = [
        ['empty any', JSON.stringify({ any: [] })],
        ['missing any', JSON.stringify({ all: ['A'] })],
        ['unknown key', JSON.stringify({ any: ['A'], foo: ['B'] })],
        ['"*" with all', JSON.stringify({ any: ['*'], all: ['A'] })],
        ['"*" not alone in any', JSON.stringify({ any: ['*', 'A'] })],
        ['"*" in not', JSON.stringify({ any: ['A'], not: ['*'] })],
        ['ids mixed with query objects', JSON.stringify(['A', { any: ['B'] }])],
        ['malformed JSON object', '{"any":["A"]'],
        ['malformed JSON array', '["A",'],
        ['any not an array', JSON.stringify({ any: 'A' })],
        ['"#*"', JSON.stringify({ any: ['#*'] })],
        ['empty array', '[]'],
        ['forbidden " in an id (JSON)', JSON.stringify(['A"B'])],
        ["forbidden ' in an id", "A'B"],
        ['forbidden \\ in an id', 'A\\B'],
        ['forbidden newline in a not id', JSON.stringify({ any: ['A'], not: ['x\ny'] })],
      ];
      for (const [name, streams] of cases) {
        it(name, async () => {
          await expectError({ streams }, 400, 'invalid-request-structure');
        });
      }
    });

    it('an unknown stream → 400 unknown-referenced-resource with data.streams', async () => {
      const one = await expectError({ streams: 'nope' }, 400, 'unknown-referenced-resource');
      expect(one.body.error.data).toEqual({ streams: ['nope'] });
      const inQuery = await expectError({ streams: { any: ['A', 'nope2'] } }, 400, 'unknown-referenced-resource');
      expect(inQuery.body.error.data).toEqual({ streams: ['nope2'] });
      const several = await expectError('streams[]=A&streams[]=x1&streams[]=x2', 400, 'unknown-referenced-resource');
      expect(sorted(several.body.error.data.streams)).toEqual(['x1', 'x2']);
      const bang = await expectError({ streams: 'nope!' }, 400, 'unknown-referenced-resource');
      expect(bang.body.error.data).toEqual({ streams: ['nope'] });
    });

    it('unknown ids in all/not are not errors', async () => {
      expect(await keysOf({ streams: { any: ['A2'], not: ['ghost'] }, limit: 1000 }).then(sorted)).toEqual(sorted(A2_SUB));
      expect(await keysOf({ streams: { any: ['A2'], all: ['ghost'] }, limit: 1000 })).toEqual([]);
    });
  });

  describe('types', () => {
    it('exact types (array and a single value coerced to an array)', async () => {
      expect(await keysOf({ types: ['mass/kg'], limit: 1000 })).toEqual(['eA2']);
      expect(await keysOf('types=mass/kg&limit=1000')).toEqual(['eA2']);
      expect(sorted(await keysOf('types=mass/kg&types=mass/g&limit=1000'))).toEqual(['eA2', 'eA2x']);
      const notes = await keysOf({ types: ['note/txt'], limit: 1000 });
      expect(sorted(notes)).toEqual(sorted(['eA', 'eA1', 'eB', 'eLate', 'eOld', 'eDayEdge', 'eFuture']));
      expect(await keysOf({ types: ['note/html'], limit: 1000 })).toEqual([]);
    });

    it('"class/*" matches any format of the class, and only that class', async () => {
      expect(sorted(await keysOf('types=mass/*&limit=1000'))).toEqual(['eA2', 'eA2x']);
      expect(sorted(await keysOf({ types: ['mass/*', 'count/*'], limit: 1000 }))).toEqual(sorted(['eA2', 'eA2x', ...FILLS]));
      expect(await keysOf({ types: ['mas/*'], limit: 1000 })).toEqual([]);
    });

    it('types combine with streams and time', async () => {
      expect(await keysOf({ types: ['activity/plain'], streams: ['B'], fromTime: BASE, toTime: BASE + 24 * H })).toEqual(['eA1B', 'eLong']);
    });

    it('an invalid type pattern → 400 invalid-parameters-format', async () => {
      for (const bad of ['mass', 'Mass/kg', 'mass/', '*/kg', 'mass/k g', 'mass/**']) {
        await expectError({ types: [bad] }, 400, 'invalid-parameters-format');
      }
      await expectError('types=nope', 400, 'invalid-parameters-format');
    });
  });

  describe('state', () => {
    it('state=trashed returns only trashed events', async () => {
      const res = await get({ state: 'trashed', limit: 1000 });
      expect(res.status).toBe(200);
      expect(res.body.events.map((e: { id: string }) => keys.get(e.id))).toEqual(['eTrashed']);
      expect(res.body.events[0].trashed).toBe(true);
    });

    it('state=all returns trashed and non-trashed events, newest first', async () => {
      expect(await keysOf({ state: 'all', limit: 1000 })).toEqual(byTime([...VISIBLE, 'eC', 'eC1', 'eTrashed']));
    });

    it('state default (explicit) = non-trashed only', async () => {
      expect(await keysOf({ state: 'default', limit: 1000 })).toEqual(byTime(VISIBLE));
    });

    it('state with a stream: trashed events of a subtree', async () => {
      expect(await keysOf({ state: 'trashed', streams: 'A', limit: 1000 })).toEqual(['eTrashed']);
      expect(await keysOf({ state: 'trashed', streams: 'B', limit: 1000 })).toEqual([]);
      expect(sorted(await keysOf({ state: 'all', streams: 'A1', limit: 1000 }))).toEqual(sorted([...A1_SUB, 'eTrashed']));
    });
  });

  describe('parameter validation and coercion', () => {
    it('unknown parameters → 400 invalid-parameters-format', async () => {
      await expectError('foo=bar', 400, 'invalid-parameters-format');
      await expectError('limit=5&sortDescending=true', 400, 'invalid-parameters-format');
    });

    it('the auth parameter is tolerated', async () => {
      const res = await call('GET', `/${user.username}/events?auth=${encodeURIComponent(user.token)}&limit=2`);
      expect(res.status).toBe(200);
      expect(res.body.events).toHaveLength(2);
    });

    it('numeric and boolean parameters given as query strings are coerced', async () => {
      const frame = `fromTime=${BASE + 10 * H}&toTime=${BASE + 14 * H}&streams[]=A&streams[]=B`;
      expect(await keysOf(`${frame}&sortAscending=true&skip=1&limit=2`)).toEqual(['ePeriodIn', 'eLate']);
      expect(await keysOf(`${frame}&sortAscending=false&skip=0&limit=1`)).toEqual(['eLate']);
      expect(await keysOf('streams=A2&sortAscending=true&running=false&limit=5')).toEqual(['eA2', 'eA2x']);
    });

    it('bad values → 400 invalid-parameters-format', async () => {
      for (const q of [
        'limit=-1',
        'limit=abc',
        'skip=-1',
        'fromTime=yesterday',
        'toTime=x',
        'state=bogus',
        'sortAscending=maybe',
        'modifiedSince=x',
        'running=1x',
      ]) {
        await expectError(q, 400, 'invalid-parameters-format');
      }
    });

    it('includeDeletions without modifiedSince gives no eventDeletions', async () => {
      const res = await get({ includeDeletions: true, limit: 2 });
      expect(res.status).toBe(200);
      expect(res.body.eventDeletions).toBeUndefined();
      expect(res.body.events).toHaveLength(2);
    });
  });

  describe('access restrictions (spec §4)', () => {
    it('a shared access with read on A sees only the A subtree, with "*" or without streams', async () => {
      const access = await insertAccess(user.username, 'shared', { permissions: [{ streamId: 'A', level: 'read' }] });
      expect(sorted(await keysOf({ limit: 1000 }, access.token))).toEqual(sorted(A_SUB));
      expect(sorted(await keysOf({ streams: '*', limit: 1000 }, access.token))).toEqual(sorted(A_SUB));
      expect(sorted(await keysOf({ streams: { any: ['*'] }, limit: 1000 }, access.token))).toEqual(sorted(A_SUB));
      expect(sorted(await keysOf({ streams: 'A2', limit: 1000 }, access.token))).toEqual(sorted(A2_SUB));
      // The default page is the 20 newest of what it can read.
      expect(await keysOf({}, access.token)).toEqual(byTime(A_SUB).slice(0, 20));
      expect(sorted(await keysOf({ state: 'all', limit: 1000 }, access.token))).toEqual(sorted([...A_SUB, 'eTrashed']));
    });

    it('asking for a stream outside the permissions → 403 forbidden', async () => {
      const access = await insertAccess(user.username, 'shared', { permissions: [{ streamId: 'A', level: 'read' }] });
      await expectError({ streams: 'B' }, 403, 'forbidden', access.token);
      await expectError({ streams: ['A1', 'B'] }, 403, 'forbidden', access.token);
      await expectError({ streams: { any: ['F'] } }, 403, 'forbidden', access.token);
      // all/not ids are not permission-checked
      expect(await keysOf({ streams: { any: ['A'], all: ['B'] }, limit: 1000 }, access.token)).toEqual(['eA1B']);
      expect(sorted(await keysOf({ streams: { any: ['A1'], not: ['B'] }, limit: 1000 }, access.token))).toEqual(['eA1', 'eLate']);
    });

    it('"none" on A2 under read on A hides A2 and A2x events', async () => {
      const access = await insertAccess(user.username, 'shared', {
        permissions: [
          { streamId: 'A', level: 'read' },
          { streamId: 'A2', level: 'none' },
        ],
      });
      const expected = sorted([...A_ONLY, ...A1_SUB]);
      expect(sorted(await keysOf({ limit: 1000 }, access.token))).toEqual(expected);
      expect(sorted(await keysOf({ streams: 'A', limit: 1000 }, access.token))).toEqual(expected);
      expect(sorted(await keysOf({ streams: '*', limit: 1000 }, access.token))).toEqual(expected);
      expect(sorted(await keysOf({ running: true }, access.token))).toEqual([]);
      await expectError({ streams: 'A2' }, 403, 'forbidden', access.token);
      await expectError({ streams: 'A2x' }, 403, 'forbidden', access.token);
    });

    it("a create-only stream's events are never returned", async () => {
      const access = await insertAccess(user.username, 'shared', {
        permissions: [
          { streamId: '*', level: 'read' },
          { streamId: 'B', level: 'create-only' },
        ],
      });
      // eA1B is in A1 and B: B is added to `not`, so it is excluded too; `*` never covers the account's events.
      const expected = sorted(VISIBLE.filter((k) => !['eB', 'eLong', 'eA1B', ...ACCOUNT].includes(k)));
      expect(sorted(await keysOf({ limit: 1000 }, access.token))).toEqual(expected);
      expect(sorted(await keysOf({ streams: '*', limit: 1000 }, access.token))).toEqual(expected);
      expect(sorted(await keysOf({ streams: 'A1', limit: 1000 }, access.token))).toEqual(['eA1', 'eLate']);
      expect(await keysOf({ fromTime: BASE + 10 * H, toTime: BASE + 14 * H, streams: { any: ['*'], not: ['R'] } }, access.token)).toEqual([
        'eLate',
        'ePeriodIn',
      ]);
      await expectError({ streams: 'B' }, 403, 'forbidden', access.token);

      const createOnlyOnly = await insertAccess(user.username, 'shared', { permissions: [{ streamId: 'B', level: 'create-only' }] });
      expect(await keysOf({ limit: 1000 }, createOnlyOnly.token)).toEqual([]);
      expect(await keysOf({ state: 'all', limit: 1000 }, createOnlyOnly.token)).toEqual([]);
      await expectError({ streams: 'B' }, 403, 'forbidden', createOnlyOnly.token);
    });

    it('an app access with contribute on A1 reads only A1 events', async () => {
      const access = await insertAccess(user.username, 'app', { permissions: [{ streamId: 'A1', level: 'contribute' }] });
      expect(await keysOf({ limit: 1000 }, access.token)).toEqual(byTime(A1_SUB));
      await expectError({ streams: 'A' }, 403, 'forbidden', access.token);
    });
  });
});

describe('events.get sync: modifiedSince + includeDeletions (spec §2.2.1, §3.4)', () => {
  it('returns exactly what changed since the anchor, and one {id, deleted} per deleted event', async () => {
    useRuntimeStore();
    const u = await createUser();
    const api = (verb: string, path: string, body?: unknown) => call(verb, `/${u.username}${path}`, { token: u.token, body });
    expect((await api('POST', '/streams', { id: 'S', name: 'S' })).status).toBe(201);
    expect((await api('POST', '/streams', { id: 'T', name: 'T' })).status).toBe(201);
    const created: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await api('POST', '/events', { streamIds: [i % 2 ? 'T' : 'S'], type: 'note/txt', content: `n${i}`, time: BASE + i * H });
      expect(res.status).toBe(201);
      created.push(res.body.event.id);
    }
    const [toUpdate, toTrash, toDelete, untouched] = created as [string, string, string, string];

    // 1. read everything, anchor on the largest `modified`
    const first = await api('GET', '/events?state=all&limit=1000');
    expect(first.status).toBe(200);
    // The 6 created, and the account's 4 shown value events (email, language, storage counters).
    expect(first.body.events).toHaveLength(10);
    const anchor = Math.max(...first.body.events.map((e: { modified: number }) => e.modified));

    // 2. changes: one created, one updated, one trashed, one deleted (trash, then delete)
    const fresh = await api('POST', '/events', { streamIds: ['T'], type: 'note/txt', content: 'new', time: BASE + 10 * H });
    expect(fresh.status).toBe(201);
    expect((await api('PUT', `/events/${toUpdate}`, { content: 'changed' })).status).toBe(200);
    expect((await api('DELETE', `/events/${toTrash}`)).body.event.trashed).toBe(true);
    expect((await api('DELETE', `/events/${toDelete}`)).body.event.trashed).toBe(true);
    const deletion = await api('DELETE', `/events/${toDelete}`);
    expect(deletion.body.eventDeletion).toEqual({ id: toDelete });

    // 3. ask what changed
    const changes = await api('GET', `/events?modifiedSince=${anchor}&includeDeletions=true&state=all`);
    expect(changes.status).toBe(200);
    // newest first by time: fresh (10 h), toTrash (1 h), toUpdate (0 h)
    expect(changes.body.events.map((e: { id: string }) => e.id)).toEqual([fresh.body.event.id, toTrash, toUpdate]);
    expect(changes.body.events.map((e: { id: string }) => e.id)).not.toContain(untouched);
    const byId = new Map(changes.body.events.map((e: { id: string }) => [e.id, e]));
    expect(byId.get(toUpdate)).toMatchObject({ content: 'changed' });
    expect(byId.get(toTrash)).toMatchObject({ trashed: true });
    for (const e of changes.body.events) expect(e.modified).toBeGreaterThan(anchor);
    expect(changes.body.eventDeletions).toEqual([{ id: toDelete, deleted: expect.any(Number) }]);
    expect(changes.body.eventDeletions[0].deleted).toBeGreaterThan(anchor);

    // state default: the trashed one is not among the events; the deletion is still reported
    const active = await api('GET', `/events?modifiedSince=${anchor}&includeDeletions=true`);
    expect(active.status).toBe(200);
    expect(active.body.events.map((e: { id: string }) => e.id)).toEqual([fresh.body.event.id, toUpdate]);
    expect(active.body.eventDeletions).toEqual(changes.body.eventDeletions);

    // state=trashed: only the trashed one
    const trashedOnly = await api('GET', `/events?modifiedSince=${anchor}&state=trashed`);
    expect(trashedOnly.body.events.map((e: { id: string }) => e.id)).toEqual([toTrash]);

    // paging applies to events and deletions alike
    const firstPage = await api('GET', `/events?modifiedSince=${anchor}&includeDeletions=true&state=all&limit=1`);
    expect(firstPage.body.events.map((e: { id: string }) => e.id)).toEqual([fresh.body.event.id]);
    expect(firstPage.body.eventDeletions).toEqual(changes.body.eventDeletions);
    const secondPage = await api('GET', `/events?modifiedSince=${anchor}&includeDeletions=true&state=all&limit=1&skip=1`);
    expect(secondPage.body.events.map((e: { id: string }) => e.id)).toEqual([toTrash]);
    expect(secondPage.body.eventDeletions).toEqual([]);

    // without includeDeletions: no eventDeletions member
    const noDeletions = await api('GET', `/events?modifiedSince=${anchor}&state=all`);
    expect(noDeletions.body.events).toHaveLength(3);
    expect(noDeletions.body.eventDeletions).toBeUndefined();

    // sortAscending applies to events (by time) and deletions
    const ascending = await api('GET', `/events?modifiedSince=${anchor}&includeDeletions=true&state=all&sortAscending=true`);
    expect(ascending.body.events.map((e: { id: string }) => e.id)).toEqual([toUpdate, toTrash, fresh.body.event.id]);
    expect(ascending.body.eventDeletions).toEqual(changes.body.eventDeletions);

    // with a streams filter
    const inT = await api('GET', `/events?modifiedSince=${anchor}&state=all&streams=T`);
    expect(inT.body.events.map((e: { id: string }) => e.id)).toEqual([fresh.body.event.id, toTrash]);

    // 4. ask again with the new anchor: nothing
    const newAnchor = Math.max(
      ...changes.body.events.map((e: { modified: number }) => e.modified),
      ...changes.body.eventDeletions.map((d: { deleted: number }) => d.deleted),
    );
    const again = await api('GET', `/events?modifiedSince=${newAnchor}&includeDeletions=true&state=all`);
    expect(again.status).toBe(200);
    expect(again.body.events).toEqual([]);
    expect(again.body.eventDeletions).toEqual([]);

    // an old anchor returns everything that still exists, plus the deletion
    const all = await api('GET', `/events?modifiedSince=0&includeDeletions=true&state=all&limit=1000`);
    expect(all.body.events).toHaveLength(10); // 6 of its own (one new, one deleted), 4 account values;
    expect(all.body.events.map((e: { id: string }) => e.id)).not.toContain(toDelete);
    expect(all.body.eventDeletions).toEqual(changes.body.eventDeletions);
  });
});
