import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './clients';
import { config } from '../config';
import { queryAll } from './query';

type Key = { pk: string; sk: string };

/** Deletes items by key, 25 per BatchWriteItem, retrying what DynamoDB left unprocessed. */
export async function batchDelete(keys: Key[]): Promise<void> {
  const table = config().tableName;
  for (let i = 0; i < keys.length; i += 25) {
    let requests = keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt > 8) throw new Error('batch delete: items left unprocessed');
      const out = await dynamo().send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
      requests = (out.UnprocessedItems?.[table] ?? []) as typeof requests;
      if (requests.length > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
    }
  }
}

/** Every key of a partition (keys only: cheap). */
export async function partitionKeys(pk: string): Promise<Key[]> {
  const items = await queryAll({
    TableName: config().tableName,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': pk },
    ProjectionExpression: 'pk, sk',
    ConsistentRead: true,
  });
  return items as Key[];
}

/** Empties a partition, optionally keeping some sort keys. Safe to repeat. */
export async function deletePartition(pk: string, keep: (sk: string) => boolean = () => false): Promise<number> {
  const keys = (await partitionKeys(pk)).filter((k) => !keep(k.sk));
  await batchDelete(keys);
  return keys.length;
}
