import { dynamo, table } from './clients';
import { GetCommand, QueryCommand } from './commands';
import { keys } from './keys';
import { partitionPages } from './query';

/**
 * An account's items as stored, kind by kind, for its export and its integrity check: every kind is one key range
 * of the user's partitions, read page by page so that accounts of any size stream through.
 * Items come raw (keys included); the export decides what leaves.
 */
const KINDS = {
  streams: { partition: keys.userPartition, prefix: keys.streamPrefix },
  streamDeletions: { partition: keys.userPartition, prefix: keys.streamDeletionPrefix },
  accesses: { partition: keys.userPartition, prefix: keys.accessPrefix },
  accessDeletions: { partition: keys.userPartition, prefix: keys.accessDeletionPrefix },
  /** Previous versions of updated accesses. */
  accessVersions: { partition: keys.userPartition, prefix: keys.accessVersionsPrefix },
  webhooks: { partition: keys.userPartition, prefix: keys.webhookPrefix },
  profiles: { partition: keys.userPartition, prefix: keys.profilePrefix },
  /** Event heads and the tombstones of deleted events. */
  eventHeads: { partition: keys.eventHeads, prefix: undefined },
} as const;

export type AccountItemKind = keyof typeof KINDS;

const PAGE_SIZE = 500;

export function accountItemPages(username: string, kind: AccountItemKind): AsyncGenerator<Record<string, unknown>[]> {
  const { partition, prefix } = KINDS[kind];
  return partitionPages(partition(username), { prefix, pageSize: PAGE_SIZE });
}

/**
 * How many items of a kind there are (a count-only Query: DynamoDB reads them but sends none),
 * for an export's progress totals.
 */
export async function countAccountItems(username: string, kind: AccountItemKind): Promise<number> {
  const { partition, prefix } = KINDS[kind];
  let count = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const out = await dynamo().send(
      new QueryCommand({
        TableName: table(),
        KeyConditionExpression: prefix ? 'pk = :pk AND begins_with(sk, :prefix)' : 'pk = :pk',
        ExpressionAttributeValues: prefix ? { ':pk': partition(username), ':prefix': prefix } : { ':pk': partition(username) },
        Select: 'COUNT',
        ExclusiveStartKey: start,
      }),
    );
    count += out.Count ?? 0;
    start = out.LastEvaluatedKey;
  } while (start);
  if (kind !== 'streams' || count === 0) return count;
  // The per-user meta item shares the streams' prefix and is not a stream (isDataMetaItem).
  const meta = await dynamo().send(
    new GetCommand({ TableName: table(), Key: { pk: partition(username), sk: keys.streamPrefix }, ProjectionExpression: 'pk' }),
  );
  return meta.Item ? count - 1 : count;
}

/** The previous versions of one event. */
export const eventHistoryPages = (username: string, eventId: string) =>
  partitionPages(keys.eventHistory(username, eventId), { pageSize: PAGE_SIZE });

/** The meta item among the `streams` kind (`STREAM#`, per-user facts), which is not a stream. */
export const isDataMetaItem = (item: Record<string, unknown>) => item.sk === keys.streamPrefix;

/** The profile set id of a `profiles` item. */
export const profileSetId = (item: Record<string, unknown>) => String(item.sk).slice(keys.profilePrefix.length);
