import type { StoredEvent } from '../model/events';
import { table } from './clients';
import { type EventHead, headItem, type IndexPlacement, indexItems, keyString, parseKey, stripItem } from './events/items';
import { eventHistoryItem } from './events/write';
import { keys } from './keys';
import { queryAll } from './query';
import { type TransactItem, transactWrite } from './transact';

/**
 * Account field values stored as events (Pryv API reference §7): the items of an account
 * event are an ordinary event's (shared/store/events/items.ts), so every event read finds
 * them; what is particular is written here in one transaction with them: the platform-wide
 * claims of unique values, the mirrored field of the account item, and the data meta's
 * `accountEvents` mark.
 */

/** The unique-claim key of a field value (`:system:email` → the email claim). */
const claimKey = (field: string, value: string | number) => keys.uniqueValue(field, String(value));

/** Items of new account events without conditions (registration, first need), plus the data meta mark. */
export function newAccountEventItems(u: string, events: Array<{ event: StoredEvent; placement: IndexPlacement }>): TransactItem[] {
  const out: TransactItem[] = [];
  for (const { event, placement } of events) {
    const items = indexItems(u, event, placement);
    out.push({ Put: { TableName: undefined, Item: headItem(u, event, items) } });
    for (const item of items) out.push({ Put: { TableName: undefined, Item: item } });
  }
  return out;
}

/** The data meta mark saying the account events exist; `onlyIfAbsent` makes the first writer win. */
export function accountEventsMark(u: string, onlyIfAbsent: boolean): TransactItem {
  return {
    Update: {
      TableName: undefined,
      Key: keys.dataMeta(u),
      UpdateExpression: 'SET accountEvents = :v',
      ExpressionAttributeValues: { ':v': 1 },
      ...(onlyIfAbsent ? { ConditionExpression: 'attribute_not_exists(accountEvents)' } : {}),
    },
  };
}

/** Creates the account events of an account that predates them; false when another call did it first. */
export async function createMissingAccountEvents(
  u: string,
  events: Array<{ event: StoredEvent; placement: IndexPlacement }>,
): Promise<boolean> {
  const failed = await transactWrite([accountEventsMark(u, true), ...newAccountEventItems(u, events)]);
  return failed.length === 0;
}

/** The current value events of every account field: the `:_system:active` stream's own range (one Query). */
export async function readActiveAccountEvents(u: string, activeStream: string): Promise<StoredEvent[]> {
  const items = await queryAll({
    TableName: table(),
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :d)',
    ExpressionAttributeValues: { ':pk': keys.eventStream(u, activeStream, 'a'), ':d': 'd#' },
    ConsistentRead: true,
  });
  return items.map(stripItem);
}

export interface AccountValueWrite {
  /** A new value event. */
  create?: { event: StoredEvent; placement: IndexPlacement };
  /** Events replaced by a new version (the previous active value losing its marks; an updated value). */
  replace?: Array<{ previous: EventHead; event: StoredEvent; placement: IndexPlacement; keepHistory: boolean }>;
  /** Unique value claimed for this user (409 when someone else holds it) and the one released. */
  claim?: { field: string; value: string | number };
  release?: { field: string; value: string | number };
  /** Fields of the account item that mirror the new current values. */
  accountFields?: Record<string, string | number>;
}

export type AccountValueOutcome = 'ok' | 'exists' | 'stale' | 'taken';

/**
 * Writes a change of account values in one transaction: of two writers of one field, one
 * commits and the other finds its version stale (and starts over); a unique value is held by
 * exactly one user.
 */
export async function writeAccountValues(u: string, write: AccountValueWrite): Promise<AccountValueOutcome> {
  const tx: TransactItem[] = [];
  const kinds: AccountValueOutcome[] = [];
  const add = (item: TransactItem, kind: AccountValueOutcome) => {
    tx.push(item);
    kinds.push(kind);
  };
  if (write.create) {
    const { event, placement } = write.create;
    const items = indexItems(u, event, placement);
    add({ Put: { TableName: undefined, Item: headItem(u, event, items), ConditionExpression: 'attribute_not_exists(pk)' } }, 'exists');
    for (const item of items) add({ Put: { TableName: undefined, Item: item } }, 'stale');
  }
  for (const r of write.replace ?? []) {
    const items = indexItems(u, r.event, r.placement);
    const head = headItem(u, r.event, items);
    add(
      {
        Put: {
          TableName: undefined,
          Item: head,
          ConditionExpression: 'modified = :m AND attribute_not_exists(deleted)',
          ExpressionAttributeValues: { ':m': r.previous.modified },
        },
      },
      'stale',
    );
    const kept = new Set(head.ix);
    for (const item of items) add({ Put: { TableName: undefined, Item: item } }, 'stale');
    for (const old of r.previous.ix ?? []) if (!kept.has(old)) add({ Delete: { TableName: undefined, Key: parseKey(old) } }, 'stale');
    if (r.keepHistory) {
      add({ Put: { TableName: undefined, Item: eventHistoryItem(u, r.event.id, stripItem(r.previous as never)) } }, 'stale');
    }
  }
  const claimed = write.claim ? keyString(claimKey(write.claim.field, write.claim.value)) : undefined;
  const released = write.release ? keyString(claimKey(write.release.field, write.release.value)) : undefined;
  if (write.claim && claimed !== released) {
    add(
      {
        Put: {
          TableName: undefined,
          Item: { ...claimKey(write.claim.field, write.claim.value), username: u },
          ConditionExpression: 'attribute_not_exists(pk) OR username = :u',
          ExpressionAttributeValues: { ':u': u },
        },
      },
      'taken',
    );
  }
  if (write.release && claimed !== released) {
    add(
      {
        Delete: {
          TableName: undefined,
          Key: claimKey(write.release.field, write.release.value),
          ConditionExpression: 'attribute_not_exists(pk) OR username = :u',
          ExpressionAttributeValues: { ':u': u },
        },
      },
      'stale',
    );
  }
  const fields = Object.entries(write.accountFields ?? {});
  if (fields.length > 0) {
    add(
      {
        Update: {
          TableName: undefined,
          Key: keys.account(u),
          UpdateExpression: `SET ${fields.map((_, i) => `#f${i} = :f${i}`).join(', ')}`,
          ExpressionAttributeNames: Object.fromEntries(fields.map(([name], i) => [`#f${i}`, name])),
          ExpressionAttributeValues: Object.fromEntries(fields.map(([, value], i) => [`:f${i}`, value])),
          ConditionExpression: 'attribute_exists(pk)',
        },
      },
      'stale',
    );
  }
  if (tx.length === 0) return 'ok';
  const failed = await transactWrite(tx);
  if (failed.length === 0) return 'ok';
  if (failed.some((i) => kinds[i] === 'taken')) return 'taken';
  if (failed.some((i) => kinds[i] === 'exists')) return 'exists';
  return 'stale';
}

/** Frees a unique value this user holds (account deletion); someone else's claim is left alone. */
export async function releaseUniqueValue(u: string, field: string, value: string | number): Promise<void> {
  await transactWrite([
    {
      Delete: {
        TableName: undefined,
        Key: claimKey(field, value),
        ConditionExpression: 'attribute_not_exists(pk) OR username = :u',
        ExpressionAttributeValues: { ':u': u },
      },
    },
  ]);
}
