import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { closeConnection, postToConnection, resetConnectionClients } from '../../shared/adapters/socket-connections-api';
import { resetConfig } from '../../shared/config';
import { isServiceFault } from '../../shared/store/faults';
import { sdkSigner } from './sdk-signer';

/**
 * The `@connections` client (shared/adapters/socket-connections-api.ts) against a stand-in of
 * API Gateway's management API: the requests the SDK's ApiGatewayManagementApi client sent
 * (path under the stage, the connection id encoded, the bytes as the body), signed so that
 * the SDK's own signer agrees, API Gateway's answers read as the callers expect them.
 */

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session' };
const REGION = 'eu-central-1';
/** API Gateway connection ids are base64: `=` and `+` must survive the path and its signature. */
const CONNECTION = 'L0SM9cOFvHc+Ihw=';

const signer = sdkSigner('execute-api', REGION, CREDENTIALS);

interface Seen {
  method: string;
  path: string;
  body: string;
  contentType?: string;
  signatureHolds: boolean;
}

/** Whether the request's Authorization is the one the SDK's signer gives the same request. */
async function signatureHolds(req: IncomingMessage, body: Buffer): Promise<boolean> {
  const auth = String(req.headers.authorization ?? '');
  const names = /SignedHeaders=([^,]+)/.exec(auth)?.[1]?.split(';') ?? [];
  const d = String(req.headers['x-amz-date'] ?? '');
  const date = new Date(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`);
  const headers: Record<string, string> = {};
  for (const name of names) headers[name] = String(req.headers[name]);
  const url = new URL(req.url ?? '/', 'http://x');
  const expected = await signer.sign(
    { method: req.method ?? 'GET', protocol: 'http:', hostname: '127.0.0.1', path: url.pathname, query: {}, headers, body },
    { signingDate: date },
  );
  return expected.headers.authorization === auth;
}

const seen: Seen[] = [];
let answer: (res: ServerResponse, n: number) => void = (res) => res.writeHead(200, { 'content-length': 0 }).end();
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', async () => {
    const body = Buffer.concat(chunks);
    const n = seen.length;
    seen.push({
      method: req.method ?? '',
      path: req.url ?? '',
      body: body.toString('utf8'),
      contentType: req.headers['content-type'],
      signatureHolds: await signatureHolds(req, body),
    });
    answer(res, n);
  });
});
let endpoint: string;
const apiError = (res: ServerResponse, status: number, type: string) =>
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type }).end(JSON.stringify({ message: type }));

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod`;
  // As in a Lambda function: credentials in the environment, no endpoint override.
  delete process.env.DYNAMODB_ENDPOINT;
  delete process.env.SOCKET_MANAGEMENT_ENDPOINT;
  process.env.AWS_REGION = REGION;
  process.env.AWS_ACCESS_KEY_ID = CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = CREDENTIALS.secretAccessKey;
  process.env.AWS_SESSION_TOKEN = CREDENTIALS.sessionToken;
  resetConfig();
});
afterAll(async () => {
  resetConnectionClients();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  seen.length = 0;
  answer = (res) => res.writeHead(200, { 'content-length': 0 }).end();
  vi.restoreAllMocks();
  vi.spyOn(Math, 'random').mockReturnValue(0); // no backoff waits
});

describe('@connections: the requests API Gateway’s management API takes', () => {
  it('a message is POSTed under the stage to the encoded connection id, as bytes, signed for execute-api', async () => {
    expect(await postToConnection(endpoint, CONNECTION, '42["eventsChanged"]')).toBe('sent');
    expect(seen).toEqual([
      {
        method: 'POST',
        path: `/prod/@connections/${encodeURIComponent(CONNECTION)}`,
        body: '42["eventsChanged"]',
        contentType: 'application/octet-stream',
        signatureHolds: true,
      },
    ]);
  });

  it('closing is a signed DELETE of the same path', async () => {
    answer = (res) => res.writeHead(204).end();
    await closeConnection(endpoint, CONNECTION);
    expect(seen.map((s) => [s.method, s.path, s.signatureHolds])).toEqual([
      ['DELETE', `/prod/@connections/${encodeURIComponent(CONNECTION)}`, true],
    ]);
  });

  it('a connection gone (410) is told as such, not retried; closing it is fine', async () => {
    answer = (res) => apiError(res, 410, 'GoneException');
    expect(await postToConnection(endpoint, CONNECTION, 'x')).toBe('gone');
    await expect(closeConnection(endpoint, CONNECTION)).resolves.toBeUndefined();
    expect(seen).toHaveLength(2);
  });

  it('a message too large: refused before sending, or by API Gateway (413)', async () => {
    expect(await postToConnection(endpoint, CONNECTION, 'x'.repeat(128 * 1024 + 1))).toBe('too-large');
    expect(seen).toHaveLength(0);
    answer = (res) => apiError(res, 413, 'PayloadTooLargeException');
    expect(await postToConnection(endpoint, CONNECTION, 'x')).toBe('too-large');
    expect(seen).toHaveLength(1);
  });

  it('a 500, a throttle or a dropped connection is retried as the SDK does, then sent', async () => {
    answer = (res, n) =>
      n === 0 ? apiError(res, 500, 'InternalServerErrorException') : n === 1 ? apiError(res, 429, 'LimitExceededException') : res.end();
    expect(await postToConnection(endpoint, CONNECTION, 'x')).toBe('sent');
    expect(seen).toHaveLength(3);
    seen.length = 0;
    answer = (res, n) => (n === 0 ? res.socket?.destroy() : res.end());
    expect(await postToConnection(endpoint, CONNECTION, 'x')).toBe('sent');
    expect(seen).toHaveLength(2);
  });

  it('an endpoint that never answers: each attempt given up after the bound, then a service fault', async () => {
    answer = () => {}; // accepted, never answered
    process.env.SERVICE_REQUEST_TIMEOUT_MS = '150';
    resetConfig();
    resetConnectionClients();
    const err = await postToConnection(endpoint, CONNECTION, 'x').catch((e: unknown) => e);
    delete process.env.SERVICE_REQUEST_TIMEOUT_MS;
    resetConfig();
    resetConnectionClients();
    // 3 attempts: the SDK's default for its ApiGatewayManagementApi client (DynamoDB's is 4).
    expect(err).toMatchObject({ name: 'TimeoutError', code: 'ETIMEDOUT', $metadata: { attempts: 3 } });
    expect(seen).toHaveLength(3);
    expect(isServiceFault(err)).toBe(true);
  });

  it('a refused request (403) is an error, not retried', async () => {
    answer = (res) => apiError(res, 403, 'ForbiddenException');
    const err = await postToConnection(endpoint, CONNECTION, 'x').catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ForbiddenException', $fault: 'client', $metadata: { httpStatusCode: 403, attempts: 1 } });
    expect(seen).toHaveLength(1);
  });
});
