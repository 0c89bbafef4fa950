import { errors } from '../errors';
import type { Access } from '../model/accesses';
import { getProfile, putProfile } from '../store/profiles';
import { retryOnStale, STALE } from './concurrency';

/**
 * Profile sets (spec §2.7): key-value stores. `public` (read by any access, written by
 * personal), `private` (personal only), `app` (one per app access, keyed by its name).
 */

/** Largest profile set, serialized (a DynamoDB item holds 400 KB; profiles are small key-value stores). */
export const PROFILE_MAX_BYTES = 100 * 1024;

/** The app set belongs to the calling app access; other access types get 400 (spec §2.7). */
export function appProfileSet(access: Pick<Access, 'type' | 'name'>): string {
  if (access.type !== 'app') throw errors.invalidOperation('This resource is only available to app accesses.');
  return `app#${access.name}`;
}

/** Applies a profile update (spec §2.7): a key set to a value adds or replaces it, `null` deletes it. */
export function mergeProfile(current: Record<string, unknown>, update: Record<string, unknown>): Record<string, unknown> {
  const next = { ...current };
  for (const [key, value] of Object.entries(update)) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  return next;
}

export const readProfile = async (username: string, setId: string) => (await getProfile(username, setId)).data;

/** Merges an update into a set without losing a concurrent one; the new set. */
export function updateProfile(username: string, setId: string, update: Record<string, unknown>): Promise<Record<string, unknown>> {
  return retryOnStale(
    async () => {
      const current = await getProfile(username, setId);
      const next = mergeProfile(current.data, update);
      if (Buffer.byteLength(JSON.stringify(next)) > PROFILE_MAX_BYTES) {
        throw errors.invalidParametersFormat(`The profile set would exceed ${PROFILE_MAX_BYTES} bytes.`, { limit: PROFILE_MAX_BYTES });
      }
      return (await putProfile(username, setId, next, current.version)) ? next : STALE;
    },
    // Concurrent updates of one set: each retry re-reads and re-merges.
    { what: 'profile set' },
  );
}
