import { log } from '../../shared/log';
import { deliverDueWebhooks } from '../../shared/notify/webhook-delivery';

/**
 * The scheduled webhook worker (spec §6.2): an EventBridge rule invokes it every minute; it
 * runs the due delivery attempts (retries, throttled sends) for about 50 s, polling every
 * 250 ms, then returns before the next invocation. Concurrent runs are safe (leases on the
 * due items, shared/notify/webhook-delivery.ts). Locally infra/local/webhook-worker.ts does this.
 */
const RUN_FOR_MS = 50_000;
const POLL_MS = 250;

export async function handler(): Promise<{ attempts: number }> {
  const until = Date.now() + RUN_FOR_MS;
  let attempts = 0;
  while (Date.now() < until) {
    try {
      const claimed = await deliverDueWebhooks();
      attempts += claimed;
      if (claimed >= 25) continue; // a full batch: more may be due at once
    } catch (err) {
      log.error('webhook worker: run failed', { err });
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return { attempts };
}
