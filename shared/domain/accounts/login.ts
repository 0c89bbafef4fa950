import type { Config } from '../../config';
import { errors } from '../../errors';
import type { Access } from '../../model/accesses';
import type { Account } from '../../model/accounts';
import { getAccount } from '../../store/accounts';
import { deleteMfa, getMfa } from '../../store/mfa';
import { checkLogin, recordLoginFailure, throttleSettings } from './login-throttle';
import { hashRecoveryCode, startLogin as startMfaLogin, verify as verifyMfaCode } from './mfa';
import { verifyPassword } from './passwords';
import { openSession } from './sessions';
import { assertTrustedApp } from './trusted-apps';

/**
 * Logging in (spec §2.9, §2.13): a trusted app opens a personal session with the password,
 * then (MFA on) with a code; every password and code check is under the brute-force
 * protection (./login-throttle.ts).
 */

/** A username given in the body must name the path's user (the `pryv` library sends both). */
export function assertSameUser(pathUser: string, given: string | undefined): void {
  if (given !== undefined && given.toLowerCase() !== pathUser) {
    throw errors.invalidOperation('The username in the path does not match the one in the parameters.');
  }
}

/**
 * The account, if the password is its own. During a cool-down no password is even checked
 * (429); a wrong password counts against the user and the client address (401).
 */
export async function checkPassword(
  username: string,
  password: string,
  ip: string | undefined,
  now: number,
  config: Config,
): Promise<Account> {
  const throttle = await checkLogin(username, ip, now, throttleSettings(config));
  if (throttle.retryAfterS > 0) throw errors.tooManyAttempts(throttle.retryAfterS);
  const account = await getAccount(username);
  if (!account || !(await verifyPassword(password, account.passwordHash))) {
    await recordLoginFailure(throttle.check);
    throw errors.invalidCredentials();
  }
  return account;
}

export interface LoginRequest {
  pathUser: string;
  username?: string;
  password?: string;
  appId?: string;
  /** Origin (or Referer) of the request: with the app id, it must be a trusted pair. */
  origin?: string;
  ip?: string;
}

/** `auth.login`: the session (MFA off), or the mfaToken of the MFA step (MFA on). */
export async function logIn(
  request: LoginRequest,
  now: number,
  config: Config,
): Promise<{ mfaToken: string } | { access: Access; account: Account }> {
  const missing = (['username', 'password', 'appId'] as const).filter((k) => !request[k]);
  if (missing.length > 0) throw errors.invalidOperation(`Missing parameters: ${missing.join(', ')}.`);
  assertTrustedApp(config.trustedApps, request.appId, request.origin);
  assertSameUser(request.pathUser, request.username);
  const username = request.pathUser;
  const account = await checkPassword(username, request.password!, request.ip, now, config);
  // MFA on: the session opens only after mfa.verify (spec §2.9; 200, as lib-js needs 2xx).
  const mfaToken = await startMfaLogin(account, request.appId!, now);
  if (mfaToken) return { mfaToken };
  return { access: await openSession(username, request.appId!, now), account };
}

/**
 * `mfa.verify`: a right code opens the session of the login. Wrong codes count as failed
 * logins of the account (not of the address): with the per-session limit, this keeps a
 * 6-digit code from being guessed over many logins.
 */
export async function verifyMfaLogin(
  username: string,
  mfaToken: string | undefined,
  code: string,
  now: number,
  config: Config,
): Promise<Access> {
  const throttle = await checkLogin(username, undefined, now, throttleSettings(config));
  if (throttle.retryAfterS > 0) throw errors.tooManyAttempts(throttle.retryAfterS);
  let appId: string;
  try {
    appId = await verifyMfaCode(username, mfaToken, code, now);
  } catch (err) {
    if ((err as { id?: string }).id === 'invalid-parameters-format') await recordLoginFailure(throttle.check);
    throw err;
  }
  return openSession(username, appId, now);
}

/** `mfa.recover`: the password and one recovery code turn MFA off. */
export async function recoverMfa(
  request: { pathUser: string; username: string; password: string; recoveryCode: string; ip?: string },
  now: number,
  config: Config,
): Promise<void> {
  const username = request.pathUser;
  assertSameUser(username, request.username);
  // A password check like auth.login's: the same brute-force protection applies.
  await checkPassword(username, request.password, request.ip, now, config);
  if (!(await getMfa(username))) throw errors.invalidOperation('MFA is not active for this user.');
  // Deleting on condition that the code is one of the account's: one atomic step.
  if (!(await deleteMfa(username, hashRecoveryCode(request.recoveryCode)))) {
    throw errors.invalidParametersFormat('Invalid recovery code.');
  }
}
