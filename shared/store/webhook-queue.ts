import type { Webhook } from '../model/webhooks';
import { dynamo, table } from './clients';
import { QueryCommand, UpdateCommand } from './commands';
import { ifConditionHolds } from './conditional';
import { keys } from './keys';
import { encodeNumber } from './sort-keys';
import { type TransactItem, transactWrite } from './transact';

/**
 * The durable state of webhook delivery (shared/notify/webhook-delivery.ts), all in the table:
 *
 * - on the webhook item (`USER#{u}` / `WEBHOOK#{id}`): `pending` (string set of messages not
 *   yet acknowledged by a 2xx), `queueSeq` (bumped at every queueing: the batch version),
 *   `nextAttempt` (set exactly while an attempt is scheduled, i.e. a due item exists),
 *   `pendingCauses` (the request ids of the calls queued last, for the retries' log lines);
 * - one due item per scheduled attempt (keys.webhookDue), ordered by due time.
 *
 * A worker claims a due item with a lease (conditional update of `leaseUntil`) rather than
 * deleting it, so a worker that dies mid-attempt leaves the item to be picked up again once
 * the lease expires. The due item is deleted (or moved) in the same transaction as the
 * webhook update that ends the attempt.
 */
export interface DueItem {
  pk: string;
  sk: string;
  at: number;
  username: string;
  webhookId: string;
  leaseUntil?: number;
}

const dueItem = (at: number, username: string, webhookId: string): DueItem => ({
  ...keys.webhookDue(at, username, webhookId),
  at,
  username,
  webhookId,
});

const putDue = (at: number, username: string, webhookId: string, leaseUntil?: number): TransactItem => ({
  Put: {
    TableName: undefined,
    Item: { ...dueItem(at, username, webhookId), ...(leaseUntil !== undefined ? { leaseUntil } : {}) },
    ConditionExpression: 'attribute_not_exists(pk)',
  },
});

/**
 * Schedules an attempt at `at` if none is scheduled: sets `nextAttempt` (if absent) and puts
 * the due item, in one transaction. False when an attempt was already scheduled (or the
 * webhook is gone).
 */
export async function scheduleWebhookAttempt(username: string, webhookId: string, at: number): Promise<boolean> {
  return scheduleAttempt(username, webhookId, at);
}

/** Sets `nextAttempt` if absent and puts the due item (claimed until `lease`, if given), in one transaction. */
async function scheduleAttempt(username: string, webhookId: string, at: number, lease?: number): Promise<boolean> {
  const failed = await transactWrite([
    {
      Update: {
        TableName: undefined,
        Key: keys.webhook(username, webhookId),
        UpdateExpression: 'SET nextAttempt = :at',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(nextAttempt)',
        ExpressionAttributeValues: { ':at': at },
      },
    },
    putDue(at, username, webhookId, lease),
  ]);
  return failed.length === 0;
}

/**
 * Schedules an attempt due now that the caller runs at once: as scheduleWebhookAttempt, the
 * due item put already claimed until `lease` (one write less than schedule then claim). If
 * the caller dies before ending the attempt, the lease runs out and a worker takes it up.
 * Returns the claimed item, or undefined when an attempt was already scheduled (or the
 * webhook is gone).
 */
export async function scheduleClaimedAttempt(username: string, webhookId: string, at: number, lease: number): Promise<DueItem | undefined> {
  return (await scheduleAttempt(username, webhookId, at, lease)) ? { ...dueItem(at, username, webhookId), leaseUntil: lease } : undefined;
}

/**
 * Queues messages and schedules an attempt due now, claimed by the caller until `lease`, in
 * one transaction, provided the webhook is still as `listed` (active, no attempt scheduled,
 * no API change, run or queueing since): the webhook after it is then known without reading
 * it again, and the caller makes the call at once. One round trip where addPendingMessages,
 * scheduleClaimedAttempt and a read of the webhook take three. Undefined (nothing written)
 * when the webhook changed meanwhile: the caller takes the general path.
 */
export async function queueClaimedAttempt(
  username: string,
  listed: Webhook,
  messages: string[],
  causes: readonly string[],
  at: number,
  lease: number,
): Promise<{ due: DueItem; webhook: Webhook } | undefined> {
  const kept = causes.slice(0, MAX_PENDING_CAUSES);
  const same = (attribute: string, placeholder: string, value: unknown) =>
    value === undefined ? `attribute_not_exists(${attribute})` : `${attribute} = ${placeholder}`;
  const failed = await transactWrite([
    {
      Update: {
        TableName: undefined,
        Key: keys.webhook(username, listed.id),
        UpdateExpression: `ADD pending :messages, queueSeq :one SET nextAttempt = :at${kept.length > 0 ? ', pendingCauses = :causes' : ''}`,
        ConditionExpression: [
          'attribute_exists(pk)',
          '#state = :active',
          'attribute_not_exists(nextAttempt)',
          same('modified', ':modified', listed.modified),
          same('queueSeq', ':seq', listed.queueSeq),
          same('runCount', ':runs', listed.runCount),
        ].join(' AND '),
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':messages': new Set(messages),
          ':one': 1,
          ':at': at,
          ':active': 'active',
          ...(kept.length > 0 ? { ':causes': kept } : {}),
          ...(listed.modified !== undefined ? { ':modified': listed.modified } : {}),
          ...(listed.queueSeq !== undefined ? { ':seq': listed.queueSeq } : {}),
          ...(listed.runCount !== undefined ? { ':runs': listed.runCount } : {}),
        },
      },
    },
    putDue(at, username, listed.id, lease),
  ]);
  if (failed.length > 0) return undefined;
  const webhook: Webhook = {
    ...listed,
    pending: new Set([...(listed.pending ?? []), ...messages]),
    queueSeq: (listed.queueSeq ?? 0) + 1,
    nextAttempt: at,
    ...(kept.length > 0 ? { pendingCauses: kept } : {}),
  };
  return { due: { ...dueItem(at, username, listed.id), leaseUntil: lease }, webhook };
}

/** At most this many request ids are kept beside `pending` (as the fan-out names at most 20 per line). */
export const MAX_PENDING_CAUSES = 20;

/**
 * Adds messages to an active webhook's `pending` set (a new batch version), and records the
 * request ids of the calls that caused them in place of the previous ones (in the same
 * write: a bounded list needs no read; the earlier calls were named by their own first
 * attempts). The webhook after, or undefined if deleted or inactive.
 */
export async function addPendingMessages(
  username: string,
  webhookId: string,
  messages: string[],
  causes: readonly string[] = [],
): Promise<Webhook | undefined> {
  const kept = causes.slice(0, MAX_PENDING_CAUSES);
  const out = await ifConditionHolds(
    dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.webhook(username, webhookId),
        // Without ids (the service boot message) the kept ones stay: their messages may still be pending.
        UpdateExpression: `ADD pending :messages, queueSeq :one${kept.length > 0 ? ' SET pendingCauses = :causes' : ''}`,
        ConditionExpression: 'attribute_exists(pk) AND #state = :active',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':messages': new Set(messages),
          ':one': 1,
          ':active': 'active',
          ...(kept.length > 0 ? { ':causes': kept } : {}),
        },
        ReturnValues: 'ALL_NEW',
      }),
    ),
  );
  return out === false ? undefined : (out.Attributes as Webhook);
}

/** Attempts due at `now` that no live lease holds, at most `limit`. */
export async function dueAttempts(now: number, limit: number): Promise<DueItem[]> {
  const out = await dynamo().send(
    new QueryCommand({
      TableName: table(),
      KeyConditionExpression: 'pk = :pk AND sk <= :upTo',
      FilterExpression: 'attribute_not_exists(leaseUntil) OR leaseUntil < :now',
      ExpressionAttributeValues: { ':pk': keys.webhookDuePartition, ':upTo': `${encodeNumber(now)}#\uffff`, ':now': now },
      Limit: limit * 4,
      ConsistentRead: true,
    }),
  );
  return ((out.Items ?? []) as DueItem[]).slice(0, limit);
}

/**
 * When an attempt may next be due (Unix seconds): the earliest due time of an item no live
 * lease holds, or the end of a lease (a worker that died mid-attempt); undefined when none of
 * the first `limit` items says (nothing scheduled). For a poller that sleeps until then.
 */
export async function nextAttemptAt(limit = 25): Promise<number | undefined> {
  const out = await dynamo().send(
    new QueryCommand({
      TableName: table(),
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.webhookDuePartition },
      ProjectionExpression: '#at, leaseUntil',
      ExpressionAttributeNames: { '#at': 'at' },
      Limit: limit,
      ConsistentRead: true,
    }),
  );
  let next: number | undefined;
  for (const item of (out.Items ?? []) as Array<Pick<DueItem, 'at' | 'leaseUntil'>>) {
    const at = Math.max(item.at, item.leaseUntil ?? 0);
    if (next === undefined || at < next) next = at;
  }
  return next;
}

/** Claims a due item until `lease`; false if another worker holds it or it is gone. */
export async function claimDue(due: DueItem, now: number, lease: number): Promise<boolean> {
  const done = await ifConditionHolds(
    dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: { pk: due.pk, sk: due.sk },
        UpdateExpression: 'SET leaseUntil = :lease',
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)',
        ExpressionAttributeValues: { ':lease': lease, ':now': now },
      }),
    ),
  );
  return done !== false;
}

/** Gives a claimed due item back (after a conflict) so the next run retries it at once. */
export async function releaseDue(due: DueItem, lease: number): Promise<void> {
  await ifConditionHolds(
    dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: { pk: due.pk, sk: due.sk },
        UpdateExpression: 'REMOVE leaseUntil',
        ConditionExpression: 'leaseUntil = :lease',
        ExpressionAttributeValues: { ':lease': lease },
      }),
    ),
  );
}

/**
 * Ends a claimed attempt: deletes the due item (if still ours) together with `more`. True
 * when settled (committed, or the lease was lost: the attempt is someone else's now); false
 * when a condition of `more` failed (the webhook changed meanwhile).
 */
async function endAttempt(due: DueItem, lease: number, more: TransactItem[]): Promise<boolean> {
  const failed = await transactWrite([
    {
      Delete: {
        TableName: undefined,
        Key: { pk: due.pk, sk: due.sk },
        ConditionExpression: 'leaseUntil = :lease',
        ExpressionAttributeValues: { ':lease': lease },
      },
    },
    ...more,
  ]);
  return failed.length === 0 || failed[0] === 0;
}

/** A new due time that differs from the current one (a transaction cannot touch one key twice). */
const laterThan = (due: DueItem, at: number) => (encodeNumber(at) === encodeNumber(due.at) ? at + 0.001 : at);

const webhookUpdate = (due: DueItem, update: Omit<NonNullable<TransactItem['Update']>, 'Key' | 'TableName'>): TransactItem => ({
  Update: { TableName: undefined, Key: keys.webhook(due.username, due.webhookId), ...update },
});

/** The webhook is gone: only the due item goes. */
export const dropAttempt = (due: DueItem, lease: number) => endAttempt(due, lease, []);

/** Nothing to send (or not allowed to): unschedule, unless messages were queued (`seq` moved) or the state changed meanwhile. */
export const unscheduleAttempt = (due: DueItem, lease: number, seq: number, state: Webhook['state']) =>
  endAttempt(due, lease, [
    webhookUpdate(due, {
      UpdateExpression: 'REMOVE nextAttempt',
      ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(queueSeq) OR queueSeq = :seq) AND #state = :state',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':seq': seq, ':state': state },
    }),
  ]);

/** Delivered: drop what was sent and unschedule, unless more was queued meanwhile (`seq` moved). */
export const completeAttempt = (due: DueItem, lease: number, sent: string[], seq: number) =>
  endAttempt(due, lease, [
    webhookUpdate(due, {
      UpdateExpression: 'SET currentRetries = :zero REMOVE nextAttempt, pendingCauses DELETE pending :sent',
      ConditionExpression: 'attribute_exists(pk) AND queueSeq = :seq',
      ExpressionAttributeValues: { ':zero': 0, ':sent': new Set(sent), ':seq': seq },
    }),
  ]);

/** Delivered, but more was queued meanwhile: send everything again at `at`. */
export function rescheduleAfterSuccess(due: DueItem, lease: number, at: number): Promise<boolean> {
  const next = laterThan(due, at);
  return endAttempt(due, lease, [
    webhookUpdate(due, {
      UpdateExpression: 'SET currentRetries = :zero, nextAttempt = :at',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':zero': 0, ':at': next },
    }),
    putDue(next, due.username, due.webhookId),
  ]);
}

const retriesGuard = {
  ConditionExpression: 'attribute_exists(pk) AND currentRetries = :before AND #state = :active',
  ExpressionAttributeNames: { '#state': 'state' },
};

/** Failed, with retries left: count it (`before` → `retries`) and try again at `at`. */
export function scheduleRetry(due: DueItem, lease: number, before: number, retries: number, at: number): Promise<boolean> {
  const next = laterThan(due, at);
  return endAttempt(due, lease, [
    webhookUpdate(due, {
      UpdateExpression: 'SET currentRetries = :retries, nextAttempt = :at',
      ...retriesGuard,
      ExpressionAttributeValues: { ':retries': retries, ':before': before, ':active': 'active', ':at': next },
    }),
    putDue(next, due.username, due.webhookId),
  ]);
}

/** Failed past `maxRetries`: inactive, `pending` kept for a reactivation through webhooks.update. */
export const giveUpDelivery = (due: DueItem, lease: number, before: number, retries: number) =>
  endAttempt(due, lease, [
    webhookUpdate(due, {
      UpdateExpression: 'SET currentRetries = :retries, #state = :inactive REMOVE nextAttempt',
      ...retriesGuard,
      ExpressionAttributeValues: { ':retries': retries, ':before': before, ':active': 'active', ':inactive': 'inactive' },
    }),
  ]);
