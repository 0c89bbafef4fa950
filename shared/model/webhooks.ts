import type { AccessSnapshot, NamedScopes } from './notifications';

/** Webhooks as stored (spec §3.6), delivery state included. */

/** One call to a webhook's URL: the HTTP status (0 = no response) and when (Unix seconds). */
export interface WebhookRun {
  status: number;
  timestamp: number;
}

export type WebhookState = 'active' | 'inactive';

/** Whether a webhook is called (an inactive one is kept but told of nothing). */
export const isActiveWebhook = (webhook: Pick<Webhook, 'state'>): boolean => webhook.state === 'active';

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
  /** [v2] Named scopes (spec §3.6): when set, only changes in them are told, as `notificationsChanged` with their keys. */
  scopes?: NamedScopes;
  /** What the change fan-out keeps of the creating access, to decide what the webhook may hear of (never shown). */
  access?: AccessSnapshot;
  /** Delivery state (shared/notify/webhook-delivery.ts), never shown: messages not yet delivered. */
  pending?: Set<string>;
  /** Delivery state: when the scheduled attempt is due (Unix seconds); set while a due-queue item exists. */
  nextAttempt?: number;
  /** Delivery state: bumped each time messages are queued (the batch version; also names the batch). */
  queueSeq?: number;
  /**
   * Delivery state: the request ids of the calls whose writes were queued last (at most
   * MAX_PENDING_CAUSES), named by the worker's retries as `causedByRequestId`; cleared with `pending`.
   */
  pendingCauses?: string[];
}

/** Attributes of the delivery machinery, kept on the item but never shown. */
export type WebhookInternal = 'secret' | 'pending' | 'nextAttempt' | 'queueSeq' | 'pendingCauses' | 'access';
