import { AwsHttp, environmentCredentials, readJsonError } from '../aws-http';
import { config, LOCAL_CREDENTIALS, SOCKET_MESSAGE_MAX_BYTES } from '../config';
import { sdkCallRecorder } from '../sdk-calls';

/**
 * API Gateway's `@connections` management API: how anything (a WebSocket route handler, the
 * change fan-out, the ping sweep, a write's direct push) sends to a client. Its two calls are
 * signed requests sent by shared/aws-http.ts (`execute-api`, with the SDK's retry policy:
 * 3 attempts, as its ApiGatewayManagementApi client; the same error names and `$metadata`),
 * not the SDK's ApiGatewayManagementApi client: that client and the SDK core it loads were
 * most of the socket message function's cold start (README "What is checked before a
 * deploy"). Locally the gateway serves the same API (infra/local/websocket-api.ts), reached by
 * endpoint override.
 */

/** The names of the SDK's client and commands, for the test:bundled call recorder (test/bundled/permissions.ts). */
const CLIENT_NAME = 'ApiGatewayManagementApiClient';

const clients = new Map<string, AwsHttp>();

function client(endpoint: string): AwsHttp {
  let c = clients.get(endpoint);
  if (!c) {
    const settings = config();
    const local = settings.dynamodbEndpoint !== undefined; // the local runtime: no AWS credentials needed
    c = new AwsHttp({
      endpoint,
      region: settings.region,
      service: 'execute-api',
      credentials: local ? LOCAL_CREDENTIALS : environmentCredentials,
      requestTimeoutMs: settings.serviceRequestTimeoutMs,
    });
    clients.set(endpoint, c);
  }
  return c;
}

let record: ReturnType<typeof sdkCallRecorder> | null = null;
/** Records the call for test:bundled when PRYV_SDK_CALL_LOG asks for it (read once). */
function recordCall(command: string, connectionId: string): void {
  if (record === null) record = sdkCallRecorder();
  record?.(CLIENT_NAME, command, { ConnectionId: connectionId });
}

/** The management endpoint: configured (fan-out, sweep, local), else the one the event came through. */
export function managementEndpoint(fromEvent?: { domainName?: string; stage?: string }): string {
  const configured = config().socketManagementEndpoint;
  if (configured) return configured;
  if (fromEvent?.domainName && fromEvent.stage) return `https://${fromEvent.domainName}/${fromEvent.stage}`;
  throw new Error('no WebSocket management endpoint: set SOCKET_MANAGEMENT_ENDPOINT');
}

const connectionPath = (connectionId: string) => `/@connections/${encodeURIComponent(connectionId)}`;
const statusOf = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
/** The client is no longer (or not yet) connected: API Gateway's GoneException, 410. */
const isGone = (err: unknown) => (err as { name?: string }).name === 'GoneException' || statusOf(err) === 410;
const isTooLarge = (err: unknown) => (err as { name?: string }).name === 'PayloadTooLargeException' || statusOf(err) === 413;

export type PostOutcome = 'sent' | 'gone' | 'too-large';

/** Sends one text message; `gone` when the client is no longer (or not yet) connected. */
export async function postToConnection(endpoint: string, connectionId: string, data: string): Promise<PostOutcome> {
  const body = Buffer.from(data);
  if (body.byteLength > SOCKET_MESSAGE_MAX_BYTES) return 'too-large';
  recordCall('PostToConnectionCommand', connectionId);
  try {
    await client(endpoint).send(
      { method: 'POST', path: connectionPath(connectionId), headers: { 'Content-Type': 'application/octet-stream' }, body },
      readJsonError,
    );
    return 'sent';
  } catch (err) {
    if (isGone(err)) return 'gone';
    if (isTooLarge(err)) return 'too-large';
    throw err;
  }
}

/** Closes a client's connection (its `$disconnect` then runs); already gone is fine. */
export async function closeConnection(endpoint: string, connectionId: string): Promise<void> {
  recordCall('DeleteConnectionCommand', connectionId);
  try {
    await client(endpoint).send({ method: 'DELETE', path: connectionPath(connectionId), headers: {} }, readJsonError);
  } catch (err) {
    if (!isGone(err)) throw err;
  }
}

/** Forget the clients (local runtimes restarted in one process). */
export function resetConnectionClients(): void {
  for (const c of clients.values()) c.destroy();
  clients.clear();
  record = null;
}
