import { errors } from '../../errors';
import { newId } from '../../ids';
import type { Account } from '../../model/accounts';
import type { StoredEvent } from '../../model/events';
import type { DataMeta } from '../../model/streams';
import {
  type AccountValueWrite,
  createMissingAccountEvents,
  readActiveAccountEvents,
  releaseUniqueValue,
  writeAccountValues,
} from '../../store/account-events';
import { getAccount } from '../../store/accounts';
import type { EventHead, IndexPlacement } from '../../store/events/items';
import { getEventHead } from '../../store/events/read';
import { readDataMeta } from '../../store/streams';
import { nextModified, retryOnStale, STALE } from '../concurrency';
import { sealEvent } from '../events/integrity';
import {
  ACTIVE_STREAM,
  accountFields,
  isSystemStreamId,
  type SystemStreamDefinition,
  systemAncestors,
  systemStream,
  UNIQUE_STREAM,
} from './definitions';

/**
 * Account field values as events (Pryv API reference §7): each value is an event in its
 * field's stream; the current one also carries `:_system:active` (and `:_system:unique` for
 * unique fields). Written at registration; an account created before they existed gets them
 * on first need (`ensureAccountEvents`, from its account item). The account item keeps a
 * mirror of the legacy fields (email, language…) in the same transactions, for the code that
 * reads it (mails, look-ups, deletion). Storage counters are not rewritten on every write:
 * their events' content is the account's counters at the time of the read.
 */

/** Who writes: `system` at registration, else the calling access. */
export interface ValueWriter {
  username: string;
  now: number;
  author: string;
}

/** Where an account event is indexed: its streams and their system ancestors. */
export function systemPlacement(streamIds: readonly string[]): IndexPlacement {
  const inherited = new Set<string>();
  for (const id of streamIds) for (const a of systemAncestors(id)) inherited.add(a);
  return { direct: [...streamIds], inherited: [...inherited].filter((id) => !streamIds.includes(id)) };
}

/** The streams of a current value of this field. */
export const activeStreamIds = (field: SystemStreamDefinition): string[] =>
  field.unique ? [field.id, ACTIVE_STREAM, UNIQUE_STREAM] : [field.id, ACTIVE_STREAM];

/** The field an account event holds a value of (its one account field stream). */
export function fieldOf(streamIds: readonly string[]): SystemStreamDefinition | undefined {
  for (const id of streamIds) {
    const def = systemStream(id);
    if (def?.type !== undefined) return def;
  }
  return undefined;
}

export const isActiveValue = (event: { streamIds: readonly string[] }) => event.streamIds.includes(ACTIVE_STREAM);

function valueEvent(
  field: SystemStreamDefinition,
  value: string | number,
  writer: ValueWriter,
  extra: Partial<StoredEvent> = {},
): StoredEvent {
  return sealEvent({
    id: newId(),
    time: writer.now,
    ...extra,
    streamIds: activeStreamIds(field),
    type: extra.type ?? field.type!,
    content: value,
    created: writer.now,
    createdBy: writer.author,
    modified: writer.now,
    modifiedBy: writer.author,
  });
}

/** The value events of a new account, from the registration fields (or an account item): written with the account. */
export function initialAccountEvents(
  fields: Partial<Record<string, unknown>>,
  writer: ValueWriter,
): Array<{ event: StoredEvent; placement: IndexPlacement }> {
  const out: Array<{ event: StoredEvent; placement: IndexPlacement }> = [];
  for (const field of accountFields()) {
    const given = field.registrationField !== undefined ? fields[field.registrationField] : undefined;
    const value = typeof given === 'string' || typeof given === 'number' ? given : field.defaultValue;
    if (value === undefined) continue;
    const event = valueEvent(field, value, writer);
    out.push({ event, placement: systemPlacement(event.streamIds) });
  }
  return out;
}

/**
 * Creates the account events of an account registered before they existed, from its
 * account item, once (the data meta's mark says it is done; of two calls, one writes).
 */
export async function ensureAccountEvents(username: string, meta?: DataMeta): Promise<void> {
  if ((meta ?? (await readDataMeta(username))).accountEvents !== undefined) return;
  const account = await getAccount(username);
  if (!account) return;
  const events = initialAccountEvents(account as unknown as Record<string, unknown>, {
    username,
    now: account.created,
    author: 'system',
  });
  await createMissingAccountEvents(username, events);
}

/** The current value event of each account field, by field stream id. */
export async function currentValueEvents(username: string): Promise<Map<string, StoredEvent>> {
  let active = await readActiveAccountEvents(username, ACTIVE_STREAM);
  if (active.length === 0) {
    await ensureAccountEvents(username);
    active = await readActiveAccountEvents(username, ACTIVE_STREAM);
  }
  const out = new Map<string, StoredEvent>();
  for (const event of active) {
    const field = fieldOf(event.streamIds);
    if (field) out.set(field.id, event);
  }
  return out;
}

/** The value a field's event holds, or the field's default when it has none. */
export function currentValue(events: Map<string, StoredEvent>, fieldId: string): unknown {
  return events.get(fieldId)?.content ?? systemStream(fieldId)?.defaultValue;
}

/** Storage counters as their events show them: the account's counters now. */
export function computedValue(field: SystemStreamDefinition, account: Account | undefined): number | undefined {
  if (!field.computed) return undefined;
  return account?.[field.computed] ?? 0;
}

/** Events as read, with the current values of computed fields filled in (one account read, only when needed). */
export async function withComputedValues(username: string, events: StoredEvent[]): Promise<StoredEvent[]> {
  const needs = (e: StoredEvent) => isActiveValue(e) && fieldOf(e.streamIds)?.computed !== undefined;
  if (!events.some(needs)) return events;
  const account = await getAccount(username);
  // The answer's integrity covers the value it shows (the stored one covers what was stored).
  return events.map((e) => (needs(e) ? sealEvent({ ...e, content: computedValue(fieldOf(e.streamIds)!, account) }) : e));
}

/** A value of a field as its rules allow it: string or number, and its own format (400). */
export function checkValue(field: SystemStreamDefinition, value: unknown): string | number {
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw errors.invalidOperation(`The value of account field "${field.id}" must be a string or a number.`, { streamId: field.id });
  }
  const problem = field.validate?.(value);
  if (problem) {
    throw errors.invalidParametersFormat("The parameters' format is invalid.", [
      { code: `${field.accountField ?? 'value'}-invalid`, message: problem, path: '#/content', param: 'content' },
    ]);
  }
  return value;
}

/** The 409 of a unique value held by another account (spec §7), naming the field as registration does. */
export function valueTaken(field: SystemStreamDefinition, value: string | number) {
  const name = field.accountField ?? field.id.replace(/^:_?system:/, '');
  return errors.itemAlreadyExists('user', { [name]: value });
}

const bareName = (field: SystemStreamDefinition) => field.id.replace(/^:_?system:/, '');

/**
 * A new current value of a field (account.update, events.create): the new event gets the
 * marks, the previous current value loses them, a unique value is claimed (and the old one
 * freed) and the account item's mirror set, all in one transaction; a concurrent writer makes
 * it start over. `extra` carries what an events.create gave besides the value.
 */
export function setAccountValue(
  writer: ValueWriter,
  field: SystemStreamDefinition,
  value: string | number,
  options: { extra?: Partial<StoredEvent>; keepHistory: boolean },
): Promise<StoredEvent> {
  return retryOnStale(
    async () => {
      const current = (await currentValueEvents(writer.username)).get(field.id);
      const event = valueEvent(field, value, writer, options.extra);
      const write: AccountValueWrite = { create: { event, placement: systemPlacement(event.streamIds) } };
      if (current) {
        const { head, deletion } = await getEventHead(writer.username, current.id);
        if (!head || deletion) return STALE;
        const demoted = withoutMarks(head, writer);
        write.replace = [
          { previous: head, event: demoted, placement: systemPlacement(demoted.streamIds), keepHistory: options.keepHistory },
        ];
      }
      if (field.unique) {
        write.claim = { field: bareName(field), value };
        if (current && (typeof current.content === 'string' || typeof current.content === 'number')) {
          write.release = { field: bareName(field), value: current.content };
        }
      }
      if (field.accountField) write.accountFields = { [field.accountField]: value, modified: writer.now };
      const outcome = await writeAccountValues(writer.username, write);
      if (outcome === 'taken') throw valueTaken(field, value);
      if (outcome === 'exists') throw errors.itemAlreadyExists('event', { id: event.id });
      return outcome === 'ok' ? event : STALE;
    },
    { what: 'account field' },
  );
}

/** The previous current value, without the marks of a current one. */
function withoutMarks(head: EventHead, writer: ValueWriter): StoredEvent {
  const { pk: _pk, sk: _sk, ix: _ix, endTime: _e, rq: _rq, ...event } = head;
  return sealEvent({
    ...event,
    streamIds: event.streamIds.filter((id) => id !== ACTIVE_STREAM && id !== UNIQUE_STREAM),
    modified: nextModified(writer.now, head.modified),
    modifiedBy: writer.author,
  });
}

/**
 * An account event replaced by its new version (events.update): when it is the current value
 * and its value changes, the unique claim moves and the account item's mirror follows.
 */
export async function replaceAccountEvent(
  username: string,
  head: EventHead,
  next: StoredEvent,
  keepHistory: boolean,
): Promise<'ok' | 'stale'> {
  const field = fieldOf(next.streamIds)!;
  const write: AccountValueWrite = { replace: [{ previous: head, event: next, placement: systemPlacement(next.streamIds), keepHistory }] };
  const changed = next.content !== head.content;
  if (isActiveValue(next) && changed) {
    const value = next.content as string | number;
    if (field.unique) {
      write.claim = { field: bareName(field), value };
      if (typeof head.content === 'string' || typeof head.content === 'number')
        write.release = { field: bareName(field), value: head.content };
    }
    if (field.accountField) write.accountFields = { [field.accountField]: value, modified: next.modified };
  }
  const outcome = await writeAccountValues(username, write);
  if (outcome === 'taken') throw valueTaken(field, next.content as string | number);
  return outcome === 'ok' ? 'ok' : 'stale';
}

/** Whether some stream ids are system streams (the account rules then apply). */
export const hasSystemStreams = (streamIds: readonly string[]) => streamIds.some(isSystemStreamId);

/**
 * Frees the unique values of an account being deleted, except the email's (the account
 * item's last step frees it): read before its events go.
 */
export async function releaseUniqueValues(username: string): Promise<void> {
  const active = await readActiveAccountEvents(username, ACTIVE_STREAM);
  for (const event of active) {
    const field = fieldOf(event.streamIds);
    if (!field?.unique || field.accountField === 'email') continue;
    if (typeof event.content === 'string' || typeof event.content === 'number') {
      await releaseUniqueValue(username, bareName(field), event.content);
    }
  }
}
