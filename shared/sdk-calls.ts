import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Records which AWS SDK commands a function sends, for the least-privilege check of
 * `npm run test:bundled` (test/bundled/): with PRYV_SDK_CALL_LOG set to a folder, every
 * client made by shared/store/ and shared/adapters/ appends one JSON line per new
 * (client, command, input names) to `{folder}/{AWS_LAMBDA_FUNCTION_NAME}.jsonl`. Only names
 * of tables, indexes, buckets, object keys and secrets are kept: never values, tokens or
 * bodies. Unset (always, in AWS), clients get no middleware at all.
 */
export interface SdkCall {
  /** `DynamoDBClient`, `S3Client`, … */
  client: string;
  /** `QueryCommand`, `PutObjectCommand`, … */
  command: string;
  /** What the command addresses, as named in its input. */
  input: SdkCallTarget;
}

export interface SdkCallTarget {
  TableName?: string;
  IndexName?: string;
  /** Tables of batch and transaction commands, with the operation on each (`Put`, `Update`, `Delete`, `ConditionCheck`, `Get`; PartiQL: `PartiQLUpdate`, `PartiQLInsert`…). */
  Items?: Array<{ op: string; TableName: string }>;
  Bucket?: string;
  Key?: string;
  Prefix?: string;
  CopySource?: string;
  SecretId?: string;
  ConnectionId?: string;
  FromEmailAddress?: string;
  /** SQS: the queue's URL (`https://sqs.{region}.amazonaws.com/{account}/{name}`). */
  QueueUrl?: string;
}

interface Middlewared {
  middlewareStack: {
    add(
      middleware: (
        next: (args: { input: unknown }) => Promise<unknown>,
        context: { clientName?: string; commandName?: string },
      ) => (args: { input: unknown }) => Promise<unknown>,
      options: { step: 'initialize'; name: string },
    ): void;
  };
}

const NAME_FIELDS = [
  'TableName',
  'IndexName',
  'Bucket',
  'Key',
  'Prefix',
  'CopySource',
  'SecretId',
  'ConnectionId',
  'FromEmailAddress',
  'QueueUrl',
] as const;

/** A PartiQL statement's verb and table (`UPDATE "t" …`, `INSERT INTO "t" …`, `DELETE FROM "t" …`, `SELECT … FROM "t"`). */
const PARTIQL_TARGET = /^\s*(UPDATE|INSERT|DELETE|SELECT)\b[^"]*"([^"]+)"/i;
const PARTIQL_ACTIONS: Record<string, string> = {
  UPDATE: 'PartiQLUpdate',
  INSERT: 'PartiQLInsert',
  DELETE: 'PartiQLDelete',
  SELECT: 'PartiQLSelect',
};

/** The names a command addresses (see SdkCallTarget). */
export function callTarget(input: unknown): SdkCallTarget {
  const source = (input ?? {}) as Record<string, unknown>;
  const target: SdkCallTarget = {};
  for (const field of NAME_FIELDS) if (typeof source[field] === 'string') target[field] = source[field] as string;
  const items: Array<{ op: string; TableName: string }> = [];
  if (source.RequestItems && typeof source.RequestItems === 'object') {
    for (const [table, requests] of Object.entries(source.RequestItems as Record<string, unknown>)) {
      const ops = Array.isArray(requests) ? requests.map((r) => ('PutRequest' in (r as object) ? 'Put' : 'Delete')) : ['Get'];
      for (const op of new Set(ops)) items.push({ op, TableName: table });
    }
  }
  if (Array.isArray(source.TransactItems)) {
    for (const item of source.TransactItems as Array<Record<string, { TableName?: string }>>) {
      for (const [op, body] of Object.entries(item)) if (body?.TableName) items.push({ op, TableName: body.TableName });
    }
  }
  if (Array.isArray(source.Statements)) {
    // PartiQL (BatchExecuteStatement): the verb and the table of each statement, never its values.
    for (const { Statement } of source.Statements as Array<{ Statement?: unknown }>) {
      const m = typeof Statement === 'string' ? PARTIQL_TARGET.exec(Statement) : null;
      if (m) items.push({ op: PARTIQL_ACTIONS[m[1]!.toUpperCase()]!, TableName: m[2]! });
    }
  }
  // One entry per operation and table: the calls' shapes, not their sizes.
  const distinct = [...new Map(items.map((item) => [`${item.op} ${item.TableName}`, item])).values()];
  if (distinct.length > 0) target.Items = distinct;
  return target;
}

/**
 * The recorder, when PRYV_SDK_CALL_LOG is set: called with each request's client name
 * (`DynamoDBClient`), command name (`QueryCommand`) and input. The store's own DynamoDB
 * client (shared/store/clients.ts) calls it; SDK clients get it through recordSdkCalls.
 */
export function sdkCallRecorder(): ((client: string, command: string, input: unknown) => void) | undefined {
  const folder = process.env.PRYV_SDK_CALL_LOG;
  if (!folder) return undefined;
  const file = join(folder, `${process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'local'}.jsonl`);
  const seen = new Set<string>();
  return (client, command, input) => {
    const call: SdkCall = { client, command, input: callTarget(input) };
    const line = JSON.stringify(call);
    if (!seen.has(line)) {
      seen.add(line);
      mkdirSync(folder, { recursive: true });
      appendFileSync(file, `${line}\n`);
    }
  };
}

/** Adds the recorder to an SDK client when PRYV_SDK_CALL_LOG is set; returns the client. */
export function recordSdkCalls<C>(client: C): C {
  const record = sdkCallRecorder();
  if (!record) return client;
  (client as unknown as Middlewared).middlewareStack.add(
    (next, context) => async (args) => {
      record(context.clientName ?? 'unknown', context.commandName ?? 'unknown', args.input);
      return next(args);
    },
    { step: 'initialize', name: 'pryvSdkCallRecorder' },
  );
  return client;
}
