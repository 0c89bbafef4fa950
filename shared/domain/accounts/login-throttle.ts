import type { Config } from '../../config';
import { addFailure, putLock, readSubjects, type SubjectState } from '../../store/login-throttle';

/**
 * auth.login brute-force protection (beyond Pryv; README "Brute-force protection").
 * Failed logins are counted per username and per client IP in fixed windows (one counter
 * item per subject and window, atomic ADD, TTL), read as a sliding window: the current
 * window's count plus the previous window's failures less than `windowS` old (their times
 * are kept), so a burst across a window boundary counts in full. Reaching a
 * threshold starts a cool-down during which every login of that subject is refused with
 * 429, before any password is checked (a right password neither logs in nor ends it).
 * Successful logins count nothing and reset nothing.
 */
export interface ThrottleSettings {
  maxPerUser: number;
  maxPerIp: number;
  windowS: number;
  cooldownS: number;
}

export const throttleSettings = (c: Config): ThrottleSettings => ({
  maxPerUser: c.loginMaxFailuresPerUser,
  maxPerIp: c.loginMaxFailuresPerIp,
  windowS: c.loginFailureWindowS,
  cooldownS: c.loginCooldownS,
});

interface Subject {
  key: string;
  max: number;
}

function subjectsOf(username: string, ip: string | undefined, s: ThrottleSettings): Subject[] {
  const out: Subject[] = [{ key: `user#${username}`, max: s.maxPerUser }];
  if (ip) out.push({ key: `ip#${ip}`, max: s.maxPerIp });
  return out.filter((x) => x.max > 0); // 0 = that rule off
}

/** Failures over the last `windowS` seconds: the current window's, plus the previous window's still inside. */
export function slidingCount(current: number, previousTimes: readonly number[], now: number, windowS: number): number {
  return current + previousTimes.filter((t) => t > now - windowS).length;
}

export const windowOf = (now: number, windowS: number) => Math.floor(now / windowS);

/** What a login check read, handed back to {@link recordLoginFailure}. */
export interface LoginCheck {
  subjects: Subject[];
  states: Map<string, SubjectState>;
  now: number;
  settings: ThrottleSettings;
}

/** Reads the state of the login's subjects: `retryAfterS` > 0 when a cool-down is running. */
export async function checkLogin(
  username: string,
  ip: string | undefined,
  now: number,
  settings: ThrottleSettings,
): Promise<{ retryAfterS: number; check: LoginCheck }> {
  const subjects = subjectsOf(username, ip, settings);
  const states =
    subjects.length > 0
      ? await readSubjects(
          subjects.map((x) => x.key),
          windowOf(now, settings.windowS) - 1,
        )
      : new Map();
  let until = 0;
  for (const state of states.values()) until = Math.max(until, state.lockedUntil);
  return { retryAfterS: until > now ? Math.ceil(until - now) : 0, check: { subjects, states, now, settings } };
}

/** Counts a failed login on each subject; a subject reaching its threshold starts a cool-down. */
export async function recordLoginFailure(check: LoginCheck): Promise<void> {
  const { now, settings } = check;
  const window = windowOf(now, settings.windowS);
  // The counter must outlive the next window, whose sliding count still reads it.
  const expires = (window + 2) * settings.windowS;
  await Promise.all(
    check.subjects.map(async (subject) => {
      const current = await addFailure(subject.key, window, now, expires);
      const previous = check.states.get(subject.key)?.previousTimes ?? [];
      if (slidingCount(current, previous, now, settings.windowS) >= subject.max) {
        await putLock(subject.key, now + settings.cooldownS);
      }
    }),
  );
}
