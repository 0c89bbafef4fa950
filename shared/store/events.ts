import { BatchWriteCommand, GetCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './clients';
import { queryAll } from './query';
import { batchDelete, deletePartition } from './purge';
import { config } from '../config';
import { transactWrite, type TransactItem } from './transact';
import { encodeNumber, orderedKey } from './sort-keys';
import { endTime, RUNNING_END, type EventDeletion, type StoredEvent } from '../model/events';
import { newId } from '../ids';

/**
 * Events on DynamoDB, with every read a key-range Query (ARCHITECTURE §5). Items, all in
 * the base table so that reads are strongly consistent (read-your-writes for clients):
 *
 *   EV#{user}                   {id}                        the event (head), or its tombstone
 *   ES#{user}#{stream}#{a|t}    d#{time}#{id} | i#{time}#{id}   a copy per stream of the event (d = directly in it) and per
 *                                                           ancestor of those (i = in a descendant); stream `*` holds all
 *   EM#{user}                   {modified}#{id}             a copy ordered by modification (sync), tombstones by deletion time
 *   ER#{user}                   {id}                        running events (open end), few
 *   EH#{user}#{id}              {modified}#{n}              previous versions (history)
 *
 * `a|t`: active or trashed. The head lists the keys of its copies (`ix`), so updates and
 * deletions remove exactly what was written even after the stream tree changed.
 */
const table = () => config().tableName;

export const ALL_STREAMS = '*';
export type EventState = 'a' | 't';
const stateOf = (e: StoredEvent): EventState => (e.trashed ? 't' : 'a');

const headKey = (u: string, id: string) => ({ pk: `EV#${u}`, sk: id });
const streamPartition = (u: string, streamId: string, state: EventState) => `ES#${u}#${streamId}#${state}`;
const syncPartition = (u: string) => `EM#${u}`;
const runningPartition = (u: string) => `ER#${u}`;
const historyPartition = (u: string, id: string) => `EH#${u}#${id}`;

/** Largest number of index items one event may have (a transaction holds 100 items). */
export const MAX_INDEX_ITEMS = 95;

type Key = { pk: string; sk: string };
const keyString = (k: Key) => `${k.pk}\u0000${k.sk}`;
const parseKey = (s: string): Key => {
  const [pk, sk] = s.split('\u0000') as [string, string];
  return { pk, sk };
};

/** What the head stores besides the event: its copies' keys, and endTime for filtering. */
interface HeadItem extends StoredEvent {
  pk: string;
  sk: string;
  ix: string[];
  endTime: number;
}

/** Stream ids an event is indexed under: its streams (direct) and their ancestors. */
export interface IndexPlacement {
  direct: string[];
  inherited: string[];
}

function indexItems(u: string, event: StoredEvent, placement: IndexPlacement): Array<Key & Record<string, unknown>> {
  const state = stateOf(event);
  const timeKey = orderedKey(event.time, event.id);
  const copy = { ...event, endTime: endTime(event) };
  const items: Array<Key & Record<string, unknown>> = [];
  const direct = new Set(placement.direct);
  for (const s of direct) items.push({ pk: streamPartition(u, s, state), sk: `d#${timeKey}`, ...copy });
  for (const s of new Set([...placement.inherited, ALL_STREAMS])) {
    if (!direct.has(s)) items.push({ pk: streamPartition(u, s, state), sk: `i#${timeKey}`, ...copy });
  }
  items.push({ pk: syncPartition(u), sk: orderedKey(event.modified, event.id), ...copy });
  if (event.duration === null) items.push({ pk: runningPartition(u), sk: event.id, ...copy });
  return items;
}

function stripItem(item: Record<string, unknown>): StoredEvent {
  const { pk: _pk, sk: _sk, ix: _ix, endTime: _e, ...event } = item;
  return event as unknown as StoredEvent;
}

export type EventWriteOutcome = 'ok' | 'exists' | 'stale' | 'streams-gone' | 'gone';

/** Transaction items checking that streams still exist and are not trashed. */
function streamsLive(u: string, streamIds: string[]): TransactItem[] {
  return streamIds.map((id) => ({
    ConditionCheck: {
      TableName: undefined,
      Key: { pk: `USER#${u}`, sk: `STREAM#${id}` },
      ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(trashed) OR trashed = :false)',
      ExpressionAttributeValues: { ':false': false },
    },
  }));
}

/**
 * Writes an event's head and its index copies in one transaction. `expectModified`
 * (update) makes it conditional on the stored version, so concurrent updates never
 * overwrite each other silently; `liveStreams` are checked to exist, untrashed, at commit.
 */
async function writeEvent(
  u: string,
  event: StoredEvent,
  placement: IndexPlacement,
  options: { create: boolean; previous?: HeadItem; liveStreams: string[]; history?: StoredEvent },
): Promise<EventWriteOutcome> {
  const items = indexItems(u, event, placement);
  if (items.length > MAX_INDEX_ITEMS) throw new Error('too many index items');
  const head: HeadItem = { ...headKey(u, event.id), ...event, endTime: endTime(event), ix: items.map(keyString) };
  const tx: TransactItem[] = [
    {
      Put: {
        TableName: undefined,
        Item: head,
        ConditionExpression: options.create ? 'attribute_not_exists(pk)' : 'modified = :m AND attribute_not_exists(deleted)',
        ExpressionAttributeValues: options.create ? undefined : { ':m': options.previous!.modified },
      },
    },
  ];
  const newKeys = new Set(head.ix);
  for (const item of items) tx.push({ Put: { TableName: undefined, Item: item } });
  for (const old of options.previous?.ix ?? []) {
    if (!newKeys.has(old)) tx.push({ Delete: { TableName: undefined, Key: parseKey(old) } });
  }
  if (options.history) {
    const h = options.history;
    tx.push({ Put: { TableName: undefined, Item: { pk: historyPartition(u, h.id), sk: orderedKey(h.modified, newId()), ...h } } });
  }
  const checks = streamsLive(u, options.liveStreams);
  const failed = await transactWrite([...tx, ...checks]);
  if (failed.length === 0) return 'ok';
  if (failed.includes(0)) return options.create ? 'exists' : 'stale';
  return 'streams-gone';
}

/**
 * Every item a new event consists of (head first), without conditions: for bulk loading
 * (benchmarks, imports) through BatchWriteItem, where the caller owns uniqueness.
 */
export function newEventItems(u: string, event: StoredEvent, placement: IndexPlacement): Array<Record<string, unknown>> {
  const items = indexItems(u, event, placement);
  const head: HeadItem = { ...headKey(u, event.id), ...event, endTime: endTime(event), ix: items.map(keyString) };
  return [head as unknown as Record<string, unknown>, ...items];
}

/** Writes items with BatchWriteItem (25 per request), retrying what DynamoDB left unprocessed. */
export async function batchPut(items: Array<Record<string, unknown>>): Promise<void> {
  for (let i = 0; i < items.length; i += 25) {
    let requests = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt > 8) throw new Error('batch write: items left unprocessed');
      const out = await dynamo().send(new BatchWriteCommand({ RequestItems: { [table()]: requests } }));
      requests = (out.UnprocessedItems?.[table()] ?? []) as typeof requests;
      if (requests.length > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
    }
  }
}

export function createEvent(u: string, event: StoredEvent, placement: IndexPlacement): Promise<EventWriteOutcome> {
  return writeEvent(u, event, placement, { create: true, liveStreams: event.streamIds });
}

/** Replaces an event read earlier (`previous`) with its new version. */
export function updateEvent(
  u: string,
  previous: HeadItem,
  event: StoredEvent,
  placement: IndexPlacement,
  options: { keepHistory: boolean; liveStreams: string[] },
): Promise<EventWriteOutcome> {
  return writeEvent(u, event, placement, {
    create: false,
    previous,
    liveStreams: options.liveStreams,
    history: options.keepHistory ? stripItem(previous as unknown as Record<string, unknown>) : undefined,
  });
}

export type EventHead = HeadItem;

/** The head of an event (or its tombstone): one strongly consistent GetItem. */
export async function getEventHead(u: string, id: string): Promise<{ head?: HeadItem; deletion?: EventDeletion }> {
  const out = await dynamo().send(new GetCommand({ TableName: table(), Key: headKey(u, id), ConsistentRead: true }));
  const item = out.Item;
  if (!item) return {};
  if (item.deleted !== undefined) return { deletion: { id: item.id as string, deleted: item.deleted as number } };
  return { head: item as HeadItem };
}

export const eventFromHead = (head: HeadItem): StoredEvent => stripItem(head as unknown as Record<string, unknown>);

/** Previous versions, oldest first. */
export async function getHistory(u: string, id: string): Promise<StoredEvent[]> {
  const items = await queryAll({
    TableName: table(),
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': historyPartition(u, id) },
    ConsistentRead: true,
  });
  return items.map(stripItem);
}

/**
 * Deletes an event for good: the head becomes a tombstone (kept for sync), its copies and
 * history go. Conditional on the version read, like updates.
 */
export async function deleteEvent(u: string, previous: HeadItem, now: number): Promise<EventWriteOutcome> {
  const syncItem = keyString({ pk: syncPartition(u), sk: orderedKey(now, previous.id) });
  const tombstone = { ...headKey(u, previous.id), id: previous.id, deleted: now, ix: [syncItem] };
  const tx: TransactItem[] = [
    {
      Put: {
        TableName: undefined,
        Item: tombstone,
        ConditionExpression: 'modified = :m AND attribute_not_exists(deleted)',
        ExpressionAttributeValues: { ':m': previous.modified },
      },
    },
    { Put: { TableName: undefined, Item: { pk: syncPartition(u), sk: orderedKey(now, previous.id), id: previous.id, deleted: now } } },
  ];
  // Trashed at the same `now` (e.g. earlier in the same batch): the old sync item is the one
  // the Put above overwrites, and one transaction cannot both put and delete an item.
  for (const old of previous.ix) if (old !== syncItem) tx.push({ Delete: { TableName: undefined, Key: parseKey(old) } });
  const failed = await transactWrite(tx);
  if (failed.length > 0) return 'stale';
  await deleteHistory(u, previous.id);
  return 'ok';
}

async function deleteHistory(u: string, id: string): Promise<void> {
  await deletePartition(historyPartition(u, id));
}


// ---------------------------------------------------------------------------------------
// Reads

/** One key range to read: a stream partition's direct (`d`) or inherited (`i`) copies. */
export interface TimeSource {
  streamId: string;
  state: EventState;
  kind: 'd' | 'i';
}

export interface TimeRange {
  /** Inclusive bounds on `time`; use ±Infinity for none. */
  from: number;
  to: number;
}

/** Counts of what reads cost, for the benchmark (ReturnConsumedCapacity). */
export interface ReadStats {
  requests: number;
  capacity: number;
  items: number;
}

const PAGE_MIN = 20;
const PAGE_MAX = 1000;

/**
 * Iterates one key range in time order, fetching pages lazily: the merge asks for more only
 * when it needs the next item, so reads stop as soon as the answer is complete.
 */
class RangeCursor {
  private buffer: StoredEvent[] = [];
  private position = 0;
  private start?: Record<string, unknown>;
  private done = false;
  private first = true;

  constructor(
    private readonly input: QueryCommandInput,
    private readonly pageSize: () => number,
    private readonly stats: ReadStats,
  ) {}

  async peek(): Promise<StoredEvent | undefined> {
    while (this.position >= this.buffer.length) {
      if (this.done) return undefined;
      await this.fetch();
    }
    return this.buffer[this.position];
  }

  next(): void {
    this.position++;
  }

  private async fetch(): Promise<void> {
    const out = await dynamo().send(
      new QueryCommand({
        ...this.input,
        ExclusiveStartKey: this.first ? undefined : this.start,
        Limit: Math.max(PAGE_MIN, Math.min(PAGE_MAX, this.pageSize())),
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    this.first = false;
    this.stats.requests++;
    this.stats.capacity += out.ConsumedCapacity?.CapacityUnits ?? 0;
    this.stats.items += out.Items?.length ?? 0;
    this.buffer = (out.Items ?? []).map(stripItem);
    this.position = 0;
    this.start = out.LastEvaluatedKey;
    if (!this.start) this.done = true;
  }
}

export interface TimeOrderedRead {
  sources: TimeSource[];
  range: TimeRange;
  ascending: boolean;
  /** Items the caller will keep at most (skip + limit); undefined = all. */
  want?: number;
  /** In-memory predicate for what key ranges cannot express (streams, types, period ends…). */
  accept: (event: StoredEvent) => boolean;
  /** Events already in memory to merge in (running events that began before the range). */
  extra?: StoredEvent[];
}

/** A cursor over events already in memory, in the read's order. */
class ListCursor {
  private position = 0;
  constructor(private readonly events: StoredEvent[]) {}
  async peek(): Promise<StoredEvent | undefined> {
    return this.events[this.position];
  }
  next(): void {
    this.position++;
  }
}

const compare = (a: StoredEvent, b: StoredEvent) => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Merges several time-ordered key ranges (k-way merge), dropping duplicates (an event in
 * two read streams), and yields accepted events in order.
 */
export async function* readByTime(u: string, read: TimeOrderedRead, stats: ReadStats): AsyncGenerator<StoredEvent> {
  let kept = 0;
  const pageSize = () => (read.want === undefined ? PAGE_MAX : read.want - kept + 1);
  // An empty range (from > to: e.g. fromTime after toTime) reads nothing; DynamoDB refuses
  // BETWEEN with bounds in that order. Only the events given in memory remain.
  const sources = read.range.from <= read.range.to ? read.sources : [];
  const cursors: Array<RangeCursor | ListCursor> = sources.map((s) => {
    const lower = `${s.kind}#${encodeNumber(read.range.from)}#`;
    const upper = `${s.kind}#${encodeNumber(read.range.to)}#\uffff`;
    return new RangeCursor(
      {
        TableName: table(),
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
        ExpressionAttributeValues: { ':pk': streamPartition(u, s.streamId, s.state), ':lo': lower, ':hi': upper },
        ScanIndexForward: read.ascending,
        ConsistentRead: true,
      },
      pageSize,
      stats,
    );
  });
  if (read.extra?.length) {
    const sorted = [...read.extra].sort((a, b) => (read.ascending ? compare(a, b) : compare(b, a)));
    cursors.push(new ListCursor(sorted));
  }
  const seen = new Set<string>();
  for (;;) {
    let best: { cursor: RangeCursor | ListCursor; event: StoredEvent } | undefined;
    for (const cursor of cursors) {
      const event = await cursor.peek();
      if (!event) continue;
      if (!best || (read.ascending ? compare(event, best.event) < 0 : compare(event, best.event) > 0)) best = { cursor, event };
    }
    if (!best) return;
    best.cursor.next();
    if (seen.has(best.event.id)) continue;
    seen.add(best.event.id);
    if (!read.accept(best.event)) continue;
    kept++;
    yield best.event;
  }
}

/** Running events (open end): few, read whole. */
export async function readRunning(u: string, stats: ReadStats): Promise<StoredEvent[]> {
  const items = await queryAll({
    TableName: table(),
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': runningPartition(u) },
    ConsistentRead: true,
  });
  stats.requests++;
  stats.items += items.length;
  return items.map(stripItem);
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
    const out = await dynamo().send(
      new QueryCommand({
        TableName: table(),
        KeyConditionExpression: 'pk = :pk AND sk > :since',
        ExpressionAttributeValues: { ':pk': syncPartition(u), ':since': `${encodeNumber(since)}#\uffff` },
        ConsistentRead: true,
        ExclusiveStartKey: start,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    stats.requests++;
    stats.capacity += out.ConsumedCapacity?.CapacityUnits ?? 0;
    stats.items += out.Items?.length ?? 0;
    for (const item of out.Items ?? []) {
      if (item.deleted !== undefined) deletions.push({ id: item.id as string, deleted: item.deleted as number });
      else events.push(stripItem(item));
    }
    start = out.LastEvaluatedKey;
  } while (start);
  return { events, deletions };
}

/** Ids of the events directly in a stream (any state): for stream deletion. */
export async function eventIdsInStream(u: string, streamId: string): Promise<string[]> {
  const ids = new Set<string>();
  for (const state of ['a', 't'] as const) {
    const items = await queryAll({
      TableName: table(),
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :d)',
      ExpressionAttributeValues: { ':pk': streamPartition(u, streamId, state), ':d': 'd#' },
      ProjectionExpression: 'id',
      ConsistentRead: true,
    });
    for (const item of items) ids.add(item.id as string);
  }
  return [...ids];
}

export { RUNNING_END };

/**
 * Removes every event item of a user for account deletion: each head's index copies (its
 * `ix`) and history, then whatever the user's partitions still hold (stream partitions of
 * `streamIds` and `*`, sync, running, heads). Heads go last, so a retry after an
 * interruption still finds what is left. Safe to repeat.
 */
export async function purgeUserEvents(u: string, streamIds: string[]): Promise<void> {
  const heads = await queryAll({
    TableName: table(),
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': `EV#${u}` },
    ProjectionExpression: 'pk, sk, ix',
    ConsistentRead: true,
  });
  for (const head of heads) {
    await batchDelete(((head.ix as string[] | undefined) ?? []).map(parseKey));
    await deletePartition(historyPartition(u, head.sk as string));
  }
  for (const streamId of new Set([...streamIds, ALL_STREAMS])) {
    for (const state of ['a', 't'] as const) await deletePartition(streamPartition(u, streamId, state));
  }
  await deletePartition(syncPartition(u));
  await deletePartition(runningPartition(u));
  await deletePartition(`EV#${u}`);
}
