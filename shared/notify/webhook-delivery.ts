import { Webhook as StandardWebhook } from 'standardwebhooks';
import { postJson } from '../adapters/webhook-post';
import { API_VERSION, config, WEBHOOK_CALL_TIMEOUT_MS } from '../config';
import { Audience, needsTree, type UserBatch } from '../domain/notifications/audience';
import { accessSnapshot } from '../domain/notifications/snapshot';
import { isSuccessStatus, recordWebhookRun } from '../domain/webhooks/webhook';
import { log, logContext } from '../log';
import { countMetric, METRIC } from '../metrics';
import type { AccessSnapshot } from '../model/notifications';
import { isActiveWebhook, type Webhook } from '../model/webhooks';
import { getAccessById } from '../store/accesses';
import {
  addPendingMessages,
  claimDue,
  completeAttempt,
  type DueItem,
  dropAttempt,
  dueAttempts,
  giveUpDelivery,
  queueClaimedAttempt,
  releaseDue,
  rescheduleAfterSuccess,
  scheduleClaimedAttempt,
  scheduleRetry,
  scheduleWebhookAttempt,
  unscheduleAttempt,
} from '../store/webhook-queue';
import { getWebhook, listWebhooks, setWebhookAccess, usersWithWebhooks } from '../store/webhooks';

/**
 * Durable webhook delivery (spec §6.2). Messages are queued on each active webhook and
 * attempts scheduled as due items (the state: shared/store/webhook-queue.ts); workers run
 * the due attempts under a lease, so nothing is lost across a crash or restart. Delivery
 * is at-least-once: messages leave `pending` only after a 2xx, and only if nothing was
 * queued meanwhile (a message string queued during the call cannot be told apart from the
 * one sent). Calls are throttled to one per `minIntervalMs`; failures are retried with a
 * linear backoff until `maxRetries`, then the webhook turns inactive.
 */

/** How long a claimed attempt is reserved: above one call's timeout plus the bookkeeping. */
const LEASE_S = 60;
const BATCH_SIZE = 25;

const nowS = () => Date.now() / 1000;

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

/** When a webhook may next be called: not before `minIntervalMs` after its last call. */
const throttled = (webhook: Webhook, now: number) => Math.max(now, (webhook.lastRun?.timestamp ?? 0) + (webhook.minIntervalMs ?? 0) / 1000);

/**
 * A webhook with scopes is told `notificationsChanged` with the keys of the scopes a change
 * fell in (spec §3.6, §6.1); they wait in `pending` beside the coarse messages, as these entries.
 */
const SCOPE_ENTRY = 'scope:';

/**
 * The creating access as the fan-out needs it: updated in this batch (accesses.update: kept
 * from now on), else kept on the webhook, else (webhooks older than that) read.
 */
async function snapshotOf(username: string, webhook: Webhook, batch: UserBatch): Promise<AccessSnapshot | undefined> {
  const updated = batch.accessUpdates.findLast((u) => u.snapshot.accessId === webhook.accessId);
  if (updated) return (await setWebhookAccess(username, webhook.id, updated.snapshot)) ? updated.snapshot : undefined;
  if (webhook.access) return webhook.access;
  const access = await getAccessById(username, webhook.accessId);
  return access ? accessSnapshot(access) : undefined;
}

/**
 * The change sink (registered by functions/notify/fanout.ts): adds to the `pending` set of
 * each active webhook of the user what its access may hear of the batch
 * (shared/domain/notifications/audience.ts), and schedules an attempt if none is. Without a
 * batch (the service boot message) every active webhook gets the messages. An attempt due
 * now is started at once (`attemptNow`, the default) and not waited for (startAttempt): the
 * message is durable before the call, and a failed or interrupted attempt is the worker's to retry.
 */
export async function queueWebhookMessages(
  username: string,
  messages: string[],
  batch?: UserBatch,
  { attemptNow = true } = {},
): Promise<void> {
  if (messages.length === 0) return;
  // A batch's webhooks come from the read of the user's listeners the socket sink shares.
  const webhooks = (batch ? (await batch.listeners()).webhooks : await listWebhooks(username)).filter(isActiveWebhook);
  if (webhooks.length === 0) return;
  let told: (webhook: Webhook) => Promise<string[]> = async () => messages;
  if (batch) {
    const mode = config().notificationScope;
    const snapshots = await Promise.all(webhooks.map((w) => snapshotOf(username, w, batch)));
    const needed = webhooks.some((w, i) => snapshots[i] && needsTree(mode, snapshots[i]!, w.scopes, batch.details));
    const audience = new Audience(batch.details, needed ? await batch.tree() : undefined, mode);
    told = async (webhook) => {
      const snapshot = snapshots[webhooks.indexOf(webhook)];
      if (!snapshot) return []; // its access is gone (a webhook kept from before snapshots): it may read nothing
      const out = audience.tell(snapshot, webhook.scopes);
      return [...out.messages, ...out.keys.map((k) => SCOPE_ENTRY + k)];
    };
  }
  await Promise.all(
    webhooks.map(async (webhook) => {
      const entries = await told(webhook);
      if (entries.length === 0) return;
      // The usual case (nothing scheduled, not throttled): queue, schedule and claim in one
      // write, and call at once with the webhook as listed (the write checked it unchanged).
      const listedAt = nowS();
      if (attemptNow && webhook.nextAttempt === undefined && throttled(webhook, listedAt) <= listedAt) {
        const lease = listedAt + LEASE_S;
        const claimed = await queueClaimedAttempt(username, webhook, entries, causesInContext(), listedAt, lease);
        if (claimed) {
          startAttempt(claimed.due, lease, claimed.webhook);
          return;
        }
      }
      const updated = await addPendingMessages(username, webhook.id, entries, causesInContext());
      if (!updated) return; // deleted or deactivated meanwhile
      if (updated.nextAttempt !== undefined) return; // scheduled already: these messages go with it
      const now = nowS();
      const at = throttled(updated, now);
      if (!attemptNow || at > now) {
        await scheduleWebhookAttempt(username, webhook.id, at);
        return;
      }
      const lease = now + LEASE_S;
      const due = await scheduleClaimedAttempt(username, webhook.id, at, lease);
      if (due) startAttempt(due, lease);
    }),
  );
}

/**
 * First attempts run beside the fan-out, not inside its batch: the sink resolves once the
 * messages are queued and the attempt scheduled and claimed (durable), and the POST (up to
 * WEBHOOK_CALL_TIMEOUT_MS against a slow receiver) goes on alone. That is safe because the
 * table already holds everything a retry needs: if the call fails, the attempt is rescheduled
 * like any other; if this process stops (or, in AWS, is frozen) before the attempt ends, its
 * lease runs out and the worker makes it again — at-least-once, as every delivery. Waiting
 * for it instead would hold the shard's next batch, and so the socket pushes of every user on
 * the shard, behind one slow receiver.
 */
const inFlight = new Set<Promise<void>>();

function startAttempt(due: DueItem, lease: number, known?: Webhook): void {
  const running: Promise<void> = runClaimed(due, lease, known).finally(() => inFlight.delete(running));
  inFlight.add(running);
}

/**
 * Waits for the attempts started beside the fan-out, at most `graceMs` (all of them when
 * omitted). The fan-out waits a bounded grace before returning in AWS, so a receiver that
 * answers promptly is done within the invocation; the local runtime waits for all on stop.
 */
export async function settleStartedAttempts(graceMs?: number): Promise<void> {
  if (inFlight.size === 0) return;
  const all = Promise.all([...inFlight]).then(() => undefined);
  if (graceMs === undefined) return all;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
  clearTimeout(timer);
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
    await queueWebhookMessages(username, [SERVICE_BOOT_MESSAGE], undefined, { attemptNow: false }); // the worker calls them
    users++;
  }
  return users;
}

/** The body's messages: the coarse ones, plus `notificationsChanged` and `keys` when scopes were touched. */
export function deliveryMessages(pending: string[]): { messages: string[]; keys?: string[] } {
  const keys = pending.filter((m) => m.startsWith(SCOPE_ENTRY)).map((m) => m.slice(SCOPE_ENTRY.length));
  const messages = pending.filter((m) => !m.startsWith(SCOPE_ENTRY));
  return keys.length === 0 ? { messages } : { messages: [...messages, 'notificationsChanged'], keys };
}

/** The request ids the fan-out's log context names for the changes being queued (functions/notify/fanout.ts). */
function causesInContext(): string[] {
  const ids = logContext().causedByRequestId;
  return typeof ids === 'string' ? [ids] : Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
}

/**
 * `causedByRequestId` for an attempt's lines: the fan-out's context names it for first
 * attempts; the worker's retries take the ids kept beside `pending`.
 */
function causesOf(webhook: Webhook): { causedByRequestId?: string | string[] } {
  if (logContext().causedByRequestId !== undefined) return {};
  const ids = webhook.pendingCauses ?? [];
  return ids.length === 0 ? {} : { causedByRequestId: ids.length === 1 ? ids[0]! : ids };
}

/**
 * One claimed attempt; returns true when the due item was dealt with, false to release it.
 * `known`: the webhook as the claim left it (queueClaimedAttempt), not read again.
 */
async function attempt(due: DueItem, lease: number, known?: Webhook): Promise<boolean> {
  const { username, webhookId } = due;
  const webhook = known ?? (await getWebhook(username, webhookId));
  if (!webhook) return dropAttempt(due, lease); // deleted: nothing more to do

  const seq = webhook.queueSeq ?? 0;
  const pending = [...(webhook.pending ?? [])].sort();
  if (webhook.state !== 'active' || pending.length === 0) return unscheduleAttempt(due, lease, seq, webhook.state);

  const cfg = config();
  const sentAt = new Date();
  const body = { ...deliveryMessages(pending), meta: { apiVersion: API_VERSION, serverTime: sentAt.getTime() / 1000, serial: cfg.serial } };
  const payload = JSON.stringify(body); // postJson serializes the same object the same way
  const outcome = await postJson(webhook.url, body, {
    timeoutMs: WEBHOOK_CALL_TIMEOUT_MS,
    allowPrivate: cfg.webhooksAllowPrivateTargets,
    headers: signDelivery(webhook.secret, webhookMessageId(webhook, seq), payload, sentAt),
  });
  const recorded = await recordWebhookRun(username, webhook, { status: outcome.status, timestamp: nowS() });
  if (!recorded) return dropAttempt(due, lease); // deleted during the call
  const after = nowS();
  const intervalS = (webhook.minIntervalMs ?? 0) / 1000;

  countMetric(METRIC.webhookDeliveries);
  if (isSuccessStatus(outcome.status)) {
    log.info('webhook delivered', { username, webhookId, status: outcome.status, messages: pending.length, ...causesOf(webhook) });
    if (await completeAttempt(due, lease, pending, seq)) return true;
    return rescheduleAfterSuccess(due, lease, after + intervalS);
  }

  countMetric(METRIC.webhookFailures);
  log.info('webhook delivery failed', { username, webhookId, status: outcome.status, error: outcome.error, ...causesOf(webhook) });
  const before = webhook.currentRetries ?? 0;
  const retries = before + 1;
  if (retries > (webhook.maxRetries ?? 0)) return giveUpDelivery(due, lease, before, retries);
  return scheduleRetry(due, lease, before, retries, after + intervalS * retries); // linear backoff, as Pryv
}

/**
 * Runs the attempts due at `now` (Unix seconds), at most BATCH_SIZE, concurrently. Returns
 * how many were claimed. Safe to run from several workers at once (leases). `background`
 * (the fan-out): returns once they are claimed, the calls going on as first attempts do.
 */
export async function deliverDueWebhooks(now: number = nowS(), { background = false } = {}): Promise<number> {
  const items = await dueAttempts(now, BATCH_SIZE);
  const lease = now + LEASE_S;
  let claimed = 0;
  await Promise.all(
    items.map(async (due) => {
      if (!(await claimDue(due, now, lease))) return;
      claimed++;
      if (background) startAttempt(due, lease);
      else await runClaimed(due, lease);
    }),
  );
  return claimed;
}

/** Runs a claimed attempt; never throws (an attempt that could not end is released, or its lease runs out). */
async function runClaimed(due: DueItem, lease: number, known?: Webhook): Promise<void> {
  try {
    if (!(await attempt(due, lease, known))) await releaseDue(due, lease);
  } catch (err) {
    log.error('webhook delivery: attempt failed', { err, username: due.username, webhookId: due.webhookId });
    await releaseDue(due, lease).catch(() => undefined);
  }
}
