import { describe, expect, it } from 'vitest';
import { jsonResponse, jsonTextResponse } from '../../shared/http/envelope';

/** A body the method serialized itself is answered exactly as the same body returned as an object. */
describe('jsonTextResponse', () => {
  const strip = (body: string | undefined) => {
    const parsed = JSON.parse(body ?? '') as { meta: { serverTime: number } };
    expect(parsed.meta).toEqual(expect.objectContaining({ apiVersion: expect.any(String), serverTime: expect.any(Number) }));
    return { ...parsed, meta: { ...parsed.meta, serverTime: 0 } };
  };

  it('adds meta as jsonResponse does, to a filled object and to an empty one', () => {
    for (const body of [{ format: 'flatJSON', fields: ['deltaTime', 'value'], points: [[0, 1.5]] }, {}]) {
      const text = jsonTextResponse(200, JSON.stringify(body), { 'X-A': 'b' });
      const object = jsonResponse(200, body, { 'X-A': 'b' });
      expect(text.headers).toEqual(object.headers);
      expect(strip(text.body as string)).toEqual(strip(object.body as string));
    }
  });

  it('refuses what is not a JSON object', () => {
    expect(() => jsonTextResponse(200, '[1,2]')).toThrow(/not a JSON object/);
  });
});
