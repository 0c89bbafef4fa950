import type { DynamoDBRecord } from 'aws-lambda';
import { accessRefId } from '../domain/accesses/versions';
import { eventVersionOf } from '../domain/notifications/event-versions';
import { accessSnapshot } from '../domain/notifications/snapshot';
import type { Access } from '../model/accesses';
import type { AccessChange, AccessUpdate, ChangeDetail } from '../model/notifications';
import type { TableWrite } from '../store/clients';
import { keys } from '../store/keys';
import { imageToItem, recordKey } from '../store/stream-records';
import { pushMarkOf, WRITER_ATTRIBUTE } from '../store/writer';

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
 * `accessUpdated` for sockets ([v2] spec §6.1) and renews what listeners keep of it.
 */
export type { ChangeMessage } from '../model/notifications';

import type { ChangeMessage } from '../model/notifications';

/**
 * Access attributes written on every authenticated call (shared/store/accesses.ts
 * recordAccessUsage, endSession), and the writer's request id (shared/store/writer.ts: it says
 * who wrote, not what changed).
 */
const USAGE_ATTRIBUTES = new Set(['lastUsed', 'calls', 'sessionExpires', WRITER_ATTRIBUTE]);

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

type Value = Image[string];

/** The attribute value types an image may hold (what `imageToItem` reads without throwing). */
const VALUE_TYPES = new Set(['S', 'N', 'B', 'SS', 'NS', 'BS', 'M', 'L', 'NULL', 'BOOL']);

/** A value's type, as `imageToItem` reads it (its first field with a value), if a known one. */
function typeOf(value: Value): string | undefined {
  for (const type in value) if ((value as Record<string, unknown>)[type] !== undefined) return VALUE_TYPES.has(type) ? type : undefined;
  return undefined;
}

const sameMembers = (a: unknown, b: unknown): boolean => {
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  if (a.every((m, i) => m === b[i])) return true;
  const sortedB = [...b].sort();
  return [...a].sort().every((m, i) => m === sortedB[i]);
};

/**
 * Two values the same, compared as they are in the record (sets in any order, maps by name):
 * true only where the decoded values would be the same too; false when unsure (an unknown type).
 */
function sameValue(a: Value, b: Value): boolean {
  const type = typeOf(a);
  if (type === undefined || type !== typeOf(b)) return false;
  const x = (a as Record<string, unknown>)[type];
  const y = (b as Record<string, unknown>)[type];
  switch (type) {
    case 'SS':
    case 'NS':
    case 'BS':
      return sameMembers(x, y);
    case 'M':
      return x !== null && y !== null && typeof x === 'object' && typeof y === 'object' && sameAttributes(x as Image, y as Image, false);
    case 'L': {
      if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) if (!sameValue(x[i], y[i])) return false;
      return true;
    }
    default:
      return x === y && (typeof x === 'string' || typeof x === 'boolean');
  }
}

/** A value of known types all through (one the decoding would not refuse). */
function known(value: Value): boolean {
  const type = typeOf(value);
  if (type === 'M') return Object.values(value.M ?? {}).every(known);
  if (type === 'L') return Array.isArray(value.L) && value.L.every(known);
  return type !== undefined;
}

/**
 * Two images (or maps) holding the same attributes, the usage ones left out if `skipUsage`
 * (they must still be readable: a record the decoding refuses is set aside, not ignored).
 */
function sameAttributes(a: Image, b: Image, skipUsage: boolean): boolean {
  let count = 0;
  for (const name in a) {
    if (skipUsage && USAGE_ATTRIBUTES.has(name)) {
      if (!known(a[name]!)) return false;
      continue;
    }
    count++;
    const other = b[name];
    if (other === undefined || !sameValue(a[name]!, other)) return false;
  }
  for (const name in b)
    if (!(skipUsage && USAGE_ATTRIBUTES.has(name))) count--;
    else if (!known(b[name]!)) return false;
  return count === 0;
}

/** True when a MODIFY of an access only touched its usage counters (not a change clients care about). */
function isUsageOnly(record: DynamoDBRecord): boolean {
  const { OldImage, NewImage } = record.dynamodb ?? {};
  if (record.eventName !== 'MODIFY' || !OldImage || !NewImage) return false;
  // Every authenticated call writes one (its usage counters): compared as the record holds the
  // images, without decoding them (test/bench/FINDINGS.md §28). Not the same that way (a real
  // change, or a form the comparison does not know): decoded and compared in canonical form.
  return sameAttributes(OldImage, NewImage, true) || withoutUsage(OldImage) === withoutUsage(NewImage);
}

type Item = Record<string, unknown>;
const imageOf = (image: Image | undefined): Item | undefined => (image ? imageToItem(image) : undefined);

const placeOf = (item: Item | undefined): string | null | undefined =>
  !item
    ? undefined
    : typeof item.parentId === 'string'
      ? item.parentId
      : item.parentId === null || !('parentId' in item)
        ? null
        : undefined;

function accessChange(item: Item): AccessChange {
  const streamIds = Array.isArray(item.permissions)
    ? (item.permissions as Array<{ streamId?: unknown }>).map((p) => p?.streamId).filter((id): id is string => typeof id === 'string')
    : [];
  return {
    kind: 'access',
    id: String(item.id),
    ...(typeof item.createdBy === 'string' ? { createdBy: item.createdBy } : {}),
    ...(typeof item.type === 'string' ? { type: item.type } : {}),
    streamIds,
  };
}

/** A stream record's change, as told to clients; `undefined` for records clients never hear of. */
export interface RecordChange {
  username: string;
  message: ChangeMessage;
  detail: ChangeDetail;
}

/**
 * The user, message and detail one stream record stands for, or undefined if it is not a
 * change of interest.
 *
 * A REMOVE is never told: every deletion a client makes leaves a record of its own (an
 * event's tombstone replaces its head, streams and accesses leave deletion records, written
 * in the same transaction), so removals alone are account deletion emptying the user's
 * partitions (shared/domain/accounts/deletion.ts) or TTL expiry — nobody is left to tell.
 */
export function classifyRecord(record: DynamoDBRecord): RecordChange | undefined {
  // The fan-out asks for each record up to three times (readable?, its changes, the calls that
  // caused them): the images are decoded once. A record that cannot be read is not kept (it throws again).
  if (classified.has(record)) return classified.get(record);
  const change = classify(record);
  classified.set(record, change);
  return change;
}

const classified = new WeakMap<DynamoDBRecord, RecordChange | undefined>();

function classify(record: DynamoDBRecord): RecordChange | undefined {
  if (!record.dynamodb?.Keys) return undefined;
  // TTL expiry is done by the service, not by a client: nothing changed for anyone.
  if (record.userIdentity?.type === 'Service') return undefined;
  const key = recordKey(record); // read first: a record whose key cannot be read is set aside, removals included
  if (!key || record.eventName === 'REMOVE') return undefined;
  const { pk, sk } = key;
  const { OldImage, NewImage } = record.dynamodb;

  if (pk.startsWith(keys.eventHeadPrefix)) {
    const username = pk.slice(keys.eventHeadPrefix.length);
    if (!username) return undefined;
    const before = eventVersionOf(imageOf(OldImage));
    const newItem = imageOf(NewImage);
    const after = eventVersionOf(newItem);
    // Its writer pushed it to the user's sockets itself (shared/domain/notifications/direct-push.ts).
    const push = pushMarkOf(newItem);
    return {
      username,
      message: 'eventsChanged',
      detail: { kind: 'event', id: sk, ...(before ? { before } : {}), ...(after ? { after } : {}), ...(push ? { push } : {}) },
    };
  }
  if (!pk.startsWith(keys.userPartitionPrefix)) return undefined;
  const username = pk.slice(keys.userPartitionPrefix.length);
  if (!username) return undefined;
  if (sk.startsWith(keys.streamPrefix) && sk.length > keys.streamPrefix.length) {
    const places = [placeOf(imageOf(OldImage)), placeOf(imageOf(NewImage))].filter((_p, i) => i === 1 || OldImage !== undefined);
    return { username, message: 'streamsChanged', detail: { kind: 'stream', id: sk.slice(keys.streamPrefix.length), places } };
  }
  if (sk.startsWith(keys.streamDeletionPrefix)) {
    const item = imageOf(NewImage) ?? {};
    return {
      username,
      message: 'streamsChanged',
      // Deletion records written before they kept the parent do not say where the stream was.
      detail: { kind: 'stream', id: sk.slice(keys.streamDeletionPrefix.length), places: ['parentId' in item ? placeOf(item) : undefined] },
    };
  }
  if (sk.startsWith(keys.accessPrefix) || sk.startsWith(keys.accessDeletionPrefix)) {
    if (isUsageOnly(record)) return undefined;
    const item = imageOf(NewImage) ?? imageOf(OldImage);
    return item ? { username, message: 'accessesChanged', detail: accessChange(item) } : undefined;
  }
  return undefined;
}

/**
 * The tokens of accesses a record shows ended: removed (deleted, or a personal session
 * replaced by a new login) or a personal session ended (logout). Their sockets are closed
 * by the fan-out without reading the access again.
 */
export function endedToken(record: DynamoDBRecord, now: number): { username: string; token: string } | undefined {
  const key = record.dynamodb?.Keys ? recordKey(record) : undefined;
  if (!key?.pk.startsWith(keys.userPartitionPrefix) || !key.sk.startsWith(keys.accessPrefix)) return undefined;
  const username = key.pk.slice(keys.userPartitionPrefix.length);
  const token = key.sk.slice(keys.accessPrefix.length);
  if (record.eventName === 'REMOVE') return { username, token };
  const image = record.dynamodb?.NewImage;
  if (!image) return undefined;
  // Only the attributes that decide it are decoded (every call's usage record comes here):
  // collectChanges asks classifyRecord first, which reads or checks the whole image.
  const item = imageToItem({
    ...(image.expires ? { expires: image.expires } : {}),
    ...(image.type ? { type: image.type } : {}),
    ...(image.sessionExpires ? { sessionExpires: image.sessionExpires } : {}),
  });
  const ended =
    (typeof item.expires === 'number' && item.expires <= now) || (item.type === 'personal' && Number(item.sessionExpires ?? 0) <= now);
  return ended ? { username, token } : undefined;
}

/** The update an access record stands for: an access item whose serial moved (accesses.update). */
export function accessUpdateOf(record: DynamoDBRecord): AccessUpdate | undefined {
  const { OldImage, NewImage } = record.dynamodb ?? {};
  if (record.eventName !== 'MODIFY' || !OldImage || !NewImage) return undefined;
  const after = imageToItem(NewImage);
  if (typeof after.sk !== 'string' || !after.sk.startsWith(keys.accessPrefix)) return undefined;
  const serial = after.serial;
  if (typeof serial !== 'number' || typeof after.id !== 'string' || imageToItem(OldImage).serial === serial) return undefined;
  return {
    message: { type: 'access-updated', accessId: accessRefId(after.id, serial), serial },
    token: after.sk.slice(keys.accessPrefix.length),
    snapshot: accessSnapshot(after as unknown as Access),
    ...(typeof after.createdBy === 'string' ? { createdBy: after.createdBy } : {}),
  };
}

/**
 * Whether a write (shared/store/clients.ts onTableWrite) may be a record the fan-out acts on:
 * the keys classifyRecord, endedToken and insertedConnections read, less the access updates
 * that only touch usage tracking (every authenticated call writes one). The local runtime
 * reads the stream at once only after these; the rest (audit records, usage counters,
 * delivery state…) waits for the next poll, where nothing is waiting for it. A logout only
 * moves `sessionExpires`: its sockets close at that poll.
 */
export function fanoutActsOn(write: TableWrite): boolean {
  const { pk, sk } = write;
  if (pk.startsWith(keys.eventHeadPrefix)) return true;
  const connection = keys.socketConnection('');
  if (pk.startsWith(connection.pk) && sk === connection.sk) return true; // a new connection waits for its open packet
  if (!pk.startsWith(keys.userPartitionPrefix)) return false;
  if (sk.startsWith(keys.accessPrefix)) return write.updated === undefined || write.updated.some((a) => !USAGE_ATTRIBUTES.has(a));
  return (
    (sk.startsWith(keys.streamPrefix) && sk.length > keys.streamPrefix.length) ||
    sk.startsWith(keys.streamDeletionPrefix) ||
    sk.startsWith(keys.accessDeletionPrefix)
  );
}

/** One user's changes in a batch, and where they start in it (for partial batch failures). */
export interface UserChanges {
  messages: Set<ChangeMessage>;
  /** Each change, in stream order: who hears of what is decided from these. */
  details: ChangeDetail[];
  /** Tokens whose access ended in this batch: their sockets are closed. */
  endedTokens: Set<string>;
  /** Accesses updated in the batch, in order. */
  accessUpdates: AccessUpdate[];
  firstSequenceNumber: string | undefined;
}

/**
 * The changes of a batch per user, coalesced. A record that cannot be read (it would fail
 * the same way on every retry) is passed to `onUnreadable` and skipped; without it, thrown.
 */
export function collectChanges(
  records: DynamoDBRecord[],
  onUnreadable?: (record: DynamoDBRecord, err: unknown) => void,
  now = Date.now() / 1000,
): Map<string, UserChanges> {
  const changes = new Map<string, UserChanges>();
  const userOf = (username: string, record: DynamoDBRecord) => {
    let user = changes.get(username);
    if (!user) {
      user = {
        messages: new Set(),
        details: [],
        endedTokens: new Set(),
        accessUpdates: [],
        firstSequenceNumber: record.dynamodb?.SequenceNumber,
      };
      changes.set(username, user);
    }
    return user;
  };
  for (const record of records) {
    let change: ReturnType<typeof classifyRecord>;
    let ended: ReturnType<typeof endedToken>;
    try {
      change = classifyRecord(record);
      ended = endedToken(record, now);
    } catch (err) {
      if (!onUnreadable) throw err;
      onUnreadable(record, err);
      continue;
    }
    if (ended) userOf(ended.username, record).endedTokens.add(ended.token);
    if (!change) continue;
    const user = userOf(change.username, record);
    user.messages.add(change.message);
    user.details.push(change.detail);
    if (change.message === 'accessesChanged') {
      const updated = accessUpdateOf(record);
      if (updated) user.accessUpdates.push(updated);
    }
  }
  return changes;
}

/** The messages of a batch, coalesced per user: 1,000 event writes give one `eventsChanged`. */
export function changesFromRecords(records: DynamoDBRecord[]): Map<string, Set<ChangeMessage>> {
  return new Map(
    [...collectChanges(records)].filter(([, user]) => user.messages.size > 0).map(([username, user]) => [username, user.messages]),
  );
}
