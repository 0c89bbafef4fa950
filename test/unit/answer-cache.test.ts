import { describe, expect, it } from 'vitest';
import { AnswerCache, type AnswerWindow, answerKey, touchesAnswer } from '../../shared/domain/events/answer-cache';
import type { StoredEvent } from '../../shared/model/events';

/**
 * The rule deciding whether a kept `events.get` answer still holds given the changes found
 * after it was read (shared/domain/events/answer-cache.ts), and what may be kept at all.
 */

const ev = (id: string, time: number, streamIds = ['a']): StoredEvent =>
  ({ id, time, streamIds, type: 'note/txt', content: id, created: 1, createdBy: 'x', modified: 2, modifiedBy: 'x' }) as StoredEvent;

/** Newest first, stream `a` only, as events.get sorts by default. */
const newestFirst = (a: StoredEvent, b: StoredEvent) => b.time - a.time || (a.id < b.id ? 1 : -1);
const inA = (e: StoredEvent) => e.streamIds.includes('a');

function window(placed: StoredEvent[], full: boolean, extra: Partial<AnswerWindow> = {}): AnswerWindow {
  return {
    accept: inA,
    compare: newestFirst,
    ids: new Map(placed.map((e) => [e.id, e.modified])),
    last: full ? placed[placed.length - 1] : undefined,
    listsDeletions: false,
    ...extra,
  };
}

const none = { events: [], deletions: [] };

describe('touchesAnswer', () => {
  // An answer of 3 events (times 30, 20, 10) that stopped at its limit.
  const placed = [ev('e30', 30), ev('e20', 20), ev('e10', 10)];
  const full = window(placed, true);

  it('no change, or changes to events the read neither placed nor accepts: the answer holds', () => {
    expect(touchesAnswer(none, full)).toBe(false);
    expect(touchesAnswer({ events: [ev('other', 25, ['b'])], deletions: [] }, full)).toBe(false);
    expect(touchesAnswer({ events: [], deletions: [{ id: 'gone', deleted: 3 }] }, full)).toBe(false);
  });

  it('a new version of a placed event touches it, even one the read would no longer accept', () => {
    const next = (e: StoredEvent) => ({ ...e, modified: 3 });
    expect(touchesAnswer({ events: [next(ev('e20', 20))], deletions: [] }, full)).toBe(true);
    expect(touchesAnswer({ events: [next(ev('e20', 20, ['b']))], deletions: [] }, full)).toBe(true);
  });

  it('the very version a placed event has in the answer (same modified) is no change', () => {
    expect(touchesAnswer({ events: [ev('e20', 20)], deletions: [] }, full)).toBe(false);
  });

  it('a deletion of a placed event touches it', () => {
    expect(touchesAnswer({ events: [], deletions: [{ id: 'e10', deleted: 3 }] }, full)).toBe(true);
  });

  it('an accepted event sorting inside a full answer touches it; one sorting after its last does not', () => {
    expect(touchesAnswer({ events: [ev('new', 15)], deletions: [] }, full)).toBe(true);
    expect(touchesAnswer({ events: [ev('new', 40)], deletions: [] }, full)).toBe(true);
    expect(touchesAnswer({ events: [ev('new', 5)], deletions: [] }, full)).toBe(false);
  });

  it('an answer that did not reach its limit is touched by any accepted event', () => {
    expect(touchesAnswer({ events: [ev('new', 5)], deletions: [] }, window(placed, false))).toBe(true);
    expect(touchesAnswer({ events: [ev('new', 5, ['b'])], deletions: [] }, window(placed, false))).toBe(false);
  });

  it('events skipped by `skip` count as placed: changing one shifts the answer', () => {
    // skip 1, limit 2: e30 was passed over, e20 and e10 returned; all three are in the window.
    expect(touchesAnswer({ events: [], deletions: [{ id: 'e30', deleted: 3 }] }, full)).toBe(true);
  });

  it('a read that lists deletions is touched by any deletion', () => {
    const listing = window(placed, true, { listsDeletions: true });
    expect(touchesAnswer({ events: [], deletions: [{ id: 'gone', deleted: 3 }] }, listing)).toBe(true);
  });
});

describe('answerKey', () => {
  const meta = { maxDuration: 0, treeVersion: 'v1' };
  const key = (params: Record<string, unknown>, m: Record<string, unknown> = meta, access = 'acc', perms = 'p') =>
    answerKey('u', { id: access }, { key: perms }, m as never, params);

  it('a bound that moves with "now" (fromTime without toTime) is not kept', () => {
    expect(key({ fromTime: 10 })).toBeUndefined();
    expect(key({ fromTime: 10, toTime: 20 })).toBeDefined();
    expect(key({ toTime: 20 })).toBeDefined();
    expect(key({ limit: 100 })).toBeDefined();
  });

  it('the same parameters in any order give one key; anything the answer depends on gives another', () => {
    const base = key({ limit: 100, streams: ['a', 'b'], fromTime: 1, toTime: 2 });
    expect(key({ toTime: 2, fromTime: 1, streams: ['a', 'b'], limit: 100 })).toBe(base);
    const others = [
      key({ limit: 100, streams: ['b', 'a'], fromTime: 1, toTime: 2 }),
      key({ limit: 100, streams: ['a', 'b'], fromTime: 1, toTime: 2, state: 'all' }),
      key({ limit: 100, streams: ['a', 'b'], fromTime: 1, toTime: 2 }, { ...meta, treeVersion: 'v2' }),
      key({ limit: 100, streams: ['a', 'b'], fromTime: 1, toTime: 2 }, { ...meta, maxDuration: 5 }),
      key({ limit: 100, streams: ['a', 'b'], fromTime: 1, toTime: 2 }, { ...meta, runningFrom: 3 }),
      key({ limit: 100, streams: ['a', 'b'], fromTime: 1, toTime: 2 }, { ...meta, rewritesUntil: 9 }),
      key({ limit: 100, streams: ['a', 'b'], fromTime: 1, toTime: 2 }, meta, 'other-access'),
      key({ limit: 100, streams: ['a', 'b'], fromTime: 1, toTime: 2 }, meta, 'acc', 'other-permissions'),
    ];
    for (const other of others) expect(other).not.toBe(base);
  });
});

describe('AnswerCache bounds', () => {
  const entry = { t0: 1, value: 'x', window: window([], false) };
  it('keeps at most its entries and bytes, least recently used out first', () => {
    const cache = new AnswerCache<string>(2, 100);
    cache.set('a', entry, 10);
    cache.set('b', entry, 10);
    cache.get('a');
    cache.set('c', entry, 10);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    cache.set('d', entry, 95);
    expect(cache.size.bytes).toBeLessThanOrEqual(100);
    expect(cache.size.entries).toBe(1);
  });

  it('a user whose changes overflowed a check skips the check for the margin', () => {
    const cache = new AnswerCache<string>();
    cache.markBusy('u', 100);
    expect(cache.isBusy('u', 101)).toBe(true);
    expect(cache.isBusy('v', 101)).toBe(false);
    expect(cache.isBusy('u', 1000)).toBe(false);
  });
});
