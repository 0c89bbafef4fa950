import type { EventDeletion, StoredEvent } from '../../model/events';
import { dynamo, table } from '../clients';
import { GetCommand, QueryCommand } from '../commands';
import { keys } from '../keys';
import { queryAll } from '../query';
import { encodeNumber } from '../sort-keys';
import { type EventHead, stripItem } from './items';

/** Counts of what reads cost, for the benchmark (ReturnConsumedCapacity). */
export interface ReadStats {
  requests: number;
  capacity: number;
  items: number;
}

/** The head of an event (or its tombstone): one strongly consistent GetItem. */
export async function getEventHead(u: string, id: string): Promise<{ head?: EventHead; deletion?: EventDeletion }> {
  const out = await dynamo().send(new GetCommand({ TableName: table(), Key: keys.eventHead(u, id), ConsistentRead: true }));
  return eventHeadOf(out.Item);
}

/** An event's head item (or tombstone) as read, or nothing. */
export function eventHeadOf(item: Record<string, unknown> | undefined): { head?: EventHead; deletion?: EventDeletion } {
  if (!item) return {};
  if (item.deleted !== undefined) return { deletion: { id: item.id as string, deleted: item.deleted as number } };
  return { head: item as unknown as EventHead };
}

/** Previous versions, oldest first. */
export async function getHistory(u: string, id: string): Promise<StoredEvent[]> {
  const items = await queryAll({
    TableName: table(),
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': keys.eventHistory(u, id) },
    ConsistentRead: true,
  });
  return items.map(stripItem);
}

/** Running events (open end): few, read whole. */
export async function readRunning(u: string, stats: ReadStats): Promise<StoredEvent[]> {
  const items = await queryAll({
    TableName: table(),
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': keys.eventRunning(u) },
    ConsistentRead: true,
  });
  stats.requests++;
  stats.items += items.length;
  return items.map(stripItem);
}

/** One page of the change index after `since` (at most `limit` items), oldest change first. */
async function changesPage(
  u: string,
  since: number,
  stats: ReadStats,
  options: { limit?: number; start?: Record<string, unknown> },
): Promise<{ events: StoredEvent[]; deletions: EventDeletion[]; next?: Record<string, unknown> }> {
  const out = await dynamo().send(
    new QueryCommand({
      TableName: table(),
      KeyConditionExpression: 'pk = :pk AND sk > :since',
      ExpressionAttributeValues: { ':pk': keys.eventSync(u), ':since': `${encodeNumber(since)}#\uffff` },
      ConsistentRead: true,
      ExclusiveStartKey: options.start,
      Limit: options.limit,
      ReturnConsumedCapacity: 'TOTAL',
    }),
  );
  stats.requests++;
  stats.capacity += out.ConsumedCapacity?.CapacityUnits ?? 0;
  stats.items += out.Items?.length ?? 0;
  const events: StoredEvent[] = [];
  const deletions: EventDeletion[] = [];
  for (const item of out.Items ?? []) {
    if (item.deleted !== undefined) deletions.push({ id: item.id as string, deleted: item.deleted as number });
    else events.push(stripItem(item));
  }
  return { events, deletions, next: out.LastEvaluatedKey };
}

/** Everything modified (or deleted) strictly after `since`, oldest change first. */
export async function readModifiedSince(
  u: string,
  since: number,
  stats: ReadStats,
): Promise<{ events: StoredEvent[]; deletions: EventDeletion[] }> {
  const events: StoredEvent[] = [];
  const deletions: EventDeletion[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await changesPage(u, since, stats, { start });
    events.push(...page.events);
    deletions.push(...page.deletions);
    start = page.next;
  } while (start);
  return { events, deletions };
}

/**
 * The changes (new versions and deletions) with `modified` (or `deleted`) strictly after
 * `since`, at most `limit` of them: one strongly consistent Query of the change index.
 * `more` says the index may hold further ones.
 */
export async function readChangesSince(
  u: string,
  since: number,
  limit: number,
  stats: ReadStats,
): Promise<{ events: StoredEvent[]; deletions: EventDeletion[]; more: boolean }> {
  const { events, deletions, next } = await changesPage(u, since, stats, { limit });
  return { events, deletions, more: next !== undefined };
}

/** Ids of the events directly in a stream (any state): for stream deletion. */
export async function eventIdsInStream(u: string, streamId: string): Promise<string[]> {
  const ids = new Set<string>();
  for (const state of ['a', 't'] as const) {
    const items = await queryAll({
      TableName: table(),
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :d)',
      ExpressionAttributeValues: { ':pk': keys.eventStream(u, streamId, state), ':d': 'd#' },
      ProjectionExpression: 'id',
      ConsistentRead: true,
    });
    for (const item of items) ids.add(item.id as string);
  }
  return [...ids];
}
