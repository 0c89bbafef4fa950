import { errors } from '../../errors';
import { newId } from '../../ids';
import { LIMITS } from '../../limits';
import type { StoredEvent } from '../../model/events';
import type { PushMark } from '../../model/notifications';
import { keys } from '../keys';
import { deletePartition } from '../purge';
import { type TransactItem, transactWrite } from '../transact';
import { PUSH_MARK_ATTRIBUTE, writerOf } from '../writer';
import { type EventHead, headItem, type IndexPlacement, indexItems, keyString, MAX_INDEX_ITEMS, parseKey, stripItem } from './items';

export type EventWriteOutcome = 'ok' | 'exists' | 'stale' | 'streams-gone';

/** Transaction items checking that streams still exist and are not trashed. */
function streamsLive(u: string, streamIds: string[]): TransactItem[] {
  return streamIds.map((id) => ({
    ConditionCheck: {
      TableName: undefined,
      Key: keys.stream(u, id),
      ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(trashed) OR trashed = :false)',
      ExpressionAttributeValues: { ':false': false },
    },
  }));
}

/**
 * Writes an event's head and its index copies in one transaction. An update is conditional
 * on the stored version (`previous.modified`), so concurrent updates never overwrite each
 * other silently; `liveStreams` are checked to exist, untrashed, at commit.
 */
async function writeEvent(
  u: string,
  event: StoredEvent,
  placement: IndexPlacement,
  options: { create: boolean; previous?: EventHead; liveStreams: string[]; history?: StoredEvent; push?: PushMark },
): Promise<EventWriteOutcome> {
  const items = indexItems(u, event, placement);
  if (items.length > MAX_INDEX_ITEMS) throw new Error('too many index items');
  const head = { ...headItem(u, event, items), ...pushMarked(options.push) };
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
  if (options.history) tx.push({ Put: { TableName: undefined, Item: eventHistoryItem(u, event.id, options.history) } });
  checkWriteSize(event, 1 + items.length, options.history);
  const failed = await transactWrite([...tx, ...streamsLive(u, options.liveStreams)]);
  if (failed.length === 0) return 'ok';
  if (failed.includes(0)) return options.create ? 'exists' : 'stale';
  return 'streams-gone';
}

/** The head's mark of a direct push by its writer (shared/store/socket-pushes.ts), when there is one. */
const pushMarked = (push: PushMark | undefined) => (push ? { [PUSH_MARK_ATTRIBUTE]: push } : {});

/**
 * Every copy holds the whole event, and one transaction carries at most 4 MB: an event too
 * large for its number of copies is refused, naming its largest field, before the call.
 */
function checkWriteSize(event: StoredEvent, copies: number, history?: StoredEvent): void {
  const historyBytes = history ? Buffer.byteLength(JSON.stringify(history)) : 0;
  // An upper bound of the sum below first: each field's value is written in the event's JSON
  // text as it is alone, UTF-8 takes at most 3 bytes per UTF-16 unit, plus every name. An
  // event far below the limit (nearly all) passes on one serialisation instead of one a field.
  let bound = JSON.stringify(event).length * 3;
  for (const name in event) bound += name.length;
  if (bound * copies + historyBytes <= LIMITS.transactionBytes) return;
  const fields = Object.entries(event).map(
    ([name, value]) => [name, Buffer.byteLength(JSON.stringify(value) ?? '') + name.length] as const,
  );
  const eventBytes = fields.reduce((sum, [, bytes]) => sum + bytes, 0);
  const total = eventBytes * copies + historyBytes;
  if (total <= LIMITS.transactionBytes) return;
  const [largest] = [...fields].sort((a, b) => b[1] - a[1])[0]!;
  const message =
    `"${largest}" is too large for an event in these streams: its ${copies} copies (one per stream and ancestor, for fast reads) ` +
    `would take about ${total} bytes, at most ${LIMITS.transactionBytes} can be written at once. Make it smaller, or attach it as a file.`;
  throw errors.invalidParametersFormat(message, [{ code: 'TOO_LARGE', message, path: `#/${largest}`, param: largest }]);
}

/** A previous version of an event, kept in its history partition. */
export function eventHistoryItem(u: string, eventId: string, version: StoredEvent): Record<string, unknown> {
  return { ...keys.eventHistoryKey(u, eventId, version.modified, newId()), ...version };
}

export function createEvent(u: string, event: StoredEvent, placement: IndexPlacement, push?: PushMark): Promise<EventWriteOutcome> {
  return writeEvent(u, event, placement, { create: true, liveStreams: event.streamIds, push });
}

/** Replaces an event read earlier (`previous`) with its new version. */
export function updateEvent(
  u: string,
  previous: EventHead,
  event: StoredEvent,
  placement: IndexPlacement,
  options: { keepHistory: boolean; liveStreams: string[]; push?: PushMark },
): Promise<EventWriteOutcome> {
  return writeEvent(u, event, placement, {
    create: false,
    previous,
    liveStreams: options.liveStreams,
    push: options.push,
    history: options.keepHistory ? stripItem(previous as unknown as Record<string, unknown>) : undefined,
  });
}

/**
 * The head and sync items of a deleted event (its tombstone): kept so that sync reports the
 * deletion. The head keeps the record's `integrity` when it has one.
 */
export function eventDeletionItems(
  u: string,
  id: string,
  deleted: number,
  integrity?: string,
  push?: PushMark,
): Array<Record<string, unknown>> {
  const sync = keys.eventSyncKey(u, deleted, id);
  return [
    {
      ...keys.eventHead(u, id),
      id,
      deleted,
      ...(integrity ? { integrity } : {}),
      ix: [keyString(sync)],
      ...writerOf(),
      ...pushMarked(push),
    },
    { ...sync, id, deleted },
  ];
}

/**
 * Deletes an event for good: the head becomes a tombstone (kept for sync), its copies and
 * history go. Conditional on the version read, like updates.
 */
export async function deleteEvent(
  u: string,
  previous: EventHead,
  now: number,
  integrity?: string,
  push?: PushMark,
): Promise<'ok' | 'stale'> {
  const [tombstone, syncItem] = eventDeletionItems(u, previous.id, now, integrity, push) as [
    Record<string, unknown>,
    Record<string, unknown>,
  ];
  const syncKey = keyString(keys.eventSyncKey(u, now, previous.id));
  const tx: TransactItem[] = [
    {
      Put: {
        TableName: undefined,
        Item: tombstone,
        ConditionExpression: 'modified = :m AND attribute_not_exists(deleted)',
        ExpressionAttributeValues: { ':m': previous.modified },
      },
    },
    { Put: { TableName: undefined, Item: syncItem } },
  ];
  // Trashed at the same `now` (e.g. earlier in the same batch): the old sync item is the one
  // the Put above overwrites, and one transaction cannot both put and delete an item.
  for (const old of previous.ix) if (old !== syncKey) tx.push({ Delete: { TableName: undefined, Key: parseKey(old) } });
  const failed = await transactWrite(tx);
  if (failed.length > 0) return 'stale';
  await deletePartition(keys.eventHistory(u, previous.id));
  return 'ok';
}
