import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import aws4 from 'aws4';
import { config, LOCAL_CREDENTIALS, SOCKET_MESSAGE_MAX_BYTES } from '../config';
import { sdkCallRecorder } from '../sdk-calls';
import { tracedAwsCall, tracingOn } from '../tracing';

/**
 * API Gateway's `@connections` management API: how anything (a writing call's direct push, a
 * WebSocket route handler, the change fan-out, the ping sweep) sends to a client. Locally the
 * gateway serves the same API (infra/local/websocket-api.ts), reached by endpoint override.
 *
 * Each call is one SigV4-signed request (the `aws4` package, as the store's DynamoDB client,
 * shared/store/dynamodb-http.ts) on a kept-alive connection pool, not the AWS SDK's client:
 * a post costs about a third of the SDK's CPU (README "Performance", change notification
 * delay), and a function's first push no longer loads the SDK. What the SDK did that callers
 * rely on is kept: its retries of throttling, 5xx and dropped connections (3 attempts, full
 * jitter), errors carrying `name` (from the answer's error type) and `$metadata.httpStatusCode`
 * for shared/store/faults.ts, the test:bundled call recorder, and X-Ray subsegments.
 */

const MAX_ATTEMPTS = 3; // the SDK's standard retry mode
const BASE_DELAY_MS = 100;
const THROTTLING_BASE_DELAY_MS = 500;
const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
const RETRYABLE_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED']);

interface Endpoint {
  url: URL;
  agent: HttpAgent;
  request: typeof httpRequest;
}
const endpoints = new Map<string, Endpoint>();

function endpointOf(endpoint: string): Endpoint {
  let e = endpoints.get(endpoint);
  if (!e) {
    const url = new URL(endpoint);
    const https = url.protocol === 'https:';
    e = {
      url,
      agent: https ? new HttpsAgent({ keepAlive: true, maxSockets: 50 }) : new HttpAgent({ keepAlive: true, maxSockets: 50 }),
      request: https ? httpsRequest : httpRequest,
    };
    endpoints.set(endpoint, e);
  }
  return e;
}

/** Lambda's credentials from the environment (read on each call: never stale); the local runtime's placeholders. */
function credentials(): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } {
  if (config().dynamodbEndpoint !== undefined) return LOCAL_CREDENTIALS; // the local runtime: no AWS credentials needed
  const env = process.env;
  if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) {
    throw new Error('no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)');
  }
  return { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN };
}

/** An error answer, shaped as the SDK's service exceptions (`GoneException`, …). */
class ManagementApiError extends Error {
  readonly $fault: 'client' | 'server';
  readonly $metadata: { httpStatusCode: number; requestId?: string; attempts: number };
  constructor(name: string, message: string, status: number, requestId: string | undefined, attempts: number) {
    super(message);
    this.name = name;
    this.$fault = status >= 500 ? 'server' : 'client';
    this.$metadata = { httpStatusCode: status, requestId, attempts };
  }
}

type Operation = 'PostToConnection' | 'DeleteConnection';
const METHODS: Record<Operation, string> = { PostToConnection: 'POST', DeleteConnection: 'DELETE' };

/** The signed request for one operation on a connection; resolves with the answer's status. */
function once(endpoint: Endpoint, operation: Operation, connectionId: string, body: Buffer | undefined, attempts: number): Promise<number> {
  const base = endpoint.url.pathname.replace(/\/$/, '');
  const signed = aws4.sign(
    {
      host: endpoint.url.host,
      path: `${base}/@connections/${encodeURIComponent(connectionId)}`,
      method: METHODS[operation],
      service: 'execute-api',
      region: config().region,
      headers: body ? { 'Content-Type': 'application/octet-stream' } : {},
      ...(body ? { body } : {}),
    },
    credentials(),
  );
  return new Promise((resolve, reject) => {
    const req = endpoint.request(
      {
        protocol: endpoint.url.protocol,
        hostname: endpoint.url.hostname,
        port: endpoint.url.port || undefined,
        path: signed.path,
        method: signed.method,
        agent: endpoint.agent,
        headers: { ...(signed.headers as Record<string, string>), 'Content-Length': String(body?.length ?? 0) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(status);
          const text = Buffer.concat(chunks).toString('utf8');
          let message = text;
          try {
            message = String((JSON.parse(text) as { message?: unknown }).message ?? text);
          } catch {
            // not JSON: the status tells what happened
          }
          const type = res.headers['x-amzn-errortype'];
          const name = (Array.isArray(type) ? type[0] : type)?.split(':')[0] || `HttpError${status}`;
          const requestId = res.headers['x-amzn-requestid'];
          reject(new ManagementApiError(name, message, status, Array.isArray(requestId) ? requestId[0] : requestId, attempts));
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function send(endpointUrl: string, operation: Operation, connectionId: string, body?: Buffer): Promise<number> {
  sdkCallRecorder()?.('ApiGatewayManagementApiClient', `${operation}Command`, { ConnectionId: connectionId });
  const endpoint = endpointOf(endpointUrl);
  const attempt = async () => {
    for (let attempts = 1; ; attempts++) {
      try {
        return await once(endpoint, operation, connectionId, body, attempts);
      } catch (err) {
        const e = err as { code?: string; $metadata?: { httpStatusCode?: number } };
        const status = e.$metadata?.httpStatusCode;
        const retryable = status !== undefined ? RETRYABLE_STATUS.has(status) : RETRYABLE_CODES.has(e.code ?? '');
        if (!retryable || attempts >= MAX_ATTEMPTS) throw err;
        const base = status === 429 ? THROTTLING_BASE_DELAY_MS : BASE_DELAY_MS;
        await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * base * 2 ** (attempts - 1))));
      }
    }
  };
  return tracingOn() ? tracedAwsCall('ApiGatewayManagementApi', operation, config().region, undefined, attempt) : attempt();
}

/** The management endpoint: configured (fan-out, sweep, local), else the one the event came through. */
export function managementEndpoint(fromEvent?: { domainName?: string; stage?: string }): string {
  const configured = config().socketManagementEndpoint;
  if (configured) return configured;
  if (fromEvent?.domainName && fromEvent.stage) return `https://${fromEvent.domainName}/${fromEvent.stage}`;
  throw new Error('no WebSocket management endpoint: set SOCKET_MANAGEMENT_ENDPOINT');
}

/** The client is no longer (or not yet) connected: API Gateway's GoneException, 410. */
const isGone = (err: unknown) =>
  (err as { name?: string }).name === 'GoneException' ||
  (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 410;

export type PostOutcome = 'sent' | 'gone' | 'too-large';

/** Sends one text message; `gone` when the client is no longer (or not yet) connected. */
export async function postToConnection(endpoint: string, connectionId: string, data: string): Promise<PostOutcome> {
  const body = Buffer.from(data);
  if (body.length > SOCKET_MESSAGE_MAX_BYTES) return 'too-large';
  try {
    await send(endpoint, 'PostToConnection', connectionId, body);
    return 'sent';
  } catch (err) {
    if (isGone(err)) return 'gone';
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'PayloadTooLargeException' || e.$metadata?.httpStatusCode === 413) return 'too-large';
    throw err;
  }
}

/** Closes a client's connection (its `$disconnect` then runs); already gone is fine. */
export async function closeConnection(endpoint: string, connectionId: string): Promise<void> {
  try {
    await send(endpoint, 'DeleteConnection', connectionId);
  } catch (err) {
    if (!isGone(err)) throw err;
  }
}

/** Forget the connection pools (local runtimes restarted in one process). */
export function resetConnectionClients(): void {
  for (const e of endpoints.values()) e.agent.destroy();
  endpoints.clear();
}
