import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { config, LOCAL_CREDENTIALS } from '../config';
import { recordSdkCalls } from '../sdk-calls';
import { traceClient, tracingOn } from '../tracing';
import { TableClient } from './document';

/**
 * The DynamoDB client, created once per container, and the table and bucket the store
 * addresses. With an endpoint override (the local runtime) any static credentials do:
 * DynamoDB Local accepts them. The S3 client is in ./s3-client.ts: only functions that touch
 * objects bundle it (it weighs more than the DynamoDB client).
 */

/** The one table (shared/store/table-definition.ts). */
export const table = () => config().tableName;
/** The bucket of attachments, exports and uploads to import. */
export const bucket = () => config().bucketName;

let ddb: TableClient | undefined;

/**
 * Told after each successful write to the table. The local runtime's stream consumer reads
 * the stream at once then instead of waiting for its next poll (README "Performance": change
 * notification delay). Nothing listens in AWS, where the stream is read by Lambda's poller.
 */
const writeListeners = new Set<() => void>();
const WRITE_COMMANDS = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'TransactWriteItemsCommand',
  'BatchWriteItemCommand',
]);

/** Adds a write listener; returns a function that removes it again. */
export function onTableWrite(listener: () => void): () => void {
  writeListeners.add(listener);
  return () => void writeListeners.delete(listener);
}

function tellWriteListeners(client: DynamoDBClient): DynamoDBClient {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      if (writeListeners.size > 0 && WRITE_COMMANDS.has(context.commandName ?? '')) for (const listener of writeListeners) listener();
      return out;
    },
    { step: 'initialize', name: 'tableWriteListeners' },
  );
  return client;
}
/** How other clients of the store (./s3-client.ts) are forgotten by resetClients, once made. */
const resets = new Set<() => void>();

type TableMiddleware = (stack: DynamoDBClient['middlewareStack']) => void;
/** Middleware added from outside the store (the benchmarks' meters), put on every client made. */
const extraMiddleware: TableMiddleware[] = [];

/**
 * Adds a middleware to the table's client. The client resolves its middleware once per
 * command (below), so the client is made again with it rather than changed.
 */
export function useTableMiddleware(add: TableMiddleware): void {
  extraMiddleware.push(add);
  ddb?.client.destroy();
  ddb = undefined;
}

/**
 * Middleware of the SDK that does nothing for this client: the logger's (no logger is
 * given), the user agent header (DynamoDB does not read it; building it costs on every
 * request) and, without tracing, the X-Ray trace header.
 */
const IDLE_MIDDLEWARE = ['loggerMiddleware', 'getUserAgentMiddleware'];

export function dynamo(): TableClient {
  if (!ddb) {
    const c = config();
    const client = new DynamoDBClient({
      region: c.region,
      ...(c.dynamodbEndpoint ? { endpoint: c.dynamodbEndpoint, credentials: LOCAL_CREDENTIALS } : {}),
      // The middleware stack is resolved once per command class instead of on every request
      // (README "Performance": the SDK's share of a request). Calls of one class then share
      // the context the middleware writes the resolved endpoint and signer into: the same
      // for every call of this client (one region, one table). Tracing adds its middleware
      // once the tracer has loaded, after the first requests: with it on, every request
      // resolves the stack, so none is sent untraced.
      cacheMiddleware: !tracingOn(),
    });
    for (const name of IDLE_MIDDLEWARE) client.middlewareStack.remove(name);
    if (!tracingOn()) client.middlewareStack.remove('recursionDetectionMiddleware');
    for (const add of extraMiddleware) add(client.middlewareStack);
    ddb = new TableClient(traceClient(recordSdkCalls(tellWriteListeners(client))));
  }
  return ddb;
}

/** Called by resetClients (a client module registers its own forgetting once it made a client). */
export function onResetClients(reset: () => void): void {
  resets.add(reset);
}

/** Forget the clients (the local runtime and tests start fresh runtimes in one process). */
export function resetClients(): void {
  ddb?.client.destroy();
  ddb = undefined;
  for (const reset of resets) reset();
}
