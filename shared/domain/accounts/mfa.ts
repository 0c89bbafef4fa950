import { createHash, randomBytes, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { escapeHtml, sendMail } from '../../adapters/mail';
import { MFA_MAX_CODE_ATTEMPTS, MFA_RECOVERY_CODES, MFA_SESSION_TTL_S } from '../../config';
import { errors } from '../../errors';
import type { Account } from '../../model/accounts';
import type { MfaMethod, MfaSession } from '../../model/mfa';
import {
  consumeMfaSession,
  consumeTotpStep,
  countMfaAttempt,
  deleteMfaSession,
  getMfa,
  getMfaSession,
  putMfa,
  putMfaSession,
  setMfaSessionCode,
} from '../../store/mfa';

/**
 * Multi-factor authentication (spec §2.13). Default method: TOTP (RFC 6238, authenticator
 * apps) through the `otpauth` package. Pryv's SMS path is `sms`: a 6-digit code sent by a
 * pluggable sender (locally the mail sink, kind `mfa-code`). Pending steps are "MFA
 * sessions" behind an mfaToken: random, stored hashed, expiring, single-use.
 */

const TOTP_PERIOD_S = 30;
const TOTP_DIGITS = 6;
const TOTP_WINDOW = 1; // accept the previous and next step too: clocks of phones drift
const SMS_CODE_DIGITS = 6;

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
export const hashMfaToken = sha256;
/** Recovery codes are compared case- and space-insensitively. */
export const hashRecoveryCode = (code: string) => sha256(code.trim().toLowerCase());

function totpFor(secret: string, label: string, issuer: string): TOTP {
  return new TOTP({ issuer, label, algorithm: 'SHA1', digits: TOTP_DIGITS, period: TOTP_PERIOD_S, secret: Secret.fromBase32(secret) });
}

/** The time step a TOTP code matches (within the window), or undefined. */
export function totpStep(secret: string, code: string, now: number): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const delta = totpFor(secret, 'x', 'x').validate({ token: code, timestamp: now * 1000, window: TOTP_WINDOW });
  return delta === null ? undefined : Math.floor(now / TOTP_PERIOD_S) + delta;
}

// --- the SMS path: a pluggable code sender ---

export type MfaCodeSender = (account: Account, code: string, content: Record<string, unknown>) => Promise<void>;

/** Default sender: the mail transport (the local sink in development). */
const mailCodeSender: MfaCodeSender = async (account, code, content) => {
  await sendMail({
    to: account.email,
    subject: 'Your verification code',
    text: `Your verification code is ${code}. It is valid for ${MFA_SESSION_TTL_S / 60} minutes.\n`,
    html: `<p>Your verification code is <b>${escapeHtml(code)}</b>.</p>`,
    meta: { kind: 'mfa-code', username: account.username, code, content },
  });
};
let codeSender: MfaCodeSender = mailCodeSender;
/** Plugs an SMS provider in (undefined: back to the mail sender). */
export function setMfaCodeSender(sender: MfaCodeSender | undefined): void {
  codeSender = sender ?? mailCodeSender;
}

async function sendNewCode(account: Account, content: Record<string, unknown>): Promise<string> {
  const code = String(randomInt(0, 10 ** SMS_CODE_DIGITS)).padStart(SMS_CODE_DIGITS, '0');
  await codeSender(account, code, content);
  return sha256(code);
}

function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

// --- sessions ---

async function openMfaSession(username: string, session: Omit<MfaSession, 'created' | 'expires'>, now: number): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await putMfaSession(username, hashMfaToken(token), { ...session, created: now, expires: now + MFA_SESSION_TTL_S });
  return token;
}

const invalidSession = () => errors.invalidAccessToken('Invalid or expired MFA session token.', 401);
const invalidCode = () => errors.invalidParametersFormat('The provided MFA code is invalid.');

/** The live session behind an mfaToken, of the expected purpose; 401 otherwise. */
export async function loadSession(username: string, token: string | undefined, purpose: MfaSession['purpose'] | undefined, now: number) {
  if (!token) throw errors.missingToken();
  const session = await getMfaSession(username, hashMfaToken(token), now);
  if (!session || (purpose && session.purpose !== purpose)) throw invalidSession();
  return { session, tokenHash: hashMfaToken(token) };
}

/** A wrong code: counted on the session, which is voided after MFA_MAX_CODE_ATTEMPTS. */
async function wrongCode(username: string, tokenHash: string): Promise<never> {
  const attempts = await countMfaAttempt(username, tokenHash);
  if (attempts >= MFA_MAX_CODE_ATTEMPTS) await deleteMfaSession(username, tokenHash);
  throw invalidCode();
}

// --- the flows ---

/** `mfa.activate`: a pending enrolment. TOTP answers the secret and its otpauth URL; sms sends a code. */
export async function activate(
  account: Account,
  method: MfaMethod,
  content: Record<string, unknown>,
  issuer: string,
  now: number,
): Promise<{ mfaToken: string; secret?: string; otpauthUrl?: string }> {
  if (await getMfa(account.username)) throw errors.invalidOperation('MFA is already active for this account; deactivate it first.');
  if (method === 'totp') {
    const secret = new Secret({ size: 20 }).base32;
    const mfaToken = await openMfaSession(account.username, { purpose: 'activate', method, secret, content }, now);
    return { mfaToken, secret, otpauthUrl: totpFor(secret, account.username, issuer).toString() };
  }
  const codeHash = await sendNewCode(account, content);
  return { mfaToken: await openMfaSession(account.username, { purpose: 'activate', method, content, codeHash }, now) };
}

/** `mfa.confirm`: a right code makes MFA active and answers the recovery codes (shown once). */
export async function confirm(username: string, token: string | undefined, code: string, now: number): Promise<string[]> {
  const { session, tokenHash } = await loadSession(username, token, 'activate', now);
  let lastUsedStep: number | undefined;
  if (session.method === 'totp') {
    lastUsedStep = totpStep(session.secret!, code, now);
    if (lastUsedStep === undefined) return wrongCode(username, tokenHash);
  } else if (!session.codeHash || !sameHash(session.codeHash, sha256(code.trim()))) {
    return wrongCode(username, tokenHash);
  }
  if (!(await consumeMfaSession(username, tokenHash, now))) throw invalidSession();
  const recoveryCodes = Array.from({ length: MFA_RECOVERY_CODES }, () => randomUUID());
  const stored = await putMfa(username, {
    method: session.method,
    secret: session.secret,
    content: session.content ?? {},
    recoveryCodeHashes: recoveryCodes.map(hashRecoveryCode),
    lastUsedStep,
    activated: now,
  });
  if (!stored) throw errors.invalidOperation('MFA is already active for this account; deactivate it first.');
  return recoveryCodes;
}

/** auth.login of an MFA-enabled account: an mfaToken instead of a session (undefined when MFA is off). */
export async function startLogin(account: Account, appId: string, now: number): Promise<string | undefined> {
  const mfa = await getMfa(account.username);
  if (!mfa) return undefined;
  const codeHash = mfa.method === 'sms' ? await sendNewCode(account, mfa.content) : undefined;
  return openMfaSession(account.username, { purpose: 'login', method: mfa.method, appId, codeHash }, now);
}

/** `mfa.challenge`: sms sends a new code; TOTP users read theirs in their app. */
export async function challenge(account: Account, token: string | undefined, now: number): Promise<void> {
  const { session, tokenHash } = await loadSession(account.username, token, undefined, now);
  if (session.method !== 'sms') return;
  const content = session.purpose === 'login' ? ((await getMfa(account.username))?.content ?? {}) : (session.content ?? {});
  if (!(await setMfaSessionCode(account.username, tokenHash, await sendNewCode(account, content)))) throw invalidSession();
}

/** `mfa.verify`: a right code ends the login session and answers the app id whose session to open. */
export async function verify(username: string, token: string | undefined, code: string, now: number): Promise<string> {
  const { session, tokenHash } = await loadSession(username, token, 'login', now);
  const mfa = await getMfa(username);
  if (!mfa) {
    // Deactivated since the login: the pending session is worthless.
    await deleteMfaSession(username, tokenHash);
    throw invalidSession();
  }
  if (mfa.method === 'totp') {
    const step = totpStep(mfa.secret!, code, now);
    if (step === undefined || !(await consumeTotpStep(username, mfa.secret!, step))) return wrongCode(username, tokenHash);
  } else if (!session.codeHash || !sameHash(session.codeHash, sha256(code.trim()))) {
    return wrongCode(username, tokenHash);
  }
  if (!(await consumeMfaSession(username, tokenHash, now))) throw invalidSession();
  return session.appId!;
}
