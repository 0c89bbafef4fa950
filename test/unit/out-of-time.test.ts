import { describe, expect, it } from 'vitest';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { httpHandler } from '../../shared/http/handler';
import { defineMethod } from '../../shared/api/types';
import { newContext } from '../../shared/api/execute';
import { callBatch } from '../../shared/api/registry';

/** A call that runs out of Lambda time answers a Pryv error, never a 500. */

const event = (method: string, path: string): APIGatewayProxyEventV2 =>
  ({
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    requestContext: { http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' }, requestId: 'r', timeEpoch: Date.now() },
  }) as unknown as APIGatewayProxyEventV2;

const contextWith = (remainingMs: number): Context => {
  const deadline = Date.now() + remainingMs;
  return { getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()), awsRequestId: 'r' } as unknown as Context;
};

describe('running out of time', () => {
  it('a method still running at the Lambda deadline answers 503 api-unavailable, not 500', async () => {
    const slow = defineMethod({
      id: 'test.slow',
      routes: [{ verb: 'GET', path: '/slow' }],
      auth: 'none',
      params: { type: 'object' },
      run: async () => {
        await new Promise((r) => setTimeout(r, 500));
        return { done: true };
      },
    });
    const res = (await httpHandler(slow)(event('GET', '/slow'), contextWith(100))) as { statusCode: number; body: string };
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body).error.id).toBe('api-unavailable');
  });

  it('callBatch stops starting calls past its deadline and reports them as not run', async () => {
    const ctx = newContext('callBatch', { transport: 'http', verb: 'POST', path: '/u', headers: {}, query: {}, body: [], pathParams: { username: 'u' } });
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
