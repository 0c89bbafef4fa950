import type { DynamoDBRecord } from 'aws-lambda';
import { accessRefId } from '../domain/accesses/versions';
import { keys } from '../store/keys';
import { imageToItem, recordKey } from '../store/stream-records';

/**
 * Table changes → Pryv change messages (spec §6): which users saw their events, streams or
 * accesses change in a batch of DynamoDB Stream records. Pure: no I/O, no clock.
 *
 * What counts (key layout: shared/store/keys.ts):
 *   pk EV#{user}                               event heads and tombstones     → eventsChanged
 *   pk USER#{user}, sk STREAM#{id} | STREAMDEL#{id}   streams and their deletions → streamsChanged
 *   pk USER#{user}, sk ACCESS#{token} | ACCESSDEL#{id} accesses and deletions  → accessesChanged,
 *                                              unless only usage tracking changed
 * Everything else is ignored: index copies (ES#, EM#, ER#, EH#), `STREAM#` (the data meta
 * item), `ACCESSID#`/`ACCESSKEY#` pointers, `ACCESSHIST#` versions, STREAMNAME# claims,
 * account and email items. An access whose serial moved (accesses.update) is also an
 * `accessUpdated` for sockets ([v2] spec §6.1).
 */
export type ChangeMessage = 'eventsChanged' | 'streamsChanged' | 'accessesChanged';

/** Access attributes written on every authenticated call (shared/store/accesses.ts recordAccessUsage, endSession). */
const USAGE_ATTRIBUTES = new Set(['lastUsed', 'calls', 'sessionExpires']);

type Image = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;

/** A value in a canonical string form: map keys and set members sorted. */
function canonical(value: unknown): string {
  if (value instanceof Set) return `set(${[...value].map(canonical).sort().join(',')})`;
  if (value instanceof Uint8Array) return `bin(${Buffer.from(value).toString('base64')})`;
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

function withoutUsage(image: Image): string {
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(imageToItem(image, { exactNumbers: true }))) if (!USAGE_ATTRIBUTES.has(k)) rest[k] = v;
  return canonical(rest);
}

/** True when a MODIFY of an access only touched its usage counters (not a change clients care about). */
function isUsageOnly(record: DynamoDBRecord): boolean {
  const { OldImage, NewImage } = record.dynamodb ?? {};
  if (record.eventName !== 'MODIFY' || !OldImage || !NewImage) return false;
  return withoutUsage(OldImage) === withoutUsage(NewImage);
}

/** The user and message one stream record stands for, or undefined if it is not a change of interest. */
export function classifyRecord(record: DynamoDBRecord): { username: string; message: ChangeMessage } | undefined {
  if (!record.dynamodb?.Keys) return undefined;
  // TTL expiry is done by the service, not by a client: nothing changed for anyone.
  if (record.userIdentity?.type === 'Service') return undefined;
  const key = recordKey(record);
  if (!key) return undefined;
  const { pk, sk } = key;

  if (pk.startsWith(keys.eventHeadPrefix)) {
    const username = pk.slice(keys.eventHeadPrefix.length);
    return username ? { username, message: 'eventsChanged' } : undefined;
  }
  if (!pk.startsWith(keys.userPartitionPrefix)) return undefined;
  const username = pk.slice(keys.userPartitionPrefix.length);
  if (!username) return undefined;
  if ((sk.startsWith(keys.streamPrefix) && sk.length > keys.streamPrefix.length) || sk.startsWith(keys.streamDeletionPrefix)) {
    return { username, message: 'streamsChanged' };
  }
  if (sk.startsWith(keys.accessPrefix) || sk.startsWith(keys.accessDeletionPrefix)) {
    return isUsageOnly(record) ? undefined : { username, message: 'accessesChanged' };
  }
  return undefined;
}

/** [v2] The socket message `accessUpdated` carries (spec §6.1): the access's new versioned id and serial. */
export interface AccessUpdated {
  type: 'access-updated';
  accessId: string;
  serial: number;
}

/** The `accessUpdated` a record stands for: an access item whose serial changed (accesses.update). */
export function accessUpdateOf(record: DynamoDBRecord): AccessUpdated | undefined {
  const { OldImage, NewImage } = record.dynamodb ?? {};
  if (record.eventName !== 'MODIFY' || !OldImage || !NewImage) return undefined;
  const after = imageToItem(NewImage);
  if (typeof after.sk !== 'string' || !after.sk.startsWith(keys.accessPrefix)) return undefined;
  const serial = after.serial;
  if (typeof serial !== 'number' || typeof after.id !== 'string' || imageToItem(OldImage).serial === serial) return undefined;
  return { type: 'access-updated', accessId: accessRefId(after.id, serial), serial };
}

/** One user's changes in a batch, and where they start in it (for partial batch failures). */
export interface UserChanges {
  messages: Set<ChangeMessage>;
  /** Accesses updated in the batch, in order ([v2] `accessUpdated`, sockets only). */
  accessUpdates: AccessUpdated[];
  firstSequenceNumber: string | undefined;
}

/**
 * The changes of a batch per user, coalesced. A record that cannot be read (it would fail
 * the same way on every retry) is passed to `onUnreadable` and skipped; without it, thrown.
 */
export function collectChanges(
  records: DynamoDBRecord[],
  onUnreadable?: (record: DynamoDBRecord, err: unknown) => void,
): Map<string, UserChanges> {
  const changes = new Map<string, UserChanges>();
  for (const record of records) {
    let change: ReturnType<typeof classifyRecord>;
    try {
      change = classifyRecord(record);
    } catch (err) {
      if (!onUnreadable) throw err;
      onUnreadable(record, err);
      continue;
    }
    if (!change) continue;
    let user = changes.get(change.username);
    if (!user) {
      user = { messages: new Set(), accessUpdates: [], firstSequenceNumber: record.dynamodb?.SequenceNumber };
      changes.set(change.username, user);
    }
    user.messages.add(change.message);
    if (change.message === 'accessesChanged') {
      const updated = accessUpdateOf(record);
      if (updated) user.accessUpdates.push(updated);
    }
  }
  return changes;
}

/** The messages of a batch, coalesced per user: 1,000 event writes give one `eventsChanged`. */
export function changesFromRecords(records: DynamoDBRecord[]): Map<string, Set<ChangeMessage>> {
  return new Map([...collectChanges(records)].map(([username, user]) => [username, user.messages]));
}
