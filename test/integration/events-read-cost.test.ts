import { beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../shared/model/events';
import { ALL_STREAMS } from '../../shared/store/events/items';
import type { ReadStats } from '../../shared/store/events/read';
import { forgetReadShares, readByTime, type TimeSource } from '../../shared/store/events/time-merge';
import { call, createUser, type TestUser, useRuntimeStore } from '../setup/api';

/**
 * Value events every registered account holds (Pryv API reference §7: email, language, appId,
 * the two storage counters), indexed in the all-events range like any event.
 */
const ACCOUNT_VALUES = 5;

/**
 * What a time-ordered read costs when its filters keep few of the events it reads (a content
 * query, a rare type): pages grow with the share the filters drop, so a rare match costs a few
 * large reads, not one small read per missing event; when the filters keep everything, exactly
 * what the answer needs is read.
 */

let user: TestUser;
const FILLER = 400;
const NEEDLES = 5;

/** Sends calls in batches small enough to finish well inside a batch's time limit on a busy machine. */
async function send(u: TestUser, calls: unknown[]): Promise<void> {
  // On a busy machine a batch may answer 503 (Retry-After) or run out of time before some
  // calls (api-unavailable): those are sent again, as a client would; ids make that safe.
  let pending = calls;
  for (let round = 0; pending.length > 0 && round < 20; round++) {
    const chunk = pending.slice(0, 50);
    const res = await call('POST', `/${u.username}`, { token: u.token, body: chunk });
    if (res.status === 503) {
      await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('retry-after') ?? 1)));
      continue;
    }
    expect(res.status).toBe(200);
    const results = res.body.results as Array<{ error?: { id: string; message: string } }>;
    const unexpected = results.filter((r) => r.error && r.error.id !== 'item-already-exists' && r.error.id !== 'api-unavailable');
    expect(unexpected.map((r) => `${r.error!.id}: ${r.error!.message}`)).toEqual([]);
    pending = [...chunk.filter((_, k) => results[k]?.error?.id === 'api-unavailable'), ...pending.slice(chunk.length)];
  }
  expect(pending).toEqual([]);
}

beforeAll(async () => {
  useRuntimeStore();
  user = await createUser();
  const calls: unknown[] = [{ method: 'streams.create', params: { id: 'hay', name: 'hay' } }];
  // The needles are the oldest events: a newest-first read meets them last.
  for (let i = 0; i < NEEDLES; i++)
    calls.push({ method: 'events.create', params: { streamIds: ['hay'], type: 'note/txt', time: 1000 + i, content: 'needle' } });
  for (let i = 0; i < FILLER; i++)
    calls.push({ method: 'events.create', params: { streamIds: ['hay'], type: 'note/txt', time: 2000 + i, content: 'hay' } });
  await send(user, calls);
}, 180_000);

async function read(want: number, accept: (e: StoredEvent) => boolean) {
  const stats: ReadStats = { requests: 0, capacity: 0, items: 0 };
  const events: StoredEvent[] = [];
  const source = { streamId: ALL_STREAMS, state: 'a' as const, kind: 'i' as const };
  for await (const e of readByTime(
    user.username,
    { sources: [source], range: { from: -Infinity, to: Infinity }, ascending: false, want, accept },
    stats,
  )) {
    events.push(e);
    if (events.length >= want) break;
  }
  return { events, stats };
}

describe('time-ordered reads, cost against what the filters keep', () => {
  it('a rare match behind many non-matching events: a few requests, not one per missing event', async () => {
    const { events, stats } = await read(NEEDLES, (e) => e.content === 'needle');
    expect(events.map((e) => e.time)).toEqual([1004, 1003, 1002, 1001, 1000]);
    // First page: what the answer needs (6); then pages scaled by the kept share reach 1,000.
    expect(stats.requests).toBeLessThanOrEqual(3);
  });

  it('filters that keep everything: items read stay what the answer holds (+1)', async () => {
    const { events, stats } = await read(50, () => true);
    expect(events).toHaveLength(50);
    expect(stats.requests).toBe(1);
    expect(stats.items).toBeLessThanOrEqual(51);
  });

  it('a filter keeping half: items read about twice what is returned, in a few requests', async () => {
    const { events, stats } = await read(40, (e) => e.time % 2 === 0);
    expect(events).toHaveLength(40);
    expect(stats.requests).toBeLessThanOrEqual(4);
    expect(stats.items).toBeLessThanOrEqual(40 * 2 * 2 + 1);
  });
});

/**
 * Reads over several streams (a restricted token, no stream filter) can also be answered from
 * the all-events range filtered in memory: the store reads whichever costs fewer read units
 * for the share of events the streams hold, learnt from a first small page.
 */
describe('reads over several streams: the merge or the all-events range, whichever reads less', () => {
  let owner: TestUser;
  const sourcesOf = (ids: string[]): TimeSource[] => ids.map((streamId) => ({ streamId, state: 'a' as const, kind: 'd' as const }));
  const wide: TimeSource = { streamId: ALL_STREAMS, state: 'a', kind: 'i' };

  beforeAll(async () => {
    owner = await createUser();
    const calls: unknown[] = ['m1', 'm2', 'm3', 'm4', 'few1', 'few2', 'rest'].map((id) => ({
      method: 'streams.create',
      params: { id, name: id },
    }));
    // Times 10,000… : 80 events in m1–m4 and 4 in `rest` (the m streams hold ~95 %).
    for (let i = 0; i < 84; i++) {
      const stream = i % 21 === 20 ? 'rest' : `m${(i % 4) + 1}`;
      calls.push({ method: 'events.create', params: { streamIds: [stream], type: 'note/txt', time: 10_000 + i, content: `n${i}` } });
    }
    // Times 1,000… : 300 events in `rest` and 40 in few1/few2 (~12 %), older than the above;
    // five events at each time, so that pages end among events of the same time.
    for (let i = 0; i < 340; i++) {
      const stream = i % 17 === 0 ? 'few1' : i % 17 === 1 ? 'few2' : 'rest';
      calls.push({
        method: 'events.create',
        params: { streamIds: [stream], type: 'note/txt', time: 1000 + Math.floor(i / 5), content: `n${i}` },
      });
    }
    await send(owner, calls);
  }, 180_000);

  async function readOver(
    streams: string[],
    want: number,
    options: { wide: boolean; range?: { from: number; to: number }; ascending?: boolean },
  ) {
    const stats: ReadStats = { requests: 0, capacity: 0, items: 0 };
    const events: StoredEvent[] = [];
    const accept = (e: StoredEvent) => e.streamIds.some((s) => streams.includes(s));
    const read = {
      sources: sourcesOf(streams),
      wide: options.wide ? wide : undefined,
      wideStreams: options.wide ? streams : undefined,
      range: options.range ?? { from: -Infinity, to: Infinity },
      ascending: options.ascending ?? false,
      want,
      accept,
    };
    for await (const e of readByTime(owner.username, read, stats)) {
      events.push(e);
      if (events.length >= want) break;
    }
    return { ids: events.map((e) => e.id), stats };
  }

  it('streams holding most events: the all-events range, one request once the share is known', async () => {
    forgetReadShares();
    const streams = ['m1', 'm2', 'm3', 'm4'];
    const merged = await readOver(streams, 30, { wide: false });
    expect(merged.ids).toHaveLength(30);
    expect(merged.stats.requests).toBeGreaterThanOrEqual(4); // one first page per stream

    // A first page of 20 events (19 kept), then one page for the rest.
    const first = await readOver(streams, 30, { wide: true });
    expect(first.ids).toEqual(merged.ids);
    expect(first.stats.requests).toBe(2);

    const again = await readOver(streams, 30, { wide: true });
    expect(again.ids).toEqual(merged.ids);
    expect(again.stats.requests).toBe(1);
    // 31 needed ÷ a share of ~0.95, plus the account's own value events, the newest of the all-events range.
    expect(again.stats.items).toBeLessThanOrEqual(34 + ACCOUNT_VALUES);
    expect(again.stats.capacity).toBeLessThanOrEqual(merged.stats.capacity);
  });

  it('a share learnt high that no longer holds: the merge takes over after one page', async () => {
    forgetReadShares();
    const streams = ['m1', 'm2', 'm3', 'm4'];
    await readOver(streams, 30, { wide: true }); // learns ~0.95 from the newer events
    // The older events hold none of these streams' events: the page sized for 0.95 keeps none.
    const range = { from: 0, to: 5000 };
    const merged = await readOver(streams, 30, { wide: false, range });
    const read = await readOver(streams, 30, { wide: true, range });
    expect(read.ids).toEqual(merged.ids);
    expect(read.ids).toEqual([]);
    expect(read.stats.items).toBeLessThanOrEqual(34 + ACCOUNT_VALUES + merged.stats.items);
    expect(read.stats.requests).toBe(1 + merged.stats.requests);
  });

  it('streams holding few events: the merge takes over after one small page, and is read directly next time', async () => {
    forgetReadShares();
    const streams = ['few1', 'few2'];
    const range = { from: 0, to: 5000 }; // the older events: 40 of 340 in these streams
    const merged = await readOver(streams, 30, { wide: false, range });
    expect(merged.ids).toHaveLength(30);

    const first = await readOver(streams, 30, { wide: true, range });
    expect(first.ids).toEqual(merged.ids);
    // The all-events page (20 events, ~2 kept), then the merge of the two streams from where
    // it ended (re-reading the events of its last time: at most a small refill per stream).
    expect(first.stats.items).toBeLessThanOrEqual(merged.stats.items + 20 + 2 * 5);
    expect(first.stats.requests).toBeLessThanOrEqual(merged.stats.requests + 1 + 2);

    // The merge directly, each stream's first page sized to its part of the last answer.
    const again = await readOver(streams, 30, { wide: true, range });
    expect(again.ids).toEqual(merged.ids);
    expect(again.stats.requests).toBeLessThanOrEqual(merged.stats.requests);
    expect(again.stats.capacity).toBeLessThanOrEqual(merged.stats.capacity);
  });

  it("a merge sizes each first page to the stream's part of its last answer: no refill the second time", async () => {
    forgetReadShares();
    // Newest 30 over m1 (its 20 events are among the newest) and `rest` (4 new, 300 older).
    const streams = ['m1', 'rest'];
    const first = await readOver(streams, 30, { wide: false });
    expect(first.ids).toHaveLength(30);
    expect(first.stats.requests).toBeGreaterThan(2); // even first pages (16 each): m1 needs a refill

    const second = await readOver(streams, 30, { wide: false });
    expect(second.ids).toEqual(first.ids);
    expect(second.stats.requests).toBe(2); // one page per stream
    expect(second.stats.capacity).toBeLessThanOrEqual(first.stats.capacity);
    // Items read: the answer, plus the plan's margin (a quarter, and one) on each stream's part.
    expect(second.stats.items).toBeLessThanOrEqual(Math.ceil(30 * 1.25) + 2 * 1);

    // Another answer size scales the plan: no refill either.
    const smaller = await readOver(streams, 15, { wide: false });
    expect(smaller.ids).toEqual(first.ids.slice(0, 15));
    expect(smaller.stats.requests).toBe(2);
  });

  it('the merge taking over at a time several events share misses none of them and repeats none', async () => {
    forgetReadShares();
    const streams = ['few1', 'few2'];
    const range = { from: 0, to: 5000 };
    const all = await readOver(streams, 1000, { wide: false, range, ascending: true });
    expect(all.ids).toHaveLength(40);
    // Oldest first: the all-events page (20 events, up to time 1003) ends among events of one
    // time; the merge resumes at that time.
    const first = await readOver(streams, 30, { wide: true, range, ascending: true });
    expect(first.ids).toEqual(all.ids.slice(0, 30));
    expect(first.stats.requests).toBeGreaterThanOrEqual(3); // the page, then the merge of both streams
  });
});
