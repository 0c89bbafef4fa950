import { randomUUID } from 'node:crypto';
import type { DataMeta, StoredStream } from '../model/streams';
import { batchGet } from './batch';
import { dynamo, table } from './clients';
import { GetCommand, UpdateCommand } from './commands';
import { ifConditionHolds } from './conditional';
import { keys } from './keys';
import { queryAll } from './query';
import { type TransactItem, transactWrite } from './transact';
import { WRITER_ATTRIBUTE, writerOf } from './writer';

function strip<T>(item: Record<string, unknown>): T {
  const { pk: _pk, sk: _sk, [WRITER_ATTRIBUTE]: _rq, ...rest } = item;
  return rest as T;
}

/** The data meta as stored on the `STREAM#` item (absent: no stream write yet). */
export function dataMetaOf(item: Record<string, unknown> | undefined): DataMeta {
  const meta: DataMeta = { maxDuration: (item?.maxDuration as number | undefined) ?? 0 };
  if (typeof item?.treeVersion === 'string') meta.treeVersion = item.treeVersion;
  if (typeof item?.accountEvents === 'number') meta.accountEvents = item.accountEvents;
  if (typeof item?.socketsUntil === 'number') meta.socketsUntil = item.socketsUntil;
  if (typeof item?.runningFrom === 'number') meta.runningFrom = item.runningFrom;
  if (item?.runningKnown === true) meta.runningKnown = true;
  if (typeof item?.rewritesUntil === 'number') meta.rewritesUntil = item.rewritesUntil;
  return meta;
}

/**
 * Raises the data meta's `rewritesUntil` to `until` (never lowers it): run before writing
 * event copies that keep their `modified` (see DataMeta.rewritesUntil). One UpdateItem.
 */
export async function markEventRewrites(username: string, until: number): Promise<void> {
  // A failed condition: already as late or later, nothing to raise.
  await ifConditionHolds(
    dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.dataMeta(username),
        UpdateExpression: 'SET rewritesUntil = :t',
        ConditionExpression: 'attribute_not_exists(rewritesUntil) OR rewritesUntil < :t',
        ExpressionAttributeValues: { ':t': until },
      }),
    ),
  );
}

/** The data meta alone (max duration, tree version): one strongly consistent GetItem. */
export async function readDataMeta(username: string): Promise<DataMeta> {
  const out = await dynamo().send(new GetCommand({ TableName: table(), Key: keys.dataMeta(username), ConsistentRead: true }));
  return dataMetaOf(out.Item);
}

/**
 * The one place where the tree version changes: every write to the stream tree carries
 * this item in its transaction (or, for imports, runs it after the writes), so a tree
 * cached under the previous version is never used again.
 */
export const treeVersionBump = (username: string): TransactItem => ({
  Update: {
    TableName: undefined,
    Key: keys.dataMeta(username),
    UpdateExpression: 'SET treeVersion = :v',
    ExpressionAttributeValues: { ':v': randomUUID() },
  },
});

/** The bump on its own, for writers that put stream items without a transaction (imports). */
export async function bumpTreeVersion(username: string): Promise<void> {
  const { Update } = treeVersionBump(username);
  await dynamo().send(new UpdateCommand({ ...Update!, TableName: table() }));
}

/** The whole stream tree of a user and its data meta: one Query. */
export async function loadStreams(username: string): Promise<{ streams: StoredStream[]; meta: DataMeta }> {
  const items = await queryAll({
    TableName: table(),
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': keys.userPartition(username), ':prefix': keys.streamPrefix },
    ConsistentRead: true,
  });
  const streams: StoredStream[] = [];
  let meta: DataMeta = { maxDuration: 0 };
  for (const item of items) {
    if (item.sk === keys.streamPrefix) meta = dataMetaOf(item);
    else streams.push(strip<StoredStream>(item));
  }
  return { streams, meta };
}

/**
 * Some streams and all their ancestors (absent ones left out): one strongly consistent
 * BatchGetItem per tree level, walking up — what a stream write's rules look at, without
 * the whole tree.
 */
export async function loadStreamChains(username: string, ids: readonly string[]): Promise<StoredStream[]> {
  const found = new Map<string, StoredStream>();
  let wanted = [...new Set(ids)];
  // A stored parent cycle stops the walk: every id is asked for once.
  const asked = new Set(wanted);
  while (wanted.length > 0) {
    const items = await batchGet(wanted.map((id) => keys.stream(username, id)));
    const next: string[] = [];
    for (const item of items.values()) {
      const stream = strip<StoredStream>(item);
      found.set(stream.id, stream);
      if (typeof stream.parentId === 'string' && !asked.has(stream.parentId)) {
        asked.add(stream.parentId);
        next.push(stream.parentId);
      }
    }
    wanted = next;
  }
  return [...found.values()];
}

/**
 * Where deleted streams were: the parent their deletion record keeps (`null` = a root), by
 * id; ids without a record (or a record from before parents were kept) are left out. One
 * strongly consistent BatchGetItem.
 */
export async function deletedStreamParents(username: string, ids: readonly string[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  if (ids.length === 0) return out;
  const items = await batchGet([...new Set(ids)].map((id) => keys.streamDeletion(username, id)));
  for (const item of items.values()) {
    if (typeof item.id !== 'string' || !('parentId' in item)) continue;
    out.set(item.id, typeof item.parentId === 'string' ? item.parentId : null);
  }
  return out;
}

/** Stream deletion records since a time (few: one per deleted stream). */
export async function listStreamDeletions(username: string, since: number): Promise<Array<{ id: string; deleted: number }>> {
  const items = await queryAll({
    TableName: table(),
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    FilterExpression: 'deleted > :since',
    ExpressionAttributeValues: { ':pk': keys.userPartition(username), ':prefix': keys.streamDeletionPrefix, ':since': since },
    ConsistentRead: true,
  });
  return items.map((item) => ({ id: item.id as string, deleted: item.deleted as number })).sort((a, b) => a.deleted - b.deleted);
}

/** A stream's item and the claim of its name among its siblings (written without conditions by imports). */
export function streamItems(username: string, stream: StoredStream): [Record<string, unknown>, Record<string, unknown>] {
  return [
    { ...keys.stream(username, stream.id), ...stream, ...writerOf() },
    { ...keys.streamName(username, stream.parentId, stream.name), id: stream.id },
  ];
}

/** What stays of a deleted stream, for `includeDeletionsSince`. */
/** A deletion record; `parentId` (where the stream was) lets the change fan-out tell who could see it. */
export const streamDeletionItem = (username: string, id: string, deleted: number, parentId: string | null = null) => ({
  ...keys.streamDeletion(username, id),
  id,
  deleted,
  parentId,
  ...writerOf(),
});

/** The parent must exist and not be trashed when the write commits. */
const parentLive = (username: string, parentId: string): TransactItem => ({
  ConditionCheck: {
    TableName: undefined,
    Key: keys.stream(username, parentId),
    ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(trashed) OR trashed = :false)',
    ExpressionAttributeValues: { ':false': false },
  },
});

export type StreamWriteOutcome = 'ok' | 'id-taken' | 'name-taken' | 'parent-gone' | 'stale';

/** Creates a stream: unique id, unique name among its siblings, live parent — atomically. */
export async function createStream(username: string, stream: StoredStream): Promise<StreamWriteOutcome> {
  const [item, nameClaim] = streamItems(username, stream);
  const items: TransactItem[] = [
    { Put: { TableName: undefined, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } },
    { Put: { TableName: undefined, Item: nameClaim, ConditionExpression: 'attribute_not_exists(pk)' } },
  ];
  if (stream.parentId) items.push(parentLive(username, stream.parentId));
  items.push(treeVersionBump(username));
  const failed = await transactWrite(items);
  if (failed.includes(0)) return 'id-taken';
  if (failed.includes(1)) return 'name-taken';
  if (failed.length > 0) return 'parent-gone';
  return 'ok';
}

/**
 * Replaces a stream with its updated version if nobody changed it since it was read
 * (`modified` as version), moving its name claim when the name or the parent changes.
 * On a move, `newAncestors` (the target parent first, then its ancestors, as read) must be
 * unchanged at commit and the parent untrashed: otherwise two concurrent moves (a under b,
 * b under a) could both commit and store a cycle. Any change there answers `stale`, so the
 * caller re-reads the tree and checks again.
 */
export async function updateStream(
  username: string,
  before: StoredStream,
  after: StoredStream,
  newAncestors: readonly StoredStream[] = [],
): Promise<StreamWriteOutcome> {
  const items: TransactItem[] = [
    {
      Put: {
        TableName: undefined,
        Item: { ...keys.stream(username, after.id), ...after, ...writerOf() },
        ConditionExpression: 'attribute_exists(pk) AND modified = :m',
        ExpressionAttributeValues: { ':m': before.modified },
      },
    },
  ];
  const renamed = before.name !== after.name || before.parentId !== after.parentId;
  if (renamed) {
    items.push(
      {
        Put: {
          TableName: undefined,
          Item: { ...keys.streamName(username, after.parentId, after.name), id: after.id },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      { Delete: { TableName: undefined, Key: keys.streamName(username, before.parentId, before.name) } },
    );
  }
  const firstAncestor = items.length;
  if (after.parentId && after.parentId !== before.parentId) {
    newAncestors.forEach((ancestor, i) => {
      items.push({
        ConditionCheck: {
          TableName: undefined,
          Key: keys.stream(username, ancestor.id),
          ConditionExpression:
            i === 0
              ? 'attribute_exists(pk) AND modified = :m AND (attribute_not_exists(trashed) OR trashed = :false)'
              : 'attribute_exists(pk) AND modified = :m',
          ExpressionAttributeValues: i === 0 ? { ':m': ancestor.modified, ':false': false } : { ':m': ancestor.modified },
        },
      });
    });
    if (newAncestors.length === 0) items.push(parentLive(username, after.parentId));
  }
  items.push(treeVersionBump(username));
  const failed = await transactWrite(items);
  if (failed.includes(0)) return 'stale';
  if (renamed && failed.includes(1)) return 'name-taken';
  if (failed.some((i) => i >= firstAncestor)) return newAncestors.length > 0 ? 'stale' : 'parent-gone';
  if (failed.length > 0) return 'parent-gone';
  return 'ok';
}

/**
 * Removes streams for good (a trashed subtree), leaving deletion records, in transactions
 * of up to 30 streams (3 items each).
 */
export async function deleteStreams(username: string, streams: StoredStream[], now: number): Promise<void> {
  const CHUNK = 30; // 3 items per stream and the version bump, under the 100-item transaction limit
  for (let i = 0; i < streams.length; i += CHUNK) {
    const items: TransactItem[] = [];
    for (const s of streams.slice(i, i + CHUNK)) {
      items.push(
        { Delete: { TableName: undefined, Key: keys.stream(username, s.id) } },
        { Delete: { TableName: undefined, Key: keys.streamName(username, s.parentId, s.name) } },
        { Put: { TableName: undefined, Item: streamDeletionItem(username, s.id, now, s.parentId ?? null) } },
      );
    }
    items.push(treeVersionBump(username));
    await transactWrite(items);
  }
}

/** Raises the user's max event duration (never lowers it); safe to call concurrently. */
export async function raiseMaxDuration(username: string, duration: number): Promise<void> {
  await ifConditionHolds(
    dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.dataMeta(username),
        UpdateExpression: 'SET maxDuration = :d',
        ConditionExpression: 'attribute_not_exists(maxDuration) OR maxDuration < :d',
        ExpressionAttributeValues: { ':d': duration },
      }),
    ),
  );
}

/**
 * Lowers the earliest time of a running event the data meta knows of (DataMeta.runningFrom)
 * to `time`, never raising it; safe to call concurrently. Called before the write that stores
 * a running event of that time commits, so a read that sees the event's items also sees it.
 */
export async function lowerRunningFrom(username: string, time: number): Promise<void> {
  await ifConditionHolds(
    dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.dataMeta(username),
        UpdateExpression: 'SET runningFrom = :t',
        ConditionExpression: 'attribute_not_exists(runningFrom) OR runningFrom > :t',
        ExpressionAttributeValues: { ':t': time },
      }),
    ),
  );
}

/**
 * Marks the running events as known (DataMeta.runningKnown), after a read of all of them
 * found none or lowered `runningFrom` to the earliest found: those stored later lower it
 * themselves before they commit.
 */
export async function markRunningKnown(username: string): Promise<void> {
  await dynamo().send(
    new UpdateCommand({
      TableName: table(),
      Key: keys.dataMeta(username),
      UpdateExpression: 'SET runningKnown = :k',
      ExpressionAttributeValues: { ':k': true },
    }),
  );
}
