import { log, withoutLogContext } from '../../shared/log';
import { deliverDueWebhooks, settleStartedAttempts } from '../../shared/notify/webhook-delivery';
import { onTableWrite, type TableWrite } from '../../shared/store/clients';
import { keys } from '../../shared/store/keys';
import { nextAttemptAt } from '../../shared/store/webhook-queue';

/**
 * The least time between two runs: a run back to back with the last (an attempt given back at
 * once, a write told during a run) waits this much, the poll period of the function in AWS
 * (functions/notify/webhook-worker.ts), so a conflict never spins.
 */
const MIN_GAP_MS = 250;
/**
 * The longest sleep: what schedules an attempt in this process wakes the worker (below); this
 * only bounds the wait for an attempt written by another process (none in `npm start`).
 */
const MAX_SLEEP_MS = 10_000;
const ERROR_BACKOFF_MS = 1_000;

/**
 * When a write of this process may have made an attempt due that nobody is running (epoch ms),
 * or undefined: a due item put without a lease is scheduled for its due time; one put with a
 * lease is run by its writer (the fan-out's first attempts); a deleted one ended; an update of
 * one (a lease taken or given back) is looked at now.
 */
export function dueAfterWrite(write: TableWrite, now = Date.now()): number | undefined {
  if (write.pk !== keys.webhookDuePartition || write.deleted) return undefined;
  if (write.put) return write.put.includes('leaseUntil') ? undefined : keys.webhookDueAt(write.sk) * 1000;
  return now;
}

/**
 * The local stand-in for the scheduled webhook worker (functions/notify/webhook-worker.ts):
 * runs the due delivery attempts (retries, throttled and boot messages; first attempts are the
 * fan-out's), one run at a time. Instead of polling every 250 ms as the function does, it sleeps
 * until the earliest time an attempt may be due (nextAttemptAt: a due time, or a lease's end),
 * and a write of this process that schedules or gives back an attempt wakes it for that time.
 * `stop` waits for a run in flight, and for the calls the fan-out started.
 */
export function startWebhookWorker(): { stop: () => Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wakeAt = Infinity;
  let running: Promise<void> | undefined;
  /** Asked for by writes told during a run: planned once it ends. */
  let askedDuringRun = Infinity;
  let lastRunEnd = 0;
  const plan = (at: number) => {
    if (stopped) return;
    if (running) {
      askedDuringRun = Math.min(askedDuringRun, at);
      return;
    }
    const when = Math.max(at, lastRunEnd + MIN_GAP_MS);
    if (when >= wakeAt) return;
    clearTimeout(timer);
    wakeAt = when;
    // Planned from a write listener too, i.e. inside the fan-out's or a call's log context: the
    // run is the worker's own, and its lines must not name that batch or call.
    timer = withoutLogContext(() => setTimeout(tick, Math.max(0, when - Date.now())));
  };
  const tick = () => {
    timer = undefined;
    wakeAt = Infinity;
    let next = Date.now() + MAX_SLEEP_MS;
    running = (async () => {
      try {
        // Drain: a full batch means more may be due.
        while (!stopped && (await deliverDueWebhooks()) >= 25);
        const at = stopped ? undefined : await nextAttemptAt();
        if (at !== undefined) next = Math.min(next, at * 1000);
      } catch (err) {
        if (!stopped) log.error('local webhook worker: run failed', { err });
        next = Date.now() + ERROR_BACKOFF_MS;
      }
    })();
    void running.finally(() => {
      running = undefined;
      lastRunEnd = Date.now();
      const asked = askedDuringRun;
      askedDuringRun = Infinity;
      plan(Math.min(next, asked));
    });
  };
  const stopListening = onTableWrite((writes) => {
    for (const write of writes) {
      const at = dueAfterWrite(write);
      if (at !== undefined) plan(at);
    }
  });
  plan(Date.now());
  return {
    stop: async () => {
      stopped = true;
      stopListening();
      clearTimeout(timer);
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
