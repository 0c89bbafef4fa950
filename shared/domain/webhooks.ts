import { randomBytes } from 'node:crypto';
import { WEBHOOK_RUNS_SIZE } from '../config';

/** One call to a webhook's URL: the HTTP status (0 = no response) and when (Unix seconds). */
export interface WebhookRun {
  status: number;
  timestamp: number;
}

export type WebhookState = 'active' | 'inactive';

/** A webhook as stored (spec §3.6), its signing secret included. */
export interface Webhook {
  id: string;
  /** The access that created it: only that access (and personal ones) may see or manage it. */
  accessId: string;
  url: string;
  state: WebhookState;
  runCount: number;
  failCount: number;
  lastRun: WebhookRun;
  /** Newest first, at most WEBHOOK_RUNS_SIZE. */
  runs: WebhookRun[];
  currentRetries: number;
  maxRetries: number;
  minIntervalMs: number;
  /**
   * Standard Webhooks signing secret (`whsec_` + base64 of 32 random bytes), shown once in
   * the webhooks.create answer and never again.
   */
  secret: string;
  created: number;
  createdBy: string;
  modified: number;
  modifiedBy: string;
  /** Delivery state (shared/notify/webhook-delivery.ts), never shown: messages not yet delivered. */
  pending?: Set<string>;
  /** Delivery state: when the scheduled attempt is due (Unix seconds); set while a due-queue item exists. */
  nextAttempt?: number;
  /** Delivery state: bumped each time messages are queued (the batch version; also names the batch). */
  queueSeq?: number;
}

/** Attributes of the delivery machinery, kept on the item but never shown. */
export type WebhookInternal = 'secret' | 'pending' | 'nextAttempt' | 'queueSeq';

/** Fields the API shows; `secret` is not one of them (webhooks.create adds it once). */
export type WebhookView = Omit<Webhook, WebhookInternal>;

export function webhookForApi(webhook: Webhook): WebhookView {
  const { secret: _secret, pending: _pending, nextAttempt: _nextAttempt, queueSeq: _queueSeq, ...view } = webhook;
  return view;
}

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** Fields of a webhook that exist but cannot be changed through webhooks.update (→ 403). */
export const PROTECTED_WEBHOOK_FIELDS = [
  'id',
  'accessId',
  'url',
  'runCount',
  'failCount',
  'lastRun',
  'runs',
  'currentRetries',
  'maxRetries',
  'minIntervalMs',
  'secret',
  'created',
  'createdBy',
  'modified',
  'modifiedBy',
];

export const isSuccessStatus = (status: number) => status >= 200 && status <= 299;

/**
 * The run statistics after one more call (spec §6.2 "every run"): runCount+1, failCount+1
 * on failure, lastRun, the run prepended to `runs` (capped). Retries and state are the
 * delivery's business, not this function's.
 */
export function withRun(
  webhook: Pick<Webhook, 'runCount' | 'failCount' | 'runs'>,
  run: WebhookRun,
): Pick<Webhook, 'runCount' | 'failCount' | 'lastRun' | 'runs'> {
  return {
    runCount: webhook.runCount + 1,
    failCount: webhook.failCount + (isSuccessStatus(run.status) ? 0 : 1),
    lastRun: run,
    runs: [run, ...webhook.runs].slice(0, WEBHOOK_RUNS_SIZE),
  };
}
