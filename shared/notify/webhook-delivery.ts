import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { dynamo } from '../store/clients';
import { keys } from '../store/keys';
import { encodeNumber } from '../store/sort-keys';
import { transactWrite, type TransactItem } from '../store/transact';
import { getWebhook, listWebhooks, recordWebhookRun, usersWithWebhooks } from '../store/webhooks';
import { API_VERSION, WEBHOOK_CALL_TIMEOUT_MS, config } from '../config';
import { isSuccessStatus } from '../domain/webhooks';
import { postJson } from './post';
import { log } from '../log';
import type { Webhook } from '../model/webhooks';

/**
 * Durable webhook delivery (spec §6.2; issue 5 item 3). All state lives in DynamoDB:
 *
 * - on the webhook item (`USER#{u}` / `WEBHOOK#{id}`): `pending` (string set of messages not
 *   yet acknowledged by a 2xx), `queueSeq` (bumped at every queueing: the batch version),
 *   `nextAttempt` (set exactly while an attempt is scheduled, i.e. a due item exists);
 * - one due item per scheduled attempt: pk `WEBHOOKDUE`, sk `{encodeNumber(at)}#{user}#{id}`.
 *
 * A worker claims a due item with a lease (conditional update of `leaseUntil`) rather than
 * deleting it, so a worker that dies mid-attempt leaves the item to be picked up again once
 * the lease expires: nothing is lost across a crash or restart. The due item is deleted (or
 * moved) in the same transaction as the webhook update that ends the attempt. Delivery is
 * at-least-once: messages leave `pending` only after a 2xx, and only if nothing was queued
 * meanwhile (a message string queued during the call cannot be told apart from the one sent).
 */

const DUE_PK = 'WEBHOOKDUE';
/** How long a claimed attempt is reserved: above one call's timeout plus the bookkeeping. */
const LEASE_S = 60;
const BATCH_SIZE = 25;

const table = () => config().tableName;
const nowS = () => Date.now() / 1000;

const dueKey = (at: number, username: string, webhookId: string) => ({
  pk: DUE_PK,
  sk: `${encodeNumber(at)}#${username}#${webhookId}`,
});

interface DueItem {
  pk: string;
  sk: string;
  at: number;
  username: string;
  webhookId: string;
  leaseUntil?: number;
}

/** Standard Webhooks message id: stable for one batch version, so retries of it share it. */
export const webhookMessageId = (webhook: Pick<Webhook, 'id'>, queueSeq: number) => `msg_${webhook.id}_${queueSeq}`;

/** The Standard Webhooks headers of one call (v1 HMAC-SHA256 with the webhook's `whsec_` secret). */
export function signDelivery(secret: string, msgId: string, payload: string, at = new Date()): Record<string, string> {
  const signature = new StandardWebhook(secret).sign(msgId, at, payload);
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signature,
  };
}

const putDue = (at: number, username: string, webhookId: string): TransactItem => ({
  Put: {
    TableName: undefined,
    Item: { ...dueKey(at, username, webhookId), at, username, webhookId },
    ConditionExpression: 'attribute_not_exists(pk)',
  },
});

/**
 * Schedules an attempt at `at` if none is scheduled: sets `nextAttempt` (if absent) and puts
 * the due item, in one transaction. False when an attempt was already scheduled (or the
 * webhook is gone).
 */
export async function scheduleWebhookAttempt(username: string, webhookId: string, at: number): Promise<boolean> {
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
    putDue(at, username, webhookId),
  ]);
  return failed.length === 0;
}

/** When a webhook may next be called: not before `minIntervalMs` after its last call. */
const throttled = (webhook: Webhook, now: number) =>
  Math.max(now, (webhook.lastRun?.timestamp ?? 0) + (webhook.minIntervalMs ?? 0) / 1000);

/**
 * The change sink (registered by functions/notify/fanout.ts): adds the messages to the
 * `pending` set of each active webhook of the user and schedules an attempt if none is.
 */
export async function queueWebhookMessages(username: string, messages: string[]): Promise<void> {
  if (messages.length === 0) return;
  const webhooks = (await listWebhooks(username)).filter((w) => w.state === 'active');
  await Promise.all(
    webhooks.map(async (webhook) => {
      let updated: Webhook;
      try {
        const out = await dynamo().send(
          new UpdateCommand({
            TableName: table(),
            Key: keys.webhook(username, webhook.id),
            UpdateExpression: 'ADD pending :messages, queueSeq :one',
            ConditionExpression: 'attribute_exists(pk) AND #state = :active',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: { ':messages': new Set(messages), ':one': 1, ':active': 'active' },
            ReturnValues: 'ALL_NEW',
          }),
        );
        updated = out.Attributes as Webhook;
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) return; // deleted or deactivated meanwhile
        throw err;
      }
      if (updated.nextAttempt === undefined) await scheduleWebhookAttempt(username, webhook.id, throttled(updated, nowS()));
    }),
  );
}

/**
 * `webhooksServiceBoot` (spec §6.2) to every active webhook: sent when the local runtime
 * starts and, in AWS, after each deployment that changes the functions (a CDK trigger).
 * Inactive webhooks receive nothing. Returns the number of users reached.
 */
export const SERVICE_BOOT_MESSAGE = 'webhooksServiceBoot';
export async function announceServiceBoot(): Promise<number> {
  let users = 0;
  for await (const username of usersWithWebhooks()) {
    await queueWebhookMessages(username, [SERVICE_BOOT_MESSAGE]);
    users++;
  }
  return users;
}

/** Gives a claimed due item back (after a conflict) so the next run retries it at once. */
async function release(due: DueItem, lease: number): Promise<void> {
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: { pk: due.pk, sk: due.sk },
        UpdateExpression: 'REMOVE leaseUntil',
        ConditionExpression: 'leaseUntil = :lease',
        ExpressionAttributeValues: { ':lease': lease },
      }),
    );
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
  }
}

/** Claims a due item for LEASE_S; false if another worker holds it or it is gone. */
async function claim(due: DueItem, now: number, lease: number): Promise<boolean> {
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: { pk: due.pk, sk: due.sk },
        UpdateExpression: 'SET leaseUntil = :lease',
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)',
        ExpressionAttributeValues: { ':lease': lease, ':now': now },
      }),
    );
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}

/** Ends the claimed attempt: deletes the due item (if still ours) together with `more`. */
const endAttempt = (due: DueItem, lease: number, more: TransactItem[]): Promise<number[]> =>
  transactWrite([
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

/** A new due time that differs from the current one (a transaction cannot touch one key twice). */
const laterThan = (due: DueItem, at: number) => (encodeNumber(at) === encodeNumber(due.at) ? at + 0.001 : at);

/** One claimed attempt; returns true when the due item was dealt with, false to release it. */
async function attempt(due: DueItem, now: number, lease: number): Promise<boolean> {
  const { username, webhookId } = due;
  const webhook = await getWebhook(username, webhookId);
  if (!webhook) {
    await endAttempt(due, lease, []); // deleted: nothing more to do
    return true;
  }

  const seq = webhook.queueSeq ?? 0;
  const pending = [...(webhook.pending ?? [])].sort();
  const webhookKey = keys.webhook(username, webhookId);
  if (webhook.state !== 'active' || pending.length === 0) {
    // Nothing to send (or not allowed to): unschedule, unless messages were queued meanwhile.
    const failed = await endAttempt(due, lease, [
      {
        Update: {
          TableName: undefined,
          Key: webhookKey,
          UpdateExpression: 'REMOVE nextAttempt',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(queueSeq) OR queueSeq = :seq) AND #state = :state',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':seq': seq, ':state': webhook.state },
        },
      },
    ]);
    return failed.length === 0 || failed[0] === 0;
  }

  const cfg = config();
  const sentAt = new Date();
  const body = { messages: pending, meta: { apiVersion: API_VERSION, serverTime: sentAt.getTime() / 1000, serial: cfg.serial } };
  const payload = JSON.stringify(body); // postJson serializes the same object the same way
  const outcome = await postJson(webhook.url, body, {
    timeoutMs: WEBHOOK_CALL_TIMEOUT_MS,
    allowPrivate: cfg.webhooksAllowPrivateTargets,
    headers: signDelivery(webhook.secret, webhookMessageId(webhook, seq), payload, sentAt),
  });
  const recorded = await recordWebhookRun(username, webhook, { status: outcome.status, timestamp: nowS() });
  if (!recorded) {
    await endAttempt(due, lease, []); // deleted during the call
    return true;
  }
  const after = nowS();
  const intervalS = (webhook.minIntervalMs ?? 0) / 1000;

  if (isSuccessStatus(outcome.status)) {
    // Delivered: drop what was sent, unless more was queued meanwhile (then send it all again, soon).
    let failed = await endAttempt(due, lease, [
      {
        Update: {
          TableName: undefined,
          Key: webhookKey,
          UpdateExpression: 'SET currentRetries = :zero REMOVE nextAttempt DELETE pending :sent',
          ConditionExpression: 'attribute_exists(pk) AND queueSeq = :seq',
          ExpressionAttributeValues: { ':zero': 0, ':sent': new Set(pending), ':seq': seq },
        },
      },
    ]);
    if (failed.length === 0 || failed[0] === 0) return true;
    const at = laterThan(due, after + intervalS);
    failed = await endAttempt(due, lease, [
      {
        Update: {
          TableName: undefined,
          Key: webhookKey,
          UpdateExpression: 'SET currentRetries = :zero, nextAttempt = :at',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':zero': 0, ':at': at },
        },
      },
      putDue(at, username, webhookId),
    ]);
    return failed.length === 0 || failed[0] === 0;
  }

  log.info('webhook delivery failed', { username, webhookId, status: outcome.status, error: outcome.error });
  const before = webhook.currentRetries ?? 0;
  const retries = before + 1;
  const guard = {
    ConditionExpression: 'attribute_exists(pk) AND currentRetries = :before AND #state = :active',
    ExpressionAttributeNames: { '#state': 'state' },
  };
  let failed: number[];
  if (retries > (webhook.maxRetries ?? 0)) {
    // Given up: inactive, `pending` kept for a reactivation through webhooks.update.
    failed = await endAttempt(due, lease, [
      {
        Update: {
          TableName: undefined,
          Key: webhookKey,
          UpdateExpression: 'SET currentRetries = :retries, #state = :inactive REMOVE nextAttempt',
          ...guard,
          ExpressionAttributeValues: { ':retries': retries, ':before': before, ':active': 'active', ':inactive': 'inactive' },
        },
      },
    ]);
  } else {
    const at = laterThan(due, after + intervalS * retries); // linear backoff, as Pryv
    failed = await endAttempt(due, lease, [
      {
        Update: {
          TableName: undefined,
          Key: webhookKey,
          UpdateExpression: 'SET currentRetries = :retries, nextAttempt = :at',
          ...guard,
          ExpressionAttributeValues: { ':retries': retries, ':before': before, ':active': 'active', ':at': at },
        },
      },
      putDue(at, username, webhookId),
    ]);
  }
  return failed.length === 0 || failed[0] === 0;
}

/**
 * Runs the attempts due at `now` (Unix seconds), at most BATCH_SIZE, concurrently. Returns
 * how many were claimed. Safe to run from several workers at once (leases).
 */
export async function deliverDueWebhooks(now: number = nowS()): Promise<number> {
  const out = await dynamo().send(
    new QueryCommand({
      TableName: table(),
      KeyConditionExpression: 'pk = :pk AND sk <= :upTo',
      FilterExpression: 'attribute_not_exists(leaseUntil) OR leaseUntil < :now',
      ExpressionAttributeValues: { ':pk': DUE_PK, ':upTo': `${encodeNumber(now)}#\uffff`, ':now': now },
      Limit: BATCH_SIZE * 4,
      ConsistentRead: true,
    }),
  );
  const items = ((out.Items ?? []) as DueItem[]).slice(0, BATCH_SIZE);
  const lease = now + LEASE_S;
  let claimed = 0;
  await Promise.all(
    items.map(async (due) => {
      if (!(await claim(due, now, lease))) return;
      claimed++;
      try {
        if (!(await attempt(due, now, lease))) await release(due, lease);
      } catch (err) {
        log.error('webhook delivery: attempt failed', { err, username: due.username, webhookId: due.webhookId });
        await release(due, lease).catch(() => undefined);
      }
    }),
  );
  return claimed;
}
