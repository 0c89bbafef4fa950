import { log } from '../../shared/log';
import { deliverDueWebhooks, settleStartedAttempts } from '../../shared/notify/webhook-delivery';

/**
 * The function's own poll between runs in AWS (functions/notify/webhook-worker.ts): first
 * attempts are made by the fan-out, so this cadence only paces retries and throttled
 * deliveries, and each run is a Query beside every notification's own requests.
 */
const WORKER_POLL_MS = 250;

/**
 * The local stand-in for the scheduled webhook worker (functions/notify/webhook-worker.ts):
 * runs the due delivery attempts every `intervalMs`, one run at a time (the next is timed
 * from the end of the previous one, so runs never overlap). `stop` waits for a run in flight,
 * and for the calls the fan-out started.
 */
export function startWebhookWorker(intervalMs = WORKER_POLL_MS): { stop: () => Promise<void> } {
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
      await settleStartedAttempts(); // the first attempts the fan-out started, not waited for there
    },
  };
}

/**
 * In bundle mode (RuntimeOptions.bundles): the worker function's own bundle, invoked again as
 * soon as a run returns (each runs ~50 s, polling, as the minute schedule invokes it in AWS).
 * `stop` does not wait for the run in flight: the bundle's worker thread ends with the others.
 */
export function startBundledWebhookWorker(invoke: () => Promise<unknown>): { stop: () => Promise<void> } {
  let stopped = false;
  void (async () => {
    while (!stopped) {
      try {
        await invoke();
      } catch (err) {
        if (stopped) return;
        log.error('local webhook worker: bundle run failed', { err });
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  })();
  return {
    stop: async () => {
      stopped = true;
    },
  };
}
