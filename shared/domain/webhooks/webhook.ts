import { randomBytes } from 'node:crypto';
import { WEBHOOK_RUNS_SIZE } from '../../config';
import type { Webhook, WebhookInternal, WebhookRun } from '../../model/webhooks';
import { getWebhook, writeWebhookRun } from '../../store/webhooks';
import { retryOnStale, STALE } from '../concurrency';

/** Fields the API shows; `secret` is not one of them (webhooks.create adds it once). */
export type WebhookView = Omit<Webhook, WebhookInternal>;

export function webhookForApi(webhook: Webhook): WebhookView {
  const {
    secret: _secret,
    pending: _pending,
    nextAttempt: _nextAttempt,
    queueSeq: _queueSeq,
    pendingCauses: _pendingCauses,
    access: _access,
    ...view
  } = webhook;
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

/**
 * Records one call to the webhook's URL (its run statistics), re-reading and re-applying
 * it when another run was recorded meanwhile. `undefined` if the webhook was deleted.
 */
export function recordWebhookRun(username: string, before: Webhook, run: WebhookRun): Promise<Webhook | undefined> {
  let current: Webhook | undefined = before;
  return retryOnStale(
    async (attempt) => {
      if (attempt > 0) current = await getWebhook(username, before.id);
      if (!current) return undefined;
      const written = await writeWebhookRun(username, current, withRun(current, run));
      return written === 'stale' ? STALE : written;
    },
    {
      maxRetries: 9,
      giveUp: () => {
        throw new Error(`run of webhook ${before.id} not recorded: too many concurrent runs`);
      },
    },
  );
}
