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
 * Told after each successful write to the table, with the items it wrote. The local runtime's
 * stream consumer reads the stream at once then, when the fan-out cares about one of them,
 * instead of waiting for its next poll (README "Performance": change notification delay).
 * Nothing listens in AWS, where the stream is read by Lambda's poller.
 */
export interface TableWrite {
  pk: string;
  sk: string;
  /** For an update: the top-level attributes its expression names (those it sets, removes or reads). */
  updated?: string[];
}
type WriteListener = (writes: TableWrite[]) => void;
const writeListeners = new Set<WriteListener>();

/** Adds a write listener; returns a function that removes it again. */
export function onTableWrite(listener: WriteListener): () => void {
  writeListeners.add(listener);
  return () => void writeListeners.delete(listener);
}

type Input = Record<string, unknown>;
/** A key attribute as the command carries it: plain (document client) or marshalled (`{S}`). */
const keyString = (value: unknown): string =>
  typeof value === 'string' ? value : typeof (value as { S?: unknown })?.S === 'string' ? (value as { S: string }).S : '';
const keyOf = (item: unknown): { pk: string; sk: string } => {
  const i = (item ?? {}) as Input;
  return { pk: keyString(i.pk), sk: keyString(i.sk) };
};
const KEYWORDS = new Set(['SET', 'REMOVE', 'ADD', 'DELETE', 'AND', 'OR', 'NOT']);
/** The top-level attribute names an update expression mentions (`calls.#m0` → `calls`; functions left out). */
function expressionRoots(expression: unknown, names: unknown): string[] {
  if (typeof expression !== 'string') return [];
  const aliases = (names ?? {}) as Record<string, string>;
  const roots = new Set<string>();
  for (const match of expression.matchAll(/(?<![.:#\w])(#?[A-Za-z_]\w*)\b(?!\s*\()/g)) {
    const token = match[1]!;
    if (KEYWORDS.has(token.toUpperCase())) continue;
    roots.add(token.startsWith('#') ? (aliases[token] ?? token) : token);
  }
  return [...roots];
}
const updateOf = (update: Input): TableWrite => ({
  ...keyOf(update.Key),
  updated: expressionRoots(update.UpdateExpression, update.ExpressionAttributeNames),
});

/** The items a write command writes (condition checks of a transaction left out). */
function writesOf(commandName: string, input: Input): TableWrite[] {
  switch (commandName) {
    case 'PutItemCommand':
      return [keyOf(input.Item)];
    case 'DeleteItemCommand':
      return [keyOf(input.Key)];
    case 'UpdateItemCommand':
      return [updateOf(input)];
    case 'TransactWriteItemsCommand':
      return ((input.TransactItems ?? []) as Input[]).flatMap((t) =>
        t.Put
          ? [keyOf((t.Put as Input).Item)]
          : t.Delete
            ? [keyOf((t.Delete as Input).Key)]
            : t.Update
              ? [updateOf(t.Update as Input)]
              : [],
      );
    case 'BatchWriteItemCommand':
      return Object.values((input.RequestItems ?? {}) as Record<string, Input[]>).flatMap((requests) =>
        requests.map((r) => keyOf(r.PutRequest ? (r.PutRequest as Input).Item : (r.DeleteRequest as Input | undefined)?.Key)),
      );
    default:
      return [];
  }
}

/** Bundle mode of the local runtime: this thread's writes posted on the runtime's channel (Config.localTableWritesChannel). */
let stopPosting: (() => void) | undefined;
function postWritesTo(channelName: string | undefined): void {
  if (!channelName || stopPosting) return;
  const channel = new BroadcastChannel(channelName);
  (channel as { unref?: () => void }).unref?.(); // never what keeps a worker thread alive
  const stop = onTableWrite((writes) => channel.postMessage(writes));
  stopPosting = () => {
    stop();
    channel.close();
    stopPosting = undefined;
  };
}

function tellWriteListeners(client: DynamoDBClient): DynamoDBClient {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      if (writeListeners.size > 0) {
        const writes = writesOf(context.commandName ?? '', args.input as Input);
        if (writes.length > 0) for (const listener of writeListeners) listener(writes);
      }
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
    postWritesTo(c.localTableWritesChannel);
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
  stopPosting?.();
  for (const reset of resets) reset();
}
