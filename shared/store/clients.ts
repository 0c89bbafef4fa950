import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { config, LOCAL_CREDENTIALS } from '../config';
import { recordSdkCalls } from '../sdk-calls';
import { traceClient } from '../tracing';

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

let ddb: DynamoDBDocumentClient | undefined;

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

export function dynamo(): DynamoDBDocumentClient {
  if (!ddb) {
    const c = config();
    const client = traceClient(
      recordSdkCalls(
        tellWriteListeners(
          new DynamoDBClient({
            region: c.region,
            ...(c.dynamodbEndpoint ? { endpoint: c.dynamodbEndpoint, credentials: LOCAL_CREDENTIALS } : {}),
          }),
        ),
      ),
    );
    ddb = DynamoDBDocumentClient.from(client, {
      // Event times and durations are any JSON number (running events end at 9.9e125):
      // past 2^53 they are floats to us as to DynamoDB, not integers losing precision.
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false, allowImpreciseNumbers: true },
      unmarshallOptions: { wrapNumbers: (value: string) => Number(value) },
    });
  }
  return ddb;
}

/** Called by resetClients (a client module registers its own forgetting once it made a client). */
export function onResetClients(reset: () => void): void {
  resets.add(reset);
}

/** Forget the clients (the local runtime and tests start fresh runtimes in one process). */
export function resetClients(): void {
  ddb?.destroy();
  ddb = undefined;
  for (const reset of resets) reset();
}
