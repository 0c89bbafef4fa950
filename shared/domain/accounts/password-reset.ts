import { createHash, randomBytes } from 'node:crypto';
import { escapeHtml, sendMail } from '../../adapters/mail';
import { PASSWORD_RESET_MAX_REQUESTS_PER_HOUR, PASSWORD_RESET_TTL_S } from '../../config';
import { PryvError } from '../../errors';
import type { Account } from '../../model/accounts';
import { setPasswordHash } from '../../store/accounts';
import { addFailure } from '../../store/login-throttle';
import { consumePasswordReset, putPasswordReset } from '../../store/password-resets';
import { hashPassword } from './passwords';

/** Only the SHA-256 of a reset token is stored: a table read does not yield usable tokens. */
export const hashResetToken = (token: string) => createHash('sha256').update(token).digest('hex');

export function resetUrl(publicUrl: string, username: string, token: string): string {
  const url = new URL(`${publicUrl}/www/reset-password.html`);
  url.searchParams.set('username', username);
  url.searchParams.set('resetToken', token);
  return url.toString();
}

/** Creates a single-use reset token (1 h, spec §8) and mails its link to the account's email. */
export async function requestPasswordReset(account: Account, publicUrl: string, now: number): Promise<void> {
  // Anyone may ask, and each request mails the account: at most a few per hour (fixed window).
  const hour = Math.floor(now / 3600);
  const requests = await addFailure(`reset#${account.username}`, hour, now, (hour + 2) * 3600);
  if (requests > PASSWORD_RESET_MAX_REQUESTS_PER_HOUR) {
    const retryAfterSeconds = Math.ceil((hour + 1) * 3600 - now);
    throw new PryvError('too-many-attempts', 429, `Too many password reset requests; retry in ${retryAfterSeconds} s.`, {
      retryAfterSeconds,
    });
  }
  const token = randomBytes(32).toString('base64url');
  await putPasswordReset(account.username, hashResetToken(token), now, now + PASSWORD_RESET_TTL_S);
  const link = resetUrl(publicUrl, account.username, token);
  await sendMail({
    to: account.email,
    subject: 'Reset your password',
    text:
      `Someone asked to reset the password of the account "${account.username}".\n\n` +
      `To choose a new password, open this link within one hour:\n${link}\n\n` +
      `Reset token: ${token}\n\nIf you did not ask for it, ignore this mail: your password stays as it is.\n`,
    html:
      `<p>Someone asked to reset the password of the account <b>${escapeHtml(account.username)}</b>.</p>` +
      `<p><a href="${escapeHtml(link)}">Choose a new password</a> (the link works once, within one hour).</p>` +
      `<p>If you did not ask for it, ignore this mail: your password stays as it is.</p>`,
    meta: { kind: 'password-reset', username: account.username, resetToken: token, resetUrl: link },
  });
}

/** Consumes the token, then sets the new password. False when the token is unknown, used or expired. */
export async function resetPassword(username: string, token: string, newPassword: string, now: number): Promise<boolean> {
  // Hash first (slow, ~50 ms) so the token is consumed only when the write can follow at once.
  const newHash = await hashPassword(newPassword);
  if (!(await consumePasswordReset(username, hashResetToken(token), now))) return false;
  return setPasswordHash(username, newHash, now);
}
