import { marshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Access } from '../../shared/model/accesses';
import { RUNNING_END, type StoredEvent } from '../../shared/model/events';
import { createAccessItems } from '../../shared/store/accesses';
import { toWire } from '../../shared/store/document';
import { newEventItems } from '../../shared/store/events/items';

/**
 * The table client's marshalling (shared/store/document.ts `toWire`, one walk for the shapes
 * the store writes) against util-dynamodb's `marshall` with the store's options, binary as
 * base64: the same wire JSON, byte for byte, for the items the store really writes and for any
 * value util-dynamodb takes; the same error for what it refuses.
 */

const OPTIONS = { removeUndefinedValues: true, convertClassInstanceToMap: false, allowImpreciseNumbers: true };

/** util-dynamodb's marshall, then bytes as base64 (what the JSON protocol carries). */
function reference(item: Record<string, unknown>): string {
  const base64 = (value: unknown): unknown => {
    if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
    if (Array.isArray(value)) return value.map(base64);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, base64(v)]));
    return value;
  };
  return JSON.stringify(base64(marshall(item, OPTIONS)));
}

const event: StoredEvent = {
  id: 'cmf0abcdefghijklmnopqrstu',
  streamIds: ['diary', 'health'],
  time: 1_765_000_000.123,
  duration: null,
  type: 'mass/kg',
  content: { value: 72.5, nested: [1, 'two', { three: true }, null], empty: {}, none: [] },
  description: null,
  clientData: { app: { v: 2, tags: ['a', 'b'] }, skipped: undefined },
  attachments: [{ id: 'att1', fileName: 'a b.png', type: 'image/png', size: 1234, readToken: 'rt', integrity: 'sha256-x' } as never],
  created: 1_765_000_000.5,
  createdBy: 'cmf0access000000000000000',
  modified: 1_765_000_001,
  modifiedBy: 'cmf0access000000000000000',
  integrity: 'EVENT:0:sha256-abcdefghijklmnopqrstuvwxyz0123456789',
};

const access: Access = {
  id: 'cmf0access000000000000000',
  token: 'cmf0token0000000000000000',
  type: 'shared',
  name: 'reader',
  deviceName: null,
  permissions: [
    { streamId: 'diary', level: 'contribute' },
    { streamId: '*', level: 'read' },
  ] as Access['permissions'],
  expires: 1_800_000_000,
  clientData: { note: 'x' },
  created: 1_765_000_000,
  createdBy: 'system',
  modified: 1_765_000_000,
  modifiedBy: 'system',
  integrity: 'ACCESS:0:sha256-abc',
};

describe('marshalling: the same wire JSON as util-dynamodb', () => {
  it('the items an events.create and an accesses.create write (running and finished events)', () => {
    const items = [
      ...newEventItems('alice', event, { direct: ['diary', 'health'], inherited: ['root'] }),
      ...newEventItems('alice', { ...event, duration: 60, time: -12.5, content: 'text' }, { direct: ['diary'], inherited: [] }),
      ...createAccessItems('alice', access).flatMap((t) =>
        [t.Put?.Item, t.Update?.ExpressionAttributeValues].filter((i) => i !== undefined),
      ),
    ] as Array<Record<string, unknown>>;
    expect(items.length).toBeGreaterThan(6);
    expect(items.some((i) => JSON.stringify(i).includes(String(RUNNING_END)) || Object.values(i).includes(RUNNING_END))).toBe(true);
    for (const item of items) expect(JSON.stringify(toWire(item))).toBe(reference(item));
  });

  it('any value util-dynamodb takes: sets, bytes, big integers, huge and negative zero numbers, undefined and sparse lists', () => {
    const key = fc.string({ minLength: 1 }).filter((k) => k !== '__proto__' && k !== 'constructor' && k !== 'prototype');
    const bytes = fc.uint8Array({ maxLength: 8 });
    const value = fc.letrec((tie) => ({
      leaf: fc.oneof(
        fc.string(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.constantFrom(-0, 9.9e125, 2 ** 53 + 2, -1e-300),
        fc.integer(),
        fc.bigInt(),
        fc.boolean(),
        fc.constant(null),
        fc.constant(undefined),
        bytes,
        bytes.map((b) => Buffer.from(b)),
        fc.uniqueArray(fc.string(), { minLength: 1, maxLength: 3 }).map((a) => new Set(a)),
        fc.uniqueArray(fc.integer(), { minLength: 1, maxLength: 3 }).map((a) => new Set(a)),
        fc.constant(new Set([Uint8Array.from([1, 2]), Uint8Array.from([3])])),
      ),
      node: fc.oneof(
        { depthSize: 'small' },
        tie('leaf'),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.array(tie('node'), { maxLength: 3 }).map((a) => {
          const sparse = [...a];
          sparse.length += 2; // holes
          return sparse;
        }),
        fc.dictionary(key, tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 8 }), (item) => {
        expect(JSON.stringify(toWire(item))).toBe(reference(item));
      }),
      { numRuns: 500 },
    );
  });

  it('what util-dynamodb refuses is refused with its error', () => {
    class Point {
      x = 1;
    }
    for (const bad of [
      { n: Number.NaN },
      { n: Number.POSITIVE_INFINITY },
      { nested: { list: [Number.NEGATIVE_INFINITY] } },
      { instance: new Point() },
      { emptySet: new Set() },
      { ownConstructor: { constructor: 'x' } },
    ]) {
      let expected: unknown;
      try {
        reference(bad);
      } catch (err) {
        expected = err;
      }
      expect(expected).toBeInstanceOf(Error);
      expect(() => toWire(bad)).toThrow((expected as Error).message);
    }
  });
});
