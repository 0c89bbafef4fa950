import { describe, expect, it } from 'vitest';
import { decodeNumber, encodeNumber, keyBounds, orderedKey } from '../../shared/store/sort-keys';

describe('order-preserving number keys', () => {
  const values = [
    -Infinity,
    -Number.MAX_VALUE,
    -1e9,
    -1.5,
    -1,
    -1e-9,
    0,
    1e-9,
    0.5,
    1,
    1.5,
    1700000000.123,
    1e12,
    Number.MAX_VALUE,
    Infinity,
  ];

  it('sort like the numbers they encode', () => {
    const shuffled = [...values].sort(() => Math.random() - 0.5);
    const byKey = shuffled.map((v) => [encodeNumber(v), v] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    expect(byKey.map(([, v]) => v)).toEqual(values);
  });

  it('round-trip exactly', () => {
    for (const v of values) expect(decodeNumber(encodeNumber(v))).toBe(v);
    expect(decodeNumber(encodeNumber(-0))).toBe(0);
    for (let i = 0; i < 1000; i++) {
      const v = (Math.random() - 0.5) * 10 ** Math.floor(Math.random() * 20);
      expect(decodeNumber(encodeNumber(v))).toBe(v);
    }
  });

  it('bounds include exactly the keys in range', () => {
    const [lo, hi] = keyBounds(10, 20);
    const inside = [10, 15, 20].map((t) => orderedKey(t, 'czzzzzzzzzzzzzzzzzzzzzzzz'));
    const outside = [9.999, 20.0001].map((t) => orderedKey(t, 'c0000'));
    for (const k of inside) expect(k >= lo && k <= hi).toBe(true);
    for (const k of outside) expect(k >= lo && k <= hi).toBe(false);
  });
});
