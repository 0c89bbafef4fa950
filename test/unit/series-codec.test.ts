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

  it('values with few decimals are stored as scaled integers, bit for bit, in fewer bytes', () => {
    const n = 1000;
    let seed = 7;
    const random = () => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647;
    };
    const deltaTimes = Array.from({ length: n }, (_, i) => 1_780_000_000 + i);
    const decimals = { deltaTimes, columns: { value: Array.from({ length: n }, () => +(random() * 100).toFixed(2)) } };
    const back = decodeChunk(encodeChunk(decimals));
    expect(back).toEqual(decimals);
    for (const [i, v] of back.columns.value!.entries()) expect(Object.is(v, decimals.columns.value[i])).toBe(true);
    // The same values one bit off each: not decimals any more, stored as float64 XORs.
    const floats = { deltaTimes, columns: { value: decimals.columns.value.map((v) => v + v * Number.EPSILON) } };
    expect(decodeChunk(encodeChunk(floats))).toEqual(floats);
    expect(encodeChunk(decimals).byteLength).toBeLessThan(encodeChunk(floats).byteLength * 0.7);
    expect(encodeChunk(decimals).byteLength).toBeLessThan(n * 2.5);
  });

  it('decimal columns: negatives, large integers, six decimals, and what must fall back (-0, beyond 2^50, seven decimals)', () => {
    const times = (k: number) => Array.from({ length: k }, (_, i) => i);
    for (const value of [
      [-5.5, 3, -1e6, 0, 12.25],
      [2 ** 49, -(2 ** 49), 1, 0, 2 ** 49],
      [0.000001, 1.123456, -3.999999, 0, 1],
      [1, -0, 2, 3, 4],
      [2 ** 51, 1, 2, 3, 4],
      [0.1234567, 1, 2, 3, 4],
      [0.1 + 0.2, 1, 2, 3, 4],
    ]) {
      const rows = { deltaTimes: times(value.length), columns: { value } };
      const back = decodeChunk(encodeChunk(rows));
      for (const [i, v] of back.columns.value!.entries()) expect(Object.is(v, value[i]), `${value[i]}`).toBe(true);
    }
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
