import { createServer } from 'node:net';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { retryOnStale, STALE, staleBackoffMs } from '../../shared/domain/concurrency';
import { PryvError } from '../../shared/errors';
import { errorResponse } from '../../shared/http/handler';
import { isServiceFault } from '../../shared/store/faults';

/** Faults of the services we call are 503s to retry; bugs stay 500s; contention is never the caller's error. */

const meta = { $metadata: {} };

/** A port nothing listens on: taken, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('isServiceFault', () => {
  it('a DynamoDB that does not answer (connection refused, from the real SDK) is a fault', async () => {
    const client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${await closedPort()}`,
      region: 'local',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      maxAttempts: 1,
    });
    const err = await client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(isServiceFault(err)).toBe(true);
    const res = errorResponse(err);
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body as string).error.id).toBe('api-unavailable');
    expect(res.headers?.['Retry-After']).toMatch(/^[1-9]\d*$/);
  });

  it('throttling and service-side errors are faults; transactions cancelled by throttling or conflicts too', () => {
    expect(isServiceFault(new ProvisionedThroughputExceededException({ message: 'slow down', ...meta }))).toBe(true);
    expect(isServiceFault(new RequestLimitExceeded({ message: 'limit', ...meta }))).toBe(true);
    const throttled = new DynamoDBServiceException({ name: 'ThrottlingException', $fault: 'client', ...meta });
    expect(isServiceFault(throttled)).toBe(true);
    const s3Down = Object.assign(new Error('We encountered an internal error'), {
      name: 'InternalError',
      $metadata: { httpStatusCode: 500 },
    });
    expect(isServiceFault(s3Down)).toBe(true);
    const cancelled = (code: string) =>
      new TransactionCanceledException({ message: 'cancelled', CancellationReasons: [{ Code: 'None' }, { Code: code }], ...meta });
    expect(isServiceFault(cancelled('ThrottlingError'))).toBe(true);
    expect(isServiceFault(cancelled('TransactionConflict'))).toBe(true);
    expect(isServiceFault(cancelled('ValidationError'))).toBe(false);
  });

  it("a service whose certificate can't be trusted is unreachable, a fault: expired, another name's, self-signed", () => {
    for (const code of ['CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'DEPTH_ZERO_SELF_SIGNED_CERT']) {
      const err = Object.assign(new Error(`tls: ${code}`), { code });
      expect(isServiceFault(err), code).toBe(true);
      expect(errorResponse(err).statusCode, code).toBe(503);
    }
  });

  it('a request DynamoDB refuses, a failed condition or a plain bug is not a fault: a bug stays 500', () => {
    const refused = new DynamoDBServiceException({ name: 'ValidationException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    expect(isServiceFault(refused)).toBe(false);
    expect(isServiceFault(new ConditionalCheckFailedException({ message: 'no', ...meta }))).toBe(false);
    expect(isServiceFault(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(false);
    const res = errorResponse(new TypeError('bug'));
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body as string).error.id).toBe('unexpected-error');
    expect(res.headers?.['Retry-After']).toBeUndefined();
  });
});

describe('retryOnStale: the one retry rule of optimistic concurrency', () => {
  it('retries a writer that lost until it wins', async () => {
    let rounds = 0;
    const out = await retryOnStale(async () => (++rounds < 4 ? STALE : 'written'), { what: 'event' });
    expect(out).toBe('written');
    expect(rounds).toBe(4);
  });

  it('still contended after its retries: 503 api-unavailable with a retry hint, never a 400', async () => {
    let rounds = 0;
    const err = await retryOnStale(
      async () => {
        rounds++;
        return STALE;
      },
      { what: 'event', maxRetries: 3 },
    ).catch((e: unknown) => e);
    expect(rounds).toBe(4);
    expect(err).toBeInstanceOf(PryvError);
    expect(err).toMatchObject({ id: 'api-unavailable', status: 503, retryAfterS: 1 });
    expect((err as PryvError).message).toMatch(/event/);
  });

  it('stops when its time budget is spent, however many retries are left', async () => {
    let rounds = 0;
    const err = await retryOnStale(
      async () => {
        rounds++;
        return STALE;
      },
      { maxRetries: 1_000_000, timeBudgetMs: 0 },
    ).catch((e: unknown) => e);
    expect(rounds).toBe(1);
    expect(err).toMatchObject({ status: 503 });
  });

  it('pauses grow with the attempt up to a cap, each drawn below its bound (full jitter)', () => {
    const bound = (n: number) => staleBackoffMs(n, () => 0.999999);
    expect(staleBackoffMs(5, () => 0)).toBe(0);
    expect(bound(1)).toBeGreaterThan(bound(0));
    expect(bound(3)).toBeGreaterThan(bound(2));
    expect(bound(30)).toBe(bound(20));
    expect(bound(30)).toBeLessThan(1_000);
  });
});
