import type { AuditItem } from '../model/audit';
import { batchDelete, batchPut } from './batch';
import { dynamo, table } from './clients';
import { QueryCommand, UpdateCommand } from './commands';
import { keys } from './keys';
import { keyBounds } from './sort-keys';

/**
 * Audit records in DynamoDB: a partition per user (keys.audit), time-ordered, expiring by
 * TTL. The partition is separate from USER#{user} so that account deletion decides what
 * happens to it (erase, keep, pseudonymise: keys.auditKept, keys.auditPseudonymised) and a
 * new account with the same username never sees a previous owner's records.
 */
export const QUERY_PAGE = 200; // items read per page when filtering (accessId, status…)

/** Writes records (BatchWriteItem), retrying what DynamoDB left unprocessed. Throws if it cannot. */
export async function putAuditItems(partition: string, records: AuditItem[], expires: number): Promise<void> {
  await batchPut(records.map((r) => ({ pk: partition, sk: keys.auditRecord(r.time, r.id), ttl: expires, ...r })));
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
      new QueryCommand({
        TableName: table(),
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': from },
        Limit: QUERY_PAGE,
        ConsistentRead: true,
      }),
    );
    const items = page.Items ?? [];
    if (items.length === 0) return moved;
    await batchPut(
      items.map((raw) => {
        const { pk: _pk, sk, ttl, ...item } = raw;
        return { pk: to, sk, ttl, ...transform(item as AuditItem) };
      }),
    );
    await batchDelete(items.map((i) => ({ pk: i.pk as string, sk: i.sk as string })));
    moved += items.length;
  }
}

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
