import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { SeriesRows } from '../../shared/model/series';
import { addMark, foldRows, mergeRows, SETTLED_AFTER_MS, unsettledFrom } from '../../shared/store/series/chunks';
import { decodeChunk, encodeChunk } from '../../shared/store/series/codec';

/** Readings with two decimals in [0, 100), as the reference tool writes them (a seeded generator: the same each run). */
function readings(n: number, seed: number): number[] {
  return Array.from({ length: n }, () => {
    seed = (seed * 48271) % 2147483647;
    return +((seed / 2147483647) * 100).toFixed(2);
  });
}

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

  it('regular times with few decimals take about a byte a point before deflate, so a steady series is a few bytes per hundred points', () => {
    const n = 1000;
    for (const deltaTimes of [
      Array.from({ length: n }, (_, i) => 1_780_000_000 + i), // epoch seconds, as the reference tool writes
      Array.from({ length: n }, (_, i) => (5000 + i) / 100), // 100 Hz in hundredths
    ]) {
      const rows = { deltaTimes, columns: { value: Array.from({ length: n }, () => 60) } };
      expect(encodeChunk(rows).byteLength).toBeLessThan(100);
      const back = decodeChunk(encodeChunk(rows));
      expect(back).toEqual(rows);
      for (const [i, t] of back.deltaTimes.entries()) expect(Object.is(t, deltaTimes[i])).toBe(true);
    }
    // Times that are not few-decimal numbers stay float64 XORs, bit for bit.
    const odd = { deltaTimes: [-0, 0.1 + 0.2, 1e300, 1e301], columns: {} };
    const back = decodeChunk(encodeChunk(odd));
    expect(back).toEqual(odd);
    expect(Object.is(back.deltaTimes[0], -0)).toBe(true);
  });

  it('an evenly spaced column (regular times, a constant value) takes a few bytes whatever its length, bit for bit', () => {
    const n = 1000;
    const seconds = Array.from({ length: n }, (_, i) => 1_780_000_000 + i);
    const random = readings(n, 11);
    // Before deflate: the header and the values' varints (about 2 bytes each); the times column next to nothing.
    const raw = inflateRawSync(encodeChunk({ deltaTimes: seconds, columns: { value: random } }));
    const valuesAlone = inflateRawSync(encodeChunk({ deltaTimes: [0], columns: { value: random } })).length;
    expect(raw.length - valuesAlone).toBeLessThan(20);
    for (const column of [
      seconds,
      Array.from({ length: n }, (_, i) => (5000 + i) / 100), // 100 Hz in hundredths
      Array.from({ length: n }, (_, i) => 10 - i * 0.25), // descending
      Array.from({ length: n }, () => 72.5), // constant
      Array.from({ length: n }, (_, i) => 2 ** 49 - i * 1000),
      [5, 7, 9],
      [5, 7], // two values: as differences
      [3, 3, 3, 4], // the last step differs
    ]) {
      const rows = { deltaTimes: column.map((_, i) => i), columns: { value: column } };
      const back = decodeChunk(encodeChunk(rows));
      expect(back).toEqual(rows);
      for (const [i, v] of back.columns.value!.entries()) expect(Object.is(v, column[i]), `${column[i]}`).toBe(true);
    }
  });

  it('bytes deflate would not shrink (random readings) go as stored deflate blocks: any inflater reads them, smaller data is still deflated', () => {
    const n = 1000;
    const tool = { deltaTimes: Array.from({ length: n }, (_, i) => 1_780_000_000 + i), columns: { value: readings(n, 5) } };
    const stored = encodeChunk(tool);
    expect(stored[0]! & 7).toBe(1); // BFINAL, BTYPE 00: one final stored block
    const raw = inflateRawSync(stored);
    expect(stored.byteLength).toBe(raw.length + 5);
    expect(deflateRawSync(raw, { level: 1 }).byteLength).toBeGreaterThan(raw.length * 0.95); // what deflating would have saved
    expect(decodeChunk(stored)).toEqual(tool);
    // Readings that repeat: deflated, and far smaller.
    const steady = { deltaTimes: tool.deltaTimes, columns: { value: tool.deltaTimes.map((_, i) => 60 + (i % 3)) } };
    const deflated = encodeChunk(steady);
    expect(deflated[0]! & 6).not.toBe(0); // a Huffman block
    expect(deflated.byteLength).toBeLessThan(inflateRawSync(deflated).length / 2);
    expect(decodeChunk(deflated)).toEqual(steady);
    // More than a stored block holds (64 KB): several blocks, the last one final.
    const large = { deltaTimes: Array.from({ length: 40_000 }, (_, i) => i), columns: { value: readings(40_000, 9) } };
    const blocks = encodeChunk(large);
    expect(blocks[0]! & 7).toBe(0);
    expect(decodeChunk(blocks)).toEqual(large);
    // A stored block that is not the last one, written by hand: read by inflating.
    const half = Math.floor(raw.length / 2);
    const block = (bytes: Buffer, final: boolean) => {
      const head = Buffer.alloc(5);
      head[0] = final ? 1 : 0;
      head.writeUInt16LE(bytes.length, 1);
      head.writeUInt16LE(bytes.length ^ 0xffff, 3);
      return Buffer.concat([head, bytes]);
    };
    expect(decodeChunk(Buffer.concat([block(raw.subarray(0, half), false), block(raw.subarray(half), true)]))).toEqual(tool);
  });

  it('reads chunks stored in the first encoding (deltaTime column always float64 XORs)', () => {
    // Version 1, written by hand: 2 rows, 2 columns (numbers as XORs, then JSON values).
    const raw = Buffer.alloc(100);
    let o = raw.writeUInt8(1, 0);
    o = raw.writeUInt32BE(2, o);
    o = raw.writeUInt16BE(2, o);
    const xor = (a: number, b: number) => {
      const x = Buffer.alloc(8);
      x.writeDoubleBE(a);
      const y = Buffer.alloc(8);
      y.writeDoubleBE(b);
      return Buffer.from([...y].map((byte, i) => byte ^ x[i]!));
    };
    o += Buffer.alloc(8).fill(0).copy(raw, o);
    raw.writeDoubleBE(1.5, o - 8);
    o += xor(1.5, 2.75).copy(raw, o);
    o = raw.writeUInt16BE(1, o);
    o += raw.write('v', o);
    o = raw.writeUInt8(0, o);
    raw.writeDoubleBE(-3, o);
    o += 8;
    o += xor(-3, 0.1 + 0.2).copy(raw, o);
    o = raw.writeUInt16BE(4, o);
    o += raw.write('note', o);
    o = raw.writeUInt8(1, o);
    o = raw.writeUInt32BE('["a",null]'.length, o);
    o += raw.write('["a",null]', o);
    expect(decodeChunk(deflateRawSync(raw.subarray(0, o)))).toEqual({
      deltaTimes: [1.5, 2.75],
      columns: { v: [-3, 0.1 + 0.2], note: ['a', null] },
    });
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
    // All added rows after (or before) the stored ones: the same rows as a row-by-row merge.
    expect(mergeRows({ deltaTimes: [0, 2], columns: { a: [1, undefined] } }, { deltaTimes: [3], columns: { b: ['x'] } })).toEqual({
      deltaTimes: [0, 2, 3],
      columns: { a: [1, null, null], b: [null, null, 'x'] },
    });
    expect(mergeRows({ deltaTimes: [5, 6], columns: { a: [1, 2] } }, { deltaTimes: [3], columns: { b: ['x'] } })).toEqual({
      deltaTimes: [3, 5, 6],
      columns: { a: [null, 1, 2], b: ['x', null, null] },
    });
    expect(mergeRows({ deltaTimes: [], columns: {} }, { deltaTimes: [1], columns: { a: [7] } })).toEqual({
      deltaTimes: [1],
      columns: { a: [7] },
    });
  });
});

describe('foldRows', () => {
  const rows = (times: number[], tag: string): SeriesRows => ({ deltaTimes: times, columns: { v: times.map((t) => `${tag}${t}`) } });
  const pairwise = (writes: SeriesRows[]) => writes.reduce((a, b) => mergeRows(a, b));

  it('applies writes in order: a later row replaces an earlier one at the same time, whatever their ranges', () => {
    const overlapping = [rows([5, 6, 7], 'a'), rows([1, 2, 6], 'b'), rows([6, 9], 'c')];
    expect(foldRows(overlapping)).toEqual({ deltaTimes: [1, 2, 5, 6, 7, 9], columns: { v: ['b1', 'b2', 'a5', 'c6', 'a7', 'c9'] } });
    expect(foldRows(overlapping)).toEqual(pairwise(overlapping));
    // Ranges that only touch at one time are not disjoint: the later write wins there.
    expect(foldRows([rows([1, 2], 'a'), rows([2, 3], 'b')]).columns.v).toEqual(['a1', 'b2', 'b3']);
    expect(foldRows([rows([2, 3], 'a'), rows([1, 2], 'b')]).columns.v).toEqual(['b1', 'b2', 'a3']);
  });

  it('disjoint writes in any order come out in time order, columns missing from some filled with null', () => {
    const writes: SeriesRows[] = [
      rows([10, 11], 'a'),
      { deltaTimes: [0, 1], columns: { w: [true, false] } },
      rows([5], 'c'),
      rows([], 'd'),
    ];
    const folded = foldRows(writes);
    expect(folded).toEqual({
      deltaTimes: [0, 1, 5, 10, 11],
      columns: { v: [null, null, 'c5', 'a10', 'a11'], w: [true, false, null, null, null] },
    });
    expect(folded).toEqual(pairwise(writes));
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
