import { describe, expect, it } from 'vitest';
import { addMark, mergeRows, SETTLED_AFTER_MS, unsettledFrom } from '../../shared/store/series/chunks';
import { decodeChunk, encodeChunk } from '../../shared/store/series/codec';

describe('series chunk encoding', () => {
  it('decodes bit for bit what it encoded: numbers of any kind, and non-numeric columns as JSON', () => {
    const deltaTimes = [-1e300, -2.5, 0, 1e-9, 0.1 + 0.2, 1, 2 ** 53, 1e308];
    const rows = {
      deltaTimes,
      columns: {
        value: [Number.MIN_VALUE, -0.1, 0, 3.25, Number.MAX_SAFE_INTEGER, -1e-300, 42, 7],
        note: ['a', null, 'é∑', '', 'x', true, { nested: [1] }, 'z'],
      },
    };
    const back = decodeChunk(encodeChunk(rows));
    expect(back).toEqual(rows);
    expect(Object.is(decodeChunk(encodeChunk({ deltaTimes: [0], columns: { v: [-0] } })).columns.v![0], -0)).toBe(true);
  });

  it('regular times and steady values shrink far below 16 bytes a point', () => {
    const n = 1000;
    const rows = {
      deltaTimes: Array.from({ length: n }, (_, i) => i * 0.004),
      columns: { value: Array.from({ length: n }, (_, i) => 60 + (i % 3)) },
    };
    const bytes = encodeChunk(rows).byteLength;
    expect(bytes).toBeLessThan(n * 4);
    expect(decodeChunk(encodeChunk(rows))).toEqual(rows);
  });

  it('an empty chunk round-trips', () => {
    expect(decodeChunk(encodeChunk({ deltaTimes: [], columns: {} }))).toEqual({ deltaTimes: [], columns: {} });
  });
});

describe('mergeRows', () => {
  it('keeps times ascending, the added row replacing a stored one at the same time, missing columns null', () => {
    const merged = mergeRows(
      { deltaTimes: [0, 2, 4], columns: { a: [1, 2, 3] } },
      { deltaTimes: [1, 2, 5], columns: { a: [10, 20, 50], b: ['x', 'y', 'z'] } },
    );
    expect(merged).toEqual({
      deltaTimes: [0, 1, 2, 4, 5],
      columns: { a: [1, 10, 20, 3, 50], b: [null, 'x', 'y', null, 'z'] },
    });
  });
});

describe('recent write marks', () => {
  it('keep the writes within the bound, one per second (latest time, lowest key), and name the lowest unsettled key', () => {
    const t = 1_000_000_000;
    let marks = addMark([], t - SETTLED_AFTER_MS - 1, '0a');
    marks = addMark(marks, t, '0c');
    expect(marks).toEqual([[t, '0c']]); // the first one had settled
    marks = addMark(marks, t + 300, '0b');
    marks = addMark(marks, t + 1500, '0d');
    expect(marks).toEqual([
      [t + 300, '0b'],
      [t + 1500, '0d'],
    ]);
    expect(unsettledFrom(marks, t + 2000)).toBe('0b');
    expect(unsettledFrom(marks, t + 300 + SETTLED_AFTER_MS)).toBe('0d');
    expect(unsettledFrom(marks, t + 1500 + SETTLED_AFTER_MS)).toBeUndefined();
  });
});
