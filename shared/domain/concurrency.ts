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
 * Every lost round means another writer committed, so N concurrent writers need up to
 * N − 1 retries; the jittered pause keeps the same writer from losing every round.
 */
export const MAX_STALE_RETRIES = 20;

function staleBackoff(attempt: number): Promise<void> {
  const ms = Math.random() * 10 * 2 ** Math.min(attempt, 4);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `attempt` (read, apply, conditional write) until it does not answer STALE. After
 * `maxRetries` lost rounds, `giveUp` decides: throw (the default: a 400 asking to retry)
 * or answer something.
 */
export async function retryOnStale<T>(
  attempt: (n: number) => Promise<T | Stale>,
  options: { what?: string; maxRetries?: number; giveUp?: () => T } = {},
): Promise<T> {
  const maxRetries = options.maxRetries ?? MAX_STALE_RETRIES;
  for (let n = 0; ; n++) {
    const outcome = await attempt(n);
    if (outcome !== STALE) return outcome;
    if (n >= maxRetries) {
      if (options.giveUp) return options.giveUp();
      throw errors.invalidOperation(`The ${options.what ?? 'item'} is being changed by another request; retry.`);
    }
    await staleBackoff(n);
  }
}

/**
 * The `modified` of a new version: the call's time, or just after the version it replaces
 * when that one is not older (a retry whose request began before the version it read):
 * every write is a new version.
 */
export const nextModified = (now: number, previous: number): number => (now > previous ? now : previous + 0.001);
