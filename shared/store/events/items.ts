import { endTime, type StoredEvent } from '../../model/events';
import { type EventState, keys } from '../keys';
import { orderedKey } from '../sort-keys';
import { PUSH_MARK_ATTRIBUTE, writerOf } from '../writer';

/**
 * The items one event consists of (layout in shared/store/keys.ts): its head, which lists
 * the keys of its copies (`ix`), and the copies that make every read a key-range Query.
 */
export const ALL_STREAMS = '*';

/** Largest number of index items one event may have (a transaction holds 100 items). */
export const MAX_INDEX_ITEMS = 95;

export type Key = { pk: string; sk: string };
export const keyString = (k: Key) => `${k.pk}\u0000${k.sk}`;
export const parseKey = (s: string): Key => {
  const [pk, sk] = s.split('\u0000') as [string, string];
  return { pk, sk };
};

/** What the head stores besides the event: its copies' keys, and endTime for filtering. */
export interface EventHead extends StoredEvent {
  pk: string;
  sk: string;
  ix: string[];
  endTime: number;
  /** The request id of the call that wrote this version (shared/store/writer.ts); never returned to clients. */
  rq?: string;
}

/** Stream ids an event is indexed under: its streams (direct) and their ancestors. */
export interface IndexPlacement {
  direct: string[];
  inherited: string[];
}

const stateOf = (e: StoredEvent): EventState => (e.trashed ? 't' : 'a');

/** The copies of an event: per stream (direct or inherited) and state, sync, running. */
export function indexItems(u: string, event: StoredEvent, placement: IndexPlacement): Array<Key & Record<string, unknown>> {
  const state = stateOf(event);
  const timeKey = orderedKey(event.time, event.id);
  const copy = { ...event, endTime: endTime(event) };
  const items: Array<Key & Record<string, unknown>> = [];
  const direct = new Set(placement.direct);
  for (const s of direct) items.push({ pk: keys.eventStream(u, s, state), sk: `d#${timeKey}`, ...copy });
  for (const s of new Set([...placement.inherited, ALL_STREAMS])) {
    if (!direct.has(s)) items.push({ pk: keys.eventStream(u, s, state), sk: `i#${timeKey}`, ...copy });
  }
  items.push({ ...keys.eventSyncKey(u, event.modified, event.id), ...copy });
  if (event.duration === null) items.push({ pk: keys.eventRunning(u), sk: event.id, ...copy });
  return items;
}

/** The head of an event whose copies are `items`. */
export function headItem(u: string, event: StoredEvent, items: Key[]): EventHead {
  return { ...keys.eventHead(u, event.id), ...event, endTime: endTime(event), ix: items.map(keyString), ...writerOf() };
}

/** The event an item holds, without the item's own attributes. */
export function stripItem(item: Record<string, unknown>): StoredEvent {
  const { pk: _pk, sk: _sk, ix: _ix, endTime: _e, rq: _rq, [PUSH_MARK_ATTRIBUTE]: _ps, ...event } = item;
  return event as unknown as StoredEvent;
}

export const eventFromHead = (head: EventHead): StoredEvent => stripItem(head as unknown as Record<string, unknown>);

/**
 * Every item a new event consists of (head first), without conditions: for bulk loading
 * (benchmarks, imports) through BatchWriteItem, where the caller owns uniqueness.
 */
export function newEventItems(u: string, event: StoredEvent, placement: IndexPlacement): Array<Record<string, unknown>> {
  const items = indexItems(u, event, placement);
  return [headItem(u, event, items) as unknown as Record<string, unknown>, ...items];
}
