import { beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../shared/model/events';
import { ALL_STREAMS } from '../../shared/store/events/items';
import type { ReadStats } from '../../shared/store/events/read';
import { readByTime } from '../../shared/store/events/time-merge';
import { call, createUser, type TestUser, useRuntimeStore } from '../setup/api';

/**
 * What a time-ordered read costs when its filters keep few of the events it reads (a content
 * query, a rare type): pages grow with the share the filters drop, so a rare match costs a few
 * large reads, not one small read per missing event; when the filters keep everything, exactly
 * what the answer needs is read.
 */

let user: TestUser;
const FILLER = 400;
const NEEDLES = 5;

beforeAll(async () => {
  useRuntimeStore();
  user = await createUser();
  const calls: unknown[] = [{ method: 'streams.create', params: { id: 'hay', name: 'hay' } }];
  // The needles are the oldest events: a newest-first read meets them last.
  for (let i = 0; i < NEEDLES; i++)
    calls.push({ method: 'events.create', params: { streamIds: ['hay'], type: 'note/txt', time: 1000 + i, content: 'needle' } });
  for (let i = 0; i < FILLER; i++)
    calls.push({ method: 'events.create', params: { streamIds: ['hay'], type: 'note/txt', time: 2000 + i, content: 'hay' } });
  // In batches small enough to finish well inside a batch's time limit on a busy machine.
  // On a busy machine a batch may answer 503 (Retry-After) or run out of time before some
  // calls (api-unavailable): those are sent again, as a client would; ids make that safe.
  let pending = calls;
  for (let round = 0; pending.length > 0 && round < 20; round++) {
    const chunk = pending.slice(0, 50);
    const res = await call('POST', `/${user.username}`, { token: user.token, body: chunk });
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
