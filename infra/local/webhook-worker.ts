import { log } from '../../shared/log';
import { deliverDueWebhooks } from '../../shared/notify/webhook-delivery';

/**
 * The local stand-in for the scheduled webhook worker (functions/notify/webhook-worker.ts):
 * runs the due delivery attempts every `intervalMs`, one run at a time (the next is timed
 * from the end of the previous one, so runs never overlap). `stop` waits for a run in flight.
 */
export function startWebhookWorker(intervalMs = 200): { stop: () => Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const tick = () => {
    running = (async () => {
      try {
        // Drain: a full batch means more may be due.
        while (!stopped && (await deliverDueWebhooks()) >= 25);
      } catch (err) {
        if (!stopped) log.error('local webhook worker: run failed', { err });
      }
    })();
    void running.finally(() => {
      running = undefined;
      if (!stopped) timer = setTimeout(tick, intervalMs);
    });
  };
  timer = setTimeout(tick, intervalMs);
  return {
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
