import { describe, expect, it } from 'vitest';
import { flatJsonText } from '../../shared/domain/series/points';
import type { SeriesContent, SeriesRows } from '../../shared/model/series';

/** A read's answer written block by block is the very text of the answer serialized whole, with its size in bytes. */

const single: SeriesContent = { elementType: 'mass/kg', fields: ['deltaTime', 'value'], required: ['deltaTime', 'value'] };
const object: SeriesContent = { elementType: 'x/y', fields: ['deltaTime', 'a', 'b'], required: ['deltaTime', 'a'] };

/** The reference: the whole answer as one object, each point a row of the holder's fields (a missing column is null). */
const flatJsonOf = (content: SeriesContent, rows: SeriesRows) => ({
  format: 'flatJSON',
  fields: content.fields,
  points: rows.deltaTimes.map((t, i) => [t, ...content.fields.filter((f) => f !== 'deltaTime').map((f) => rows.columns[f]?.[i] ?? null)]),
});

const concat = (blocks: SeriesRows[], names: string[]): SeriesRows => ({
  deltaTimes: blocks.flatMap((b) => b.deltaTimes),
  columns: Object.fromEntries(names.map((n) => [n, blocks.flatMap((b) => b.columns[n] ?? b.deltaTimes.map(() => null))])),
});

describe('flatJsonText', () => {
  it('numbers over several blocks (empty ones skipped): the same text as JSON.stringify of the whole answer', () => {
    const blocks: SeriesRows[] = [
      { deltaTimes: [0, 0.01, 0.02], columns: { value: [60.25, -1e-7, 3] } },
      { deltaTimes: [], columns: { value: [] } },
      { deltaTimes: [1.5, 2.000000000000001], columns: { value: [0.1 + 0.2, 1e21] } },
    ];
    const { json, bytes } = flatJsonText(single, blocks);
    expect(json).toBe(JSON.stringify(flatJsonOf(single, concat(blocks, ['value']))));
    expect(bytes).toBe(Buffer.byteLength(json));
  });

  it('strings (not ASCII), booleans, nulls and a missing column: the same text, its size in UTF-8 bytes', () => {
    const blocks: SeriesRows[] = [
      { deltaTimes: [1, 2], columns: { a: ['é€"\\', true], b: [null, 'x'] } },
      { deltaTimes: [3], columns: { a: [{ k: 'ü' }] } },
    ];
    const { json, bytes } = flatJsonText(object, blocks);
    expect(json).toBe(JSON.stringify(flatJsonOf(object, concat(blocks, ['a', 'b']))));
    expect(bytes).toBe(Buffer.byteLength(json));
    expect(bytes).toBeGreaterThan(json.length);
  });

  it('no block: no point', () => {
    const { json, bytes } = flatJsonText(single, []);
    expect(JSON.parse(json)).toEqual({ format: 'flatJSON', fields: ['deltaTime', 'value'], points: [] });
    expect(bytes).toBe(Buffer.byteLength(json));
  });
});
