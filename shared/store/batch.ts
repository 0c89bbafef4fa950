import { dynamo, table } from './clients';
import { BatchGetCommand, type BatchGetCommandOutput, BatchWriteCommand } from './commands';

const BATCH_WRITE_MAX = 25; // DynamoDB's BatchWriteItem limit
const MAX_ATTEMPTS = 9; // unprocessed items are tried again with exponential backoff

type WriteRequest = { PutRequest: { Item: Record<string, unknown> } } | { DeleteRequest: { Key: Record<string, unknown> } };

/** BatchWriteItem, 25 requests at a time, retrying what DynamoDB left unprocessed; throws if some never go through. */
async function batchWrite(requests: WriteRequest[], what: string): Promise<void> {
  for (let i = 0; i < requests.length; i += BATCH_WRITE_MAX) {
    let pending = requests.slice(i, i + BATCH_WRITE_MAX);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_ATTEMPTS) throw new Error(`batch ${what}: items left unprocessed`);
      const out = await dynamo().send(new BatchWriteCommand({ RequestItems: { [table()]: pending } }));
      pending = (out.UnprocessedItems?.[table()] ?? []) as WriteRequest[];
      if (pending.length > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
    }
  }
}

/** Writes items without conditions (bulk loads: imports, benchmarks, audit records). */
export const batchPut = (items: Array<Record<string, unknown>>) =>
  batchWrite(
    items.map((Item) => ({ PutRequest: { Item } })),
    'write',
  );

/** Deletes items by key. */
export const batchDelete = (keys: Array<{ pk: string; sk: string }>) =>
  batchWrite(
    keys.map((Key) => ({ DeleteRequest: { Key } })),
    'delete',
  );

type Key = { pk: string; sk: string };

/**
 * A few items by key in one strongly consistent BatchGetItem (asking again for keys DynamoDB
 * left unprocessed); the map is keyed `pk|sk`, absent items are missing from it.
 */
export async function batchGet(keys: Key[]): Promise<Map<string, Record<string, unknown>>> {
  const found = new Map<string, Record<string, unknown>>();
  let pending: Array<Record<string, unknown>> | undefined = keys;
  for (let attempt = 0; pending && pending.length > 0; attempt++) {
    if (attempt >= MAX_ATTEMPTS) throw new Error('batch get: keys left unprocessed');
    if (attempt > 0) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
    const out: BatchGetCommandOutput = await dynamo().send(
      new BatchGetCommand({ RequestItems: { [table()]: { Keys: pending, ConsistentRead: true } } }),
    );
    for (const item of out.Responses?.[table()] ?? []) found.set(`${item.pk}|${item.sk}`, item);
    pending = out.UnprocessedKeys?.[table()]?.Keys;
  }
  return found;
}

export const itemKey = (key: Key) => `${key.pk}|${key.sk}`;
