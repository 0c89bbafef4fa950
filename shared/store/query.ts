import { dynamo, table } from './clients';
import { QueryCommand, type QueryCommandInput } from './commands';

type Key = { pk: string; sk: string };

/** A Query's items page by page, for listings too big to hold at once (`Limit` sets the page size). */
export async function* queryPages(input: QueryCommandInput): AsyncGenerator<Record<string, unknown>[]> {
  let start: Record<string, unknown> | undefined;
  do {
    const out = await dynamo().send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
    yield out.Items ?? [];
    start = out.LastEvaluatedKey;
  } while (start);
}

/** Every item of a Query, page after page (for small partitions: a user's streams, accesses…). */
export async function queryAll(input: QueryCommandInput): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for await (const page of queryPages(input)) items.push(...page);
  return items;
}

/** The items of a partition (optionally those whose sort key starts with `prefix`), page by page. */
export function partitionPages(
  pk: string,
  options: { prefix?: string; pageSize?: number } = {},
): AsyncGenerator<Record<string, unknown>[]> {
  return queryPages({
    TableName: table(),
    KeyConditionExpression: options.prefix ? 'pk = :pk AND begins_with(sk, :prefix)' : 'pk = :pk',
    ExpressionAttributeValues: options.prefix ? { ':pk': pk, ':prefix': options.prefix } : { ':pk': pk },
    Limit: options.pageSize,
    ConsistentRead: true,
  });
}

/** Every key of a partition (keys only: cheap). */
export async function partitionKeys(pk: string): Promise<Key[]> {
  const items = await queryAll({
    TableName: table(),
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': pk },
    ProjectionExpression: 'pk, sk',
    ConsistentRead: true,
  });
  return items as Key[];
}

/** Whether a partition has any item (one-item Query). */
export async function partitionHasItems(pk: string): Promise<boolean> {
  const out = await dynamo().send(
    new QueryCommand({
      TableName: table(),
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pk },
      Limit: 1,
      ConsistentRead: true,
    }),
  );
  return (out.Items?.length ?? 0) > 0;
}
