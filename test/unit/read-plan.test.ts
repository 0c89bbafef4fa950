import { describe, expect, it } from 'vitest';
import { wideIsCheaper } from '../../shared/store/events/time-merge';

/**
 * The read-unit model that picks, for a read over k streams, between merging their ranges
 * and reading the all-events range filtered in memory (shared/store/events/time-merge.ts).
 */
describe('merge or all-events range: read units', () => {
  const bytes = 280; // an index copy of the bench's events

  it('a large answer over streams holding a small share of the events: the merge', () => {
    // 100 events at 15 %: ~670 items (46 units) against 10 first pages (10 units).
    expect(wideIsCheaper(0.15, 100, 10, bytes)).toBe(false);
  });

  it('streams holding most of the events: the all-events range', () => {
    expect(wideIsCheaper(0.9, 100, 10, bytes)).toBe(true);
    expect(wideIsCheaper(0.7, 100, 10, bytes)).toBe(true);
  });

  it('a small answer: the all-events range even at a small share, each merged range costing a unit', () => {
    // 20 events at 15 %: ~140 items (10 units) against 10 first pages of 5 (10 units).
    expect(wideIsCheaper(0.15, 20, 10, bytes)).toBe(true);
    expect(wideIsCheaper(0.05, 20, 10, bytes)).toBe(false);
  });

  it('no event kept so far: the merge', () => {
    expect(wideIsCheaper(0, 20, 2, bytes)).toBe(false);
  });
});
