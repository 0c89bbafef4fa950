import { errors } from '../errors';

/**
 * Optimistic concurrency, the one way writers of one item meet: every update is
 * conditional on the version it read, and a writer that lost (its write answered `stale`)
 * re-reads, re-applies its change and tries again.
 */

/** What an attempt returns when another writer committed first. */
export const STALE = Symbol('stale');
export type Stale = typeof STALE;

/**
 * The retry rule of a writer that lost (README "Faults and retries"). Every lost round means
 * another writer committed, so N concurrent writers need up to N − 1 retries. Pauses grow
 * exponentially up to a cap, each drawn at random below its bound (full jitter), so writers
 * that met once spread out instead of meeting again; the rounds stop at MAX_STALE_RETRIES
 * or after STALE_TIME_BUDGET_MS (well inside the 26 s a call has before it must answer), and the caller is told
 * to retry: `503 api-unavailable` with `Retry-After` (contention is not the caller's error).
 */
export const MAX_STALE_RETRIES = 50;
export const STALE_TIME_BUDGET_MS = 15_000;
const BACKOFF_BASE_MS = 10;
const BACKOFF_CAP_MS = 400;

/** The pause before retry `attempt` (0-based): uniform in [0, min(cap, base·2^attempt)). */
export function staleBackoffMs(attempt: number, random: () => number = Math.random): number {
  return random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 16));
}

/**
 * Runs `attempt` (read, apply, conditional write) until it does not answer STALE. When the
 * retries or their time budget are spent, `giveUp` decides: throw (the default: a 503
 * asking to retry) or answer something.
 */
export async function retryOnStale<T>(
  attempt: (n: number) => Promise<T | Stale>,
  options: { what?: string; maxRetries?: number; timeBudgetMs?: number; giveUp?: () => T } = {},
): Promise<T> {
  const maxRetries = options.maxRetries ?? MAX_STALE_RETRIES;
  const stopAt = Date.now() + (options.timeBudgetMs ?? STALE_TIME_BUDGET_MS);
  for (let n = 0; ; n++) {
    const outcome = await attempt(n);
    if (outcome !== STALE) return outcome;
    const pause = staleBackoffMs(n);
    if (n >= maxRetries || Date.now() + pause >= stopAt) {
      if (options.giveUp) return options.giveUp();
      throw errors.contended(options.what ?? 'item');
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/**
 * The `modified` of a new version: the call's time, or just after the version it replaces
 * when that one is not older (a retry whose request began before the version it read):
 * every write is a new version.
 */
export const nextModified = (now: number, previous: number): number => (now > previous ? now : previous + 0.001);
