import { errors } from '../../errors';
import type { Access } from '../../model/accesses';

/**
 * Whether an access still opens the user's data (spec §2.9, §3.3): a deleted one is gone
 * from its token (never found), a personal one lives while its login session does, any
 * other until its `expires` (if it has one).
 */
type Lifetime = Pick<Access, 'type' | 'sessionExpires' | 'expires'>;

/** A personal access whose login session ended (logout, or not used for `SESSION_MAX_AGE_S`). */
export const sessionEnded = (access: Lifetime, now: number): boolean => access.type === 'personal' && (access.sessionExpires ?? 0) <= now;

/** An access past its `expires` (set by `expireAfter` at creation). */
export const isExpired = (access: Pick<Access, 'expires'>, now: number): boolean =>
  access.expires !== undefined && access.expires !== null && access.expires <= now;

export const isAccessLive = (access: Lifetime, now: number): boolean => !sessionEnded(access, now) && !isExpired(access, now);

/** Refuses an access that is no longer live, with Pryv's errors: 403 invalid-access-token for an ended session, 403 forbidden for an expired access. */
export function assertAccessLive(access: Lifetime, now: number): void {
  if (sessionEnded(access, now)) throw errors.invalidAccessToken('Access session has expired.');
  if (isExpired(access, now)) throw errors.forbidden('Access has expired.');
}
