import { describe, expect, it } from 'vitest';
import { PryvError } from '../../shared/errors';
import { checkParamsNumbers, checkParamsShape, LIMITS } from '../../shared/limits';
import { keys, objectKeys } from '../../shared/store/keys';

const nested = (levels: number): unknown => {
  let v: unknown = {};
  for (let i = 1; i < levels; i++) v = { a: v };
  return v;
};
const refusal = (fn: () => void): { id: string; status: number; path?: string; message: string } => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PryvError);
    const e = err as PryvError;
    return { id: e.id, status: e.status, path: (e.data as Array<{ path: string }> | undefined)?.[0]?.path, message: e.message };
  }
  throw new Error('not refused');
};

describe('params limits (shared/limits.ts)', () => {
  it('names the exact place of a refused value inside arrays and objects (paths are built only for the refusal)', () => {
    const points = Array.from({ length: 50 }, (_, i) => [i, i / 3]);
    const deepNumber = { id: 'h', body: { fields: ['deltaTime', 'value'], points: points.map((p, i) => (i === 37 ? [p[0], 1e200] : p)) } };
    expect(refusal(() => checkParamsNumbers(deepNumber)).path).toBe('#/body/points/37/1');
    const reserved = {
      id: 'h',
      body: {
        points: [
          [0, { ok: 1 }],
          [1, { ['__proto__']: 2, 'a/b~c': { constructor: 3 } }],
        ],
      },
    };
    expect(refusal(() => checkParamsShape(JSON.parse(JSON.stringify(reserved).replace('"__proto__":2,', '')))).path).toBe(
      '#/body/points/1/1/a~1b~0c/constructor',
    );
    const big = { small: 'x', body: { points: Array.from({ length: 40_000 }, (_, i) => [i, 'abcdefgh']) } };
    const tooLarge = refusal(() => checkParamsShape(big));
    expect(tooLarge.path).toBe('#/body');
    expect(tooLarge.message).toMatch(/^"body" is too large/);
    // Keys count their bytes + 3, strings theirs + 2, other scalars 8: 11 + 7 + 9 + 40,000 × (8 + 10).
    expect(tooLarge.message).toContain('about 720027 bytes');
    expect(() => checkParamsShape([{ a: 1 }, [2, 3]])).not.toThrow();
  });

  it('depth: exactly the limit passes, one more level is refused naming the path; 100,000 levels cost no stack', () => {
    expect(() => checkParamsShape(nested(LIMITS.depth))).not.toThrow();
    expect(refusal(() => checkParamsShape(nested(LIMITS.depth + 1)))).toMatchObject({ id: 'invalid-parameters-format', status: 400 });
    expect(refusal(() => checkParamsShape({ clientData: nested(100_000) })).path).toMatch(/^#\/clientData\/a\/a/);
    // Arrays of scalars (sized without a walk entry each) are held to the same depth.
    const arrays = (levels: number): unknown => {
      let v: unknown = [1, 'x'];
      for (let i = 1; i < levels; i++) v = [0, v];
      return v;
    };
    expect(() => checkParamsShape(arrays(LIMITS.depth))).not.toThrow();
    expect(refusal(() => checkParamsShape(arrays(LIMITS.depth + 1))).message).toMatch(/nests more than 24 levels/);
  });

  it('reserved property names are refused at any depth (own `__proto__` keys as JSON.parse makes them)', () => {
    for (const text of ['{"__proto__":{"x":1}}', '{"a":[{"constructor":{}}]}', '{"a":{"prototype":1}}', '{"":1}']) {
      expect(refusal(() => checkParamsShape(JSON.parse(text))).id).toBe('invalid-parameters-format');
    }
    expect(() => checkParamsShape({ hasOwnProperty: 1, toString: 'x', 'a.b': 2 })).not.toThrow();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('size: params over the limit are refused naming the largest top-level field', () => {
    const r = refusal(() => checkParamsShape({ name: 'n', content: 'x'.repeat(LIMITS.paramsBytes) }));
    expect(r.path).toBe('#/content');
    expect(r.message).toContain('"content" is too large');
    expect(() => checkParamsShape({ content: 'x'.repeat(LIMITS.paramsBytes - 1000) })).not.toThrow();
  });

  it('numbers outside DynamoDB range are refused naming the field; time bounds are clamped instead', () => {
    for (const n of [Infinity, -Infinity, NaN, 1e126, -1e200, 1e-131, 5e-324]) {
      expect(refusal(() => checkParamsNumbers({ content: { v: [n] } })).path).toBe('#/content/v/0');
    }
    // biome-ignore lint/correctness/noPrecisionLoss: a 30-digit number, as clients send it, is storable (rounded)
    for (const n of [0, -0, 9.99e125, -9.99e125, 1e-130, 123456789012345678901234567890])
      expect(() => checkParamsNumbers({ content: n })).not.toThrow();
    const q: Record<string, unknown> = {
      fromTime: -1.7976931348623157e308,
      toTime: Infinity,
      modifiedSince: 1e-200,
      includeDeletionsSince: 12,
    };
    checkParamsNumbers(q);
    expect(q).toEqual({ fromTime: -9.99e125, toTime: 9.99e125, modifiedSince: 0, includeDeletionsSince: 12 });
  });

  it('keys: DynamoDB and S3 key sizes are checked as keys are built (bytes, not characters)', () => {
    expect(() => keys.stream('alice', 's'.repeat(1000))).not.toThrow();
    expect(refusal(() => keys.stream('alice', 's'.repeat(1020))).status).toBe(400);
    expect(refusal(() => keys.stream('alice', '\u00e9'.repeat(510))).status).toBe(400); // 1,020 bytes
    expect(refusal(() => keys.eventStream('alice', 'x'.repeat(2100), 'a')).status).toBe(400);
    expect(refusal(() => objectKeys.file('alice', 'e', 'f'.repeat(1100))).status).toBe(400);
    expect(keys.accessPrefix).toBe('ACCESS#');
  });
});
