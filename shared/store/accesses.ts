import type { Access } from '../model/accesses';
import type { DataMeta } from '../model/streams';
import { batchDelete, batchGet, itemKey } from './batch';
import { dynamo, table } from './clients';
import { GetCommand, UpdateCommand } from './commands';
import { ifConditionHolds } from './conditional';
import { eventHeadOf } from './events/read';
import { keys } from './keys';
import { queryAll } from './query';
import { type SeriesState, seriesStateKeys, seriesStateOf } from './series/state';
import { dataMetaOf } from './streams';
import { type TransactItem, transactWrite } from './transact';
import { WRITER_ATTRIBUTE, writerOf } from './writer';

/**
 * The (type, name, deviceName) claim key. `#` separates the parts of the sort key, so `#`
 * (and `%`, the escape character) inside a name or device name are escaped: otherwise
 * ("x#", "y") and ("x", "#y") would share one claim. Names without them keep their key.
 */
function uniqueNameKey(username: string, type: string, name: string, deviceName?: string | null) {
  const escaped = (s: string) => s.replace(/%/g, '%25').replace(/#/g, '%23');
  return keys.accessUniqueName(username, type, escaped(name), deviceName ? escaped(deviceName) : deviceName);
}

/** The access an item holds, without the item's own attributes. */
export function accessFromItem(item: Record<string, unknown>): Access {
  const { pk: _pk, sk: _sk, [WRITER_ATTRIBUTE]: _rq, ...access } = item;
  return access as unknown as Access;
}

/** The access behind a token: one strongly consistent GetItem. */
export async function getAccessByToken(username: string, token: string): Promise<Access | undefined> {
  const out = await dynamo().send(new GetCommand({ TableName: table(), Key: keys.accessByToken(username, token), ConsistentRead: true }));
  return out.Item ? accessFromItem(out.Item) : undefined;
}

/**
 * The access behind a token and the user's data meta (with the stream tree's version) in
 * one round trip: what every call that reads the stream tree needs first.
 */
export async function getAccessWithDataMeta(username: string, token: string): Promise<{ access?: Access; meta: DataMeta }> {
  const accessKey = keys.accessByToken(username, token);
  const metaKey = keys.dataMeta(username);
  const found = await batchGet([accessKey, metaKey]);
  const item = found.get(itemKey(accessKey));
  return { access: item ? accessFromItem(item) : undefined, meta: dataMetaOf(found.get(itemKey(metaKey))) };
}

/**
 * The access behind a token and one event's head (or tombstone) in one round trip: what an
 * HF series call, which names its holder in the path, needs first; for a write, the series'
 * state too (./series/state.ts: what it needs to add a segment, instead of a Query).
 */
export async function getAccessWithEventHead(
  username: string,
  token: string,
  eventId: string,
  withSeriesState = false,
): Promise<{ access?: Access; event: ReturnType<typeof eventHeadOf>; series?: { state: SeriesState | undefined } }> {
  const accessKey = keys.accessByToken(username, token);
  const eventKey = keys.eventHead(username, eventId);
  const found = await batchGet([accessKey, eventKey, ...(withSeriesState ? seriesStateKeys(username, eventId) : [])]);
  const item = found.get(itemKey(accessKey));
  return {
    access: item ? accessFromItem(item) : undefined,
    event: eventHeadOf(found.get(itemKey(eventKey))),
    ...(withSeriesState ? { series: { state: seriesStateOf(found, username, eventId) } } : {}),
  };
}

export async function getAccessById(username: string, id: string): Promise<Access | undefined> {
  const pointer = await dynamo().send(new GetCommand({ TableName: table(), Key: keys.accessById(username, id), ConsistentRead: true }));
  const token = pointer.Item?.token as string | undefined;
  return token === undefined ? undefined : getAccessByToken(username, token);
}

/** The live access with this (type, name, deviceName), if any. */
export async function findAccessByName(
  username: string,
  type: string,
  name: string,
  deviceName?: string | null,
): Promise<Access | undefined> {
  const out = await dynamo().send(
    new GetCommand({
      TableName: table(),
      Key: uniqueNameKey(username, type, name, deviceName),
      ConsistentRead: true,
    }),
  );
  const token = out.Item?.token as string | undefined;
  return token === undefined ? undefined : getAccessByToken(username, token);
}

async function listByPrefix(username: string, prefix: string): Promise<Access[]> {
  const items = await queryAll({
    TableName: table(),
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': keys.userPartition(username), ':prefix': prefix },
    ConsistentRead: true,
  });
  return items.map(accessFromItem);
}

/** All live accesses of a user (a user has tens of them, not millions). */
export const listAccesses = (username: string) => listByPrefix(username, keys.accessPrefix);

/** Deleted accesses, kept for `accessDeletions` (spec §2.4). */
export const listAccessDeletions = (username: string) => listByPrefix(username, keys.accessDeletionPrefix);

/**
 * Deletes accesses (soft: each is kept as its deletion record, the access with `deleted`
 * set): its token stops working and its token and (type, name, deviceName) become free
 * again. One transaction per access, in order. With a `guard` (./socket-pushes.ts
 * noSocketsBound), each commits only if it holds: returns how many were deleted before one
 * did not (all of them: `records.length`).
 */
export async function deleteAccesses(
  username: string,
  records: Array<Access & { deleted: number }>,
  guard?: TransactItem,
): Promise<number> {
  let done = 0;
  for (const access of records) {
    const claim: TransactItem = {
      Delete: {
        TableName: undefined,
        Key: uniqueNameKey(username, access.type, access.name, access.deviceName),
        ConditionExpression: 'attribute_not_exists(pk) OR accessId = :id',
        ExpressionAttributeValues: { ':id': access.id },
      },
    };
    const items = (withClaim: boolean): TransactItem[] => [
      { Delete: { TableName: undefined, Key: keys.accessByToken(username, access.token) } },
      { Delete: { TableName: undefined, Key: keys.accessById(username, access.id) } },
      {
        Put: {
          TableName: undefined,
          Item: { ...keys.accessDeletion(username, access.id), ...access, ...writerOf() },
        },
      },
      ...(withClaim ? [claim] : []),
      // Last, so that its failure is told apart from the claim's.
      ...(guard ? [guard] : []),
    ];
    const guardFailed = (list: TransactItem[], failed: number[]) => guard !== undefined && failed.includes(list.length - 1);
    // The claim belongs to another access (it was taken over): that one keeps it, this one goes anyway.
    const first = items(true);
    const failed = await transactWrite(first);
    if (guardFailed(first, failed)) return done;
    if (failed.length > 0) {
      const second = items(false);
      const retry = await transactWrite(second);
      if (guardFailed(second, retry)) return done;
      if (retry.length > 0) throw new Error(`access ${access.id} could not be deleted`);
    }
    // Its previous versions go with it (nothing reads them once it is deleted); serials 0…serial−1.
    const versions = Array.from({ length: access.serial ?? 0 }, (_, serial) => keys.accessVersion(username, access.id, serial));
    if (versions.length > 0) await batchDelete(versions);
    done++;
  }
  return done;
}

/** The three items of an access: itself under its token, the id → token pointer, the (type, name, deviceName) claim. */
function accessItems(username: string, access: Access): [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>] {
  return [
    { ...keys.accessByToken(username, access.token), ...access, ...writerOf() },
    { ...keys.accessById(username, access.id), token: access.token },
    { ...uniqueNameKey(username, access.type, access.name, access.deviceName), token: access.token, accessId: access.id },
  ];
}

/**
 * Transaction items creating an access: the access under its token, the id pointer and
 * the (type, name, deviceName) claim. Conditions make tokens and names unique.
 */
export function createAccessItems(username: string, access: Access): TransactItem[] {
  return accessItems(username, access).map((Item) => ({
    Put: { TableName: undefined, Item, ConditionExpression: 'attribute_not_exists(pk)' },
  }));
}

/** Moves an access to a new token (a new login session replacing an ended one). */
export async function replaceAccessToken(username: string, access: Access, replacement: Access): Promise<boolean> {
  const [item, pointer, claim] = accessItems(username, replacement);
  const failed = await transactWrite([
    { Delete: { TableName: undefined, Key: keys.accessByToken(username, access.token), ConditionExpression: 'attribute_exists(pk)' } },
    { Put: { TableName: undefined, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } },
    {
      Put: {
        TableName: undefined,
        Item: pointer,
        ConditionExpression: '#token = :old',
        ExpressionAttributeNames: { '#token': 'token' },
        ExpressionAttributeValues: { ':old': access.token },
      },
    },
    { Put: { TableName: undefined, Item: claim } },
  ]);
  return failed.length === 0;
}

/**
 * Records one request's use of an access: `lastUsed`, per-method `calls` counters and,
 * for personal sessions, the sliding session end. Ignores accesses deleted meanwhile.
 */
export async function recordAccessUsage(
  username: string,
  token: string,
  calls: Map<string, number>,
  now: number,
  sessionExpires?: number,
): Promise<void> {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ':now': now, ':zero': 0 };
  const sets = ['lastUsed = :now'];
  let i = 0;
  for (const [methodKey, count] of calls) {
    names[`#m${i}`] = methodKey;
    values[`:n${i}`] = count;
    sets.push(`calls.#m${i} = if_not_exists(calls.#m${i}, :zero) + :n${i}`);
    i++;
  }
  if (sessionExpires !== undefined) {
    values[':session'] = sessionExpires;
    sets.push('sessionExpires = :session');
  }
  await ifConditionHolds(
    dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.accessByToken(username, token),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: i > 0 ? names : undefined,
        ExpressionAttributeValues: values,
      }),
    ),
  );
}

/** Slides a live personal session's end forward (a login reusing it). */
export async function extendSession(username: string, token: string, sessionExpires: number): Promise<void> {
  await dynamo().send(
    new UpdateCommand({
      TableName: table(),
      Key: keys.accessByToken(username, token),
      UpdateExpression: 'SET sessionExpires = :s',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':s': sessionExpires },
    }),
  );
}

/**
 * Ends a personal session: the token stops working, the access stays (Pryv logout). With a
 * `guard` (a transaction item, ./socket-pushes.ts noSocketsBound) the change commits only if
 * it holds: `guard-failed` otherwise, and nothing changed.
 */
export async function endSession(username: string, token: string, now: number, guard?: TransactItem): Promise<'ended' | 'guard-failed'> {
  const update = {
    TableName: undefined,
    Key: keys.accessByToken(username, token),
    UpdateExpression: 'SET sessionExpires = :now',
    ConditionExpression: 'attribute_exists(pk)',
    ExpressionAttributeValues: { ':now': now },
  };
  if (guard) {
    const failed = await transactWrite([{ Update: update }, guard]);
    // A session already gone (its access deleted) has nothing left to end, as below.
    return failed.includes(1) ? 'guard-failed' : 'ended';
  }
  await ifConditionHolds(dynamo().send(new UpdateCommand({ ...update, TableName: table() })));
  return 'ended';
}

/** What a version of an access keeps: the access without its usage (counters move on every call, not with versions). */
function versionOf(access: Access): Access {
  const { calls: _c, lastUsed: _l, sessionExpires: _s, ...version } = access;
  return version as Access;
}

/** The fields an update may change (spec §2.4 [v2]), and the authorship, serial and integrity it moves. */
const UPDATED_FIELDS = [
  'name',
  'deviceName',
  'permissions',
  'expires',
  'clientData',
  'modified',
  'modifiedBy',
  'serial',
  'integrity',
] as const;

export type AccessUpdateOutcome = 'updated' | 'stale' | 'name-taken' | 'guard-failed';

/**
 * Replaces an access by its next version, in one transaction: the access item is changed
 * only if it still is at `previous`'s serial (so of two updates racing from one version,
 * exactly one wins and the other is `stale`), `previous` is kept as a version, and when
 * (name, deviceName) changed the old claim is released and the new one taken (`name-taken`
 * if another access holds it). Usage counters are left as they are: calls keep counting.
 * A deleted access is `stale` too (its item is gone). With a `guard` (a transaction item,
 * ./socket-pushes.ts noSocketsBound) it commits only if that holds too: `guard-failed`
 * otherwise, when nothing else failed, and nothing changed.
 */
export async function updateAccess(username: string, previous: Access, next: Access, guard?: TransactItem): Promise<AccessUpdateOutcome> {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  const removes: string[] = [];
  UPDATED_FIELDS.forEach((field, i) => {
    names[`#f${i}`] = field;
    const value = next[field];
    if (value === undefined || value === null) removes.push(`#f${i}`);
    else {
      values[`:f${i}`] = value;
      sets.push(`#f${i} = :f${i}`);
    }
  });
  // The call that made this version (for the fan-out's log lines); usage writes leave it as it is.
  const writer = writerOf().rq;
  names['#rq'] = WRITER_ATTRIBUTE;
  if (writer === undefined) removes.push('#rq');
  else {
    values[':rq'] = writer;
    sets.push('#rq = :rq');
  }
  names['#serial'] = 'serial';
  let condition = 'attribute_exists(pk) AND attribute_not_exists(#serial)';
  if (previous.serial !== undefined) {
    condition = 'attribute_exists(pk) AND #serial = :previousSerial';
    values[':previousSerial'] = previous.serial;
  }
  const items: TransactItem[] = [
    {
      Update: {
        TableName: undefined,
        Key: keys.accessByToken(username, previous.token),
        UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    },
    {
      Put: {
        TableName: undefined,
        Item: { ...keys.accessVersion(username, previous.id, previous.serial ?? 0), ...versionOf(previous) },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
  ];
  const before = uniqueNameKey(username, previous.type, previous.name, previous.deviceName);
  const after = uniqueNameKey(username, next.type, next.name, next.deviceName);
  if (before.sk !== after.sk) {
    items.push(
      {
        Delete: {
          TableName: undefined,
          Key: before,
          ConditionExpression: 'attribute_not_exists(pk) OR accessId = :id',
          ExpressionAttributeValues: { ':id': previous.id },
        },
      },
      {
        Put: {
          TableName: undefined,
          Item: { ...after, token: next.token, accessId: next.id },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
    );
  }
  // The guard goes last, so the other items keep their places in the failures.
  const run = async (list: TransactItem[]): Promise<number[] | 'guard-failed'> => {
    const failed = await transactWrite(guard ? [...list, guard] : list);
    return guard && failed.length === 1 && failed[0] === list.length ? 'guard-failed' : failed.filter((i) => i < list.length);
  };
  const failed = await run(items);
  if (failed === 'guard-failed') return failed;
  if (failed.length === 0) return 'updated';
  if (failed.includes(0) || failed.includes(1)) return 'stale';
  // The old claim held by another access means this one had lost it: the update may still take the new one.
  if (failed.includes(2) && !failed.includes(3)) {
    const retry = await run(items.filter((_, i) => i !== 2));
    if (retry === 'guard-failed') return retry;
    if (retry.length === 0) return 'updated';
    return retry.includes(0) || retry.includes(1) ? 'stale' : 'name-taken';
  }
  return 'name-taken';
}

/** The previous versions of an access, oldest first (the one it was created as first). */
export async function listAccessVersions(username: string, id: string): Promise<Access[]> {
  return listByPrefix(username, keys.accessVersionPrefix(id));
}

/** One previous version of an access, by its serial (0 = as created). */
export async function getAccessVersion(username: string, id: string, serial: number): Promise<Access | undefined> {
  const out = await dynamo().send(
    new GetCommand({ TableName: table(), Key: keys.accessVersion(username, id, serial), ConsistentRead: true }),
  );
  return out.Item ? accessFromItem(out.Item) : undefined;
}
