import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { config, LOCAL_CREDENTIALS, SOCKET_MESSAGE_MAX_BYTES } from '../config';
import { recordSdkCalls } from '../sdk-calls';

/**
 * API Gateway's `@connections` management API: how anything (a WebSocket route handler, the
 * change fan-out, the ping sweep) sends to a client. Locally the gateway serves the same
 * API (infra/local/websocket-api.ts), reached by endpoint override.
 */

const clients = new Map<string, ApiGatewayManagementApiClient>();

function client(endpoint: string): ApiGatewayManagementApiClient {
  let c = clients.get(endpoint);
  if (!c) {
    const local = config().dynamodbEndpoint !== undefined; // the local runtime: no AWS credentials needed
    c = recordSdkCalls(
      new ApiGatewayManagementApiClient({
        endpoint,
        region: config().region,
        ...(local ? { credentials: LOCAL_CREDENTIALS } : {}),
      }),
    );
    clients.set(endpoint, c);
  }
  return c;
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
  err instanceof GoneException || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 410;

export type PostOutcome = 'sent' | 'gone' | 'too-large';

/** Sends one text message; `gone` when the client is no longer (or not yet) connected. */
export async function postToConnection(endpoint: string, connectionId: string, data: string): Promise<PostOutcome> {
  if (Buffer.byteLength(data) > SOCKET_MESSAGE_MAX_BYTES) return 'too-large';
  try {
    await client(endpoint).send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(data) }));
    return 'sent';
  } catch (err) {
    if (isGone(err)) return 'gone';
    if (err instanceof PayloadTooLargeException) return 'too-large';
    throw err;
  }
}

/** Closes a client's connection (its `$disconnect` then runs); already gone is fine. */
export async function closeConnection(endpoint: string, connectionId: string): Promise<void> {
  try {
    await client(endpoint).send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
  } catch (err) {
    if (!isGone(err)) throw err;
  }
}

/** Forget the clients (local runtimes restarted in one process). */
export function resetConnectionClients(): void {
  for (const c of clients.values()) c.destroy();
  clients.clear();
}
