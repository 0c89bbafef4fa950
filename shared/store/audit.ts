import { BatchWriteCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './clients';
import { config } from '../config';
import { keys } from './keys';
import { batchDelete } from './purge';
import { encodeNumber, keyBounds } from './sort-keys';
import type { AuditItem } from '../model/audit';

/**
 * Audit records in DynamoDB: a partition per user, time-ordered, expiring by TTL.
 *
 *   AUDIT#{user}                  {time}#{id}    one record per API call (see shared/domain/audit.ts)
 *   AUDITKEPT#{user}#{deleted}    {time}#{id}    kept after account deletion (AUDIT_ON_ACCOUNT_DELETION=keep)
 *   AUDITPSEUDO#{pseudonym}       {time}#{id}    pseudonymised after account deletion (no username, no IP)
 *
 * The partition is separate from USER#{user} so that account deletion decides what happens
 * to it (erase, keep, pseudonymise) and a new account with the same username never sees
 * a previous owner's records.
 */
const table = () => config().tableName;
const BATCH_WRITE_MAX = 25; // DynamoDB BatchWriteItem limit
const MAX_WRITE_ATTEMPTS = 8; // unprocessed items are retried with exponential backoff
export const QUERY_PAGE = 200; // items read per page when filtering (accessId, status…)

export const auditSortKey = (time: number, id: string) => `${encodeNumber(time)}#${id}`;

/** Writes records (25 per BatchWriteItem), retrying what DynamoDB left unprocessed. Throws if it cannot. */
export async function putAuditItems(partition: string, records: AuditItem[], expires: number): Promise<void> {
  const items = records.map((r) => ({ pk: partition, sk: auditSortKey(r.time, r.id), ttl: expires, ...r }));
  await batchPutRaw(items);
}

async function batchPutRaw(items: Array<Record<string, unknown>>): Promise<void> {
  for (let i = 0; i < items.length; i += BATCH_WRITE_MAX) {
    let requests = items.slice(i, i + BATCH_WRITE_MAX).map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt >= MAX_WRITE_ATTEMPTS) throw new Error('audit write: items left unprocessed');
      const out = await dynamo().send(new BatchWriteCommand({ RequestItems: { [table()]: requests } }));
      requests = (out.UnprocessedItems?.[table()] ?? []) as typeof requests;
      if (requests.length > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
    }
  }
}

export interface AuditQuery {
  fromTime: number;
  toTime: number;
  ascending: boolean;
  limit: number;
  /** Kept records must pass it (accessId, status… filters); applied page by page. */
  accept: (item: AuditItem) => boolean;
  /** Items whose TTL passed but that DynamoDB has not removed yet are skipped. */
  now: number;
}

/** Records of a partition within a time range, newest first unless ascending, up to `limit`. */
export async function queryAudit(partition: string, q: AuditQuery): Promise<AuditItem[]> {
  const [from, to] = keyBounds(q.fromTime, q.toTime);
  const out: AuditItem[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await dynamo().send(
      new QueryCommand({
        TableName: table(),
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': partition, ':from': from, ':to': to },
        ScanIndexForward: q.ascending,
        Limit: QUERY_PAGE,
        ExclusiveStartKey: start,
        ConsistentRead: true,
      }),
    );
    for (const raw of page.Items ?? []) {
      const { pk: _pk, sk: _sk, ttl, ...item } = raw;
      if (typeof ttl === 'number' && ttl <= q.now) continue;
      if (!q.accept(item as AuditItem)) continue;
      out.push(item as AuditItem);
      if (out.length >= q.limit) return out;
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}

/**
 * Moves a partition's records elsewhere, page by page (copy, then delete the page), each
 * reshaped by `transform`. Safe to repeat after an interruption: a record is removed only
 * once its copy is written.
 */
export async function moveAuditPartition(from: string, to: string, transform: (item: AuditItem) => AuditItem): Promise<number> {
  let moved = 0;
  for (;;) {
    const page = await dynamo().send(
      new QueryCommand({ TableName: table(), KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': from }, Limit: QUERY_PAGE, ConsistentRead: true }),
    );
    const items = page.Items ?? [];
    if (items.length === 0) return moved;
    await batchPutRaw(
      items.map((raw) => {
        const { pk: _pk, sk, ttl, ...item } = raw;
        return { pk: to, sk, ttl, ...transform(item as AuditItem) };
      }),
    );
    await batchDelete(items.map((i) => ({ pk: i.pk as string, sk: i.sk as string })));
    moved += items.length;
  }
}

export const auditPartitions = {
  live: (username: string) => keys.audit(username),
  kept: (username: string, deleted: number) => `AUDITKEPT#${username}#${Math.floor(deleted)}`,
  pseudonymised: (pseudonym: string) => `AUDITPSEUDO#${pseudonym}`,
};

/**
 * The pseudonym of a user's audit records, fixed on the account item the first time it is
 * asked for, so that a deletion retried after an interruption keeps using the same one.
 */
export async function auditPseudonymFor(username: string, candidate: string): Promise<string> {
  const out = await dynamo().send(
    new UpdateCommand({
      TableName: table(),
      Key: keys.account(username),
      UpdateExpression: 'SET auditPseudonym = if_not_exists(auditPseudonym, :p)',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':p': candidate },
      ReturnValues: 'ALL_NEW',
    }),
  );
  return out.Attributes!.auditPseudonym as string;
}
