import { getProfile, putProfile } from '../store/profiles';

/** Largest profile set, serialized (a DynamoDB item holds 400 KB; profiles are small key-value stores). */
export const PROFILE_MAX_BYTES = 100 * 1024;
const MAX_WRITE_ATTEMPTS = 5; // concurrent updates of one set: each retry re-reads and re-merges

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

/** Merges an update into a set without losing a concurrent one. Returns the new set, or 'too-large'. */
export async function updateProfile(
  username: string,
  setId: string,
  update: Record<string, unknown>,
): Promise<Record<string, unknown> | 'too-large'> {
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
    const current = await getProfile(username, setId);
    const next = mergeProfile(current.data, update);
    if (Buffer.byteLength(JSON.stringify(next)) > PROFILE_MAX_BYTES) return 'too-large';
    if (await putProfile(username, setId, next, current.version)) return next;
  }
  throw new Error('profile update lost to concurrent writers too many times');
}
