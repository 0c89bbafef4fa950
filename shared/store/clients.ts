import { environmentCredentials } from '../aws-http';
import { config, LOCAL_CREDENTIALS } from '../config';
import { sdkCallRecorder } from '../sdk-calls';
import { tracedAwsCall, tracingOn } from '../tracing';
import { TableClient } from './document';
import { DynamoDBHttp, type Middleware } from './dynamodb-http';

/**
 * The DynamoDB client, created once per container, and the table and bucket the store
 * addresses. It is the store's own (./document.ts over ./dynamodb-http.ts), not the AWS
 * SDK's: a function that only talks to DynamoDB loads no SDK client. Credentials are the
 * ones Lambda puts in the environment; with an endpoint override (the local runtime) any
 * static credentials do: DynamoDB Local accepts them. The S3 client is in ./s3-client.ts:
 * only functions that touch objects bundle it.
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
  /** For a put: the item's top-level attributes (the local webhook worker tells a claimed attempt by its lease). */
  put?: string[];
  /** For a delete. */
  deleted?: true;
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
const putOf = (item: unknown): TableWrite => ({ ...keyOf(item), put: Object.keys((item ?? {}) as Input) });
const deleteOf = (key: unknown): TableWrite => ({ ...keyOf(key), deleted: true });
const updateOf = (update: Input): TableWrite => ({
  ...keyOf(update.Key),
  updated: expressionRoots(update.UpdateExpression, update.ExpressionAttributeNames),
});

/** The items a write command writes (condition checks of a transaction left out). */
function writesOf(commandName: string, input: Input): TableWrite[] {
  switch (commandName) {
    case 'PutItemCommand':
      return [putOf(input.Item)];
    case 'DeleteItemCommand':
      return [deleteOf(input.Key)];
    case 'UpdateItemCommand':
      return [updateOf(input)];
    case 'TransactWriteItemsCommand':
      return ((input.TransactItems ?? []) as Input[]).flatMap((t) =>
        t.Put
          ? [putOf((t.Put as Input).Item)]
          : t.Delete
            ? [deleteOf((t.Delete as Input).Key)]
            : t.Update
              ? [updateOf(t.Update as Input)]
              : [],
      );
    case 'BatchWriteItemCommand':
      return Object.values((input.RequestItems ?? {}) as Record<string, Input[]>).flatMap((requests) =>
        requests.map((r) => (r.PutRequest ? putOf((r.PutRequest as Input).Item) : deleteOf((r.DeleteRequest as Input | undefined)?.Key))),
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

/** Tells the write listeners, after each successful write, which items it wrote. */
const tellWriteListeners: Middleware = (next, context) => async (args) => {
  const out = await next(args);
  if (writeListeners.size > 0) {
    const writes = writesOf(context.commandName, args.input);
    if (writes.length > 0) for (const listener of writeListeners) listener(writes);
  }
  return out;
};

/** The test:bundled call recorder (shared/sdk-calls.ts), when PRYV_SDK_CALL_LOG asks for it. */
function recordCalls(): Middleware | undefined {
  const record = sdkCallRecorder();
  if (!record) return undefined;
  return (next, context) => (args) => {
    record(context.clientName, context.commandName, args.input);
    return next(args);
  };
}

/** How other clients of the store (./s3-client.ts) are forgotten by resetClients, once made. */
const resets = new Set<() => void>();

/** The middleware list the benchmarks' meters add to (`stack.add`, as on an SDK client's middleware stack). */
type TableMiddleware = (stack: { add(middleware: Middleware, options?: unknown): void }) => void;
/** Middleware added from outside the store (the benchmarks' meters), put on every client made. */
const extraMiddleware: TableMiddleware[] = [];

/** Adds a middleware to the table's client (made again with it). */
export function useTableMiddleware(add: TableMiddleware): void {
  extraMiddleware.push(add);
  ddb?.transport.destroy();
  ddb = undefined;
}

export function dynamo(): TableClient {
  if (!ddb) {
    const c = config();
    postWritesTo(c.localTableWritesChannel);
    const transport = new DynamoDBHttp({
      region: c.region,
      endpoint: c.dynamodbEndpoint ?? `https://dynamodb.${c.region}.amazonaws.com`,
      credentials: c.dynamodbEndpoint ? LOCAL_CREDENTIALS : environmentCredentials,
      requestTimeoutMs: c.serviceRequestTimeoutMs,
      around: tracingOn() ? (operation, input, send) => tracedAwsCall('DynamoDB', operation, c.region, input.TableName, send) : undefined,
    });
    transport.use(tellWriteListeners);
    const recorder = recordCalls();
    if (recorder) transport.use(recorder);
    for (const add of extraMiddleware) add({ add: (middleware) => transport.use(middleware) });
    ddb = new TableClient(transport);
  }
  return ddb;
}

/** Called by resetClients (a client module registers its own forgetting once it made a client). */
export function onResetClients(reset: () => void): void {
  resets.add(reset);
}

/** Forget the clients (the local runtime and tests start fresh runtimes in one process). */
export function resetClients(): void {
  ddb?.transport.destroy();
  ddb = undefined;
  stopPosting?.();
  for (const reset of resets) reset();
}
