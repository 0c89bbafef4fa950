import { log } from '../../shared/log';
import { pingAllSockets } from '../../shared/socketio/outbound';

/**
 * The local stand-in for the scheduled ping sweep (functions/notify/socket-ping.ts): pings
 * every connection once per `intervalMs` (the `pingInterval` announced to clients).
 */
export function startSocketPinger(
  intervalMs: number,
  /** One sweep (in bundle mode: an invocation of the ping function's bundle). */
  sweep: () => Promise<unknown> = pingAllSockets,
): { stop: () => Promise<void> } {
  let stopped = false;
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return; // a sweep still in flight: skip this tick
    running = sweep()
      .catch((err) => {
        if (!stopped) log.error('local socket pinger: sweep failed', { err });
      })
      .finally(() => (running = undefined));
  }, intervalMs);
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
