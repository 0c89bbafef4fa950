import type { ValidateFunction } from 'ajv';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { newContext } from '../../shared/api/execute';
import { provideParamsValidators } from '../../shared/api/params-validators';
import { callBatch } from '../../shared/api/registry';
import { defineMethod } from '../../shared/api/types';
import { httpHandler } from '../../shared/http/handler';

/**
 * A call that runs out of Lambda time answers a Pryv error, never a 500. Nothing here races
 * the wall clock: the slow method waits until the test lets it go, and the tests get a
 * timeout far above what the cold code paths (schema compilation, first imports) take on a
 * loaded machine, so a slow machine only makes them slower, never wrong.
 */
const CPU_BOUND_TEST_TIMEOUT_MS = 60_000;

const event = (method: string, path: string): APIGatewayProxyEventV2 =>
  ({
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    requestContext: {
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'r',
      timeEpoch: Date.now(),
    },
  }) as unknown as APIGatewayProxyEventV2;

/** A Lambda context that always has `remainingMs` left: the early timeout fires that long after the handler starts. */
const contextWith = (remainingMs: number): Context =>
  ({ getRemainingTimeInMillis: () => remainingMs, awsRequestId: 'r' }) as unknown as Context;

describe('running out of time', () => {
  it('a method still running at the Lambda deadline answers 503 api-unavailable, not 500', {
    timeout: CPU_BOUND_TEST_TIMEOUT_MS,
  }, async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const slow = defineMethod({
      id: 'test.slow',
      routes: [{ verb: 'GET', path: '/slow' }],
      auth: 'none',
      params: { type: 'object' },
      run: async () => {
        await released; // still running when the deadline comes, however slow the machine
        return { done: true };
      },
    });
    // A method of this test only: no build generated its validators (its schema accepts any object).
    const anyObject = ((params: unknown) => typeof params === 'object' && params !== null) as ValidateFunction;
    provideParamsValidators(slow.id, { strict: anyObject, coercing: anyObject });
    const res = (await httpHandler(slow)(event('GET', '/slow'), contextWith(100))) as {
      statusCode: number;
      body: string;
      headers: Record<string, string>;
    };
    release();
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body).error.id).toBe('api-unavailable');
    expect(res.headers['Retry-After']).toBe('1');
  });

  it('callBatch stops starting calls past its deadline and reports them as not run', { timeout: CPU_BOUND_TEST_TIMEOUT_MS }, async () => {
    const ctx = newContext('callBatch', {
      transport: 'http',
      verb: 'POST',
      path: '/u',
      headers: {},
      query: {},
      body: [],
      pathParams: { username: 'u' },
    });
    ctx.deadline = Date.now() - 1;
    const out = await callBatch.run(ctx, [
      { method: 'events.create', params: { streamIds: ['s'], type: 'note/txt', content: 'x' } },
      { method: 'streams.get', params: {} },
    ]);
    const results = out.results as Array<{ error?: { id: string; message: string } }>;
    expect(results.map((r) => r.error?.id)).toEqual(['api-unavailable', 'api-unavailable']);
    expect(results[0]!.error!.message).toMatch(/Not run/);
  });
});
