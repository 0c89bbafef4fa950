import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../config';
import { loadAccount } from '../../domain/accounts/account';
import { assertSameUser } from '../../domain/accounts/login';
import { requestPasswordReset, resetPassword } from '../../domain/accounts/password-reset';
import { assertTrustedApp } from '../../domain/accounts/trusted-apps';
import { errors } from '../../errors';
import { pathUser } from '../caller';
import { defineMethod } from '../types';

/**
 * Password reset (spec §2.8). The routes read `Origin` only (spec §1.3), unlike auth.login;
 * the `pryv` library (Service.requestPasswordReset / resetPassword) also sends `username`
 * in the body: accepted when it names the path's user, as auth.login does.
 */

/** `account.requestPasswordReset` (spec §2.8): mails a single-use reset token. */
export const accountRequestPasswordReset = /* @__PURE__ */ defineMethod<{ appId?: string; username?: string }>({
  id: 'account.requestPasswordReset',
  routes: [{ verb: 'POST', path: '/{username}/account/request-password-reset' }],
  auth: 'none',
  capabilities: ['mail'],
  batchable: false,
  params: { type: 'object', properties: { appId: { type: 'string' }, username: { type: 'string' } }, additionalProperties: false },
  run: async (ctx, params) => {
    assertTrustedApp(ctx.config.trustedApps, params.appId, ctx.request.headers.origin);
    const username = pathUser(ctx);
    assertSameUser(username, params.username);
    await requestPasswordReset(await loadAccount(username), ctx.config.publicUrl, ctx.now);
    return {};
  },
});

interface ResetParams {
  appId?: string;
  resetToken: string;
  newPassword: string;
  username?: string;
}

/** `account.resetPassword` (spec §2.8): a valid reset token sets a new password, once. */
export const accountResetPassword = /* @__PURE__ */ defineMethod<ResetParams>({
  id: 'account.resetPassword',
  routes: [{ verb: 'POST', path: '/{username}/account/reset-password' }],
  auth: 'none',
  batchable: false,
  params: {
    type: 'object',
    properties: {
      appId: { type: 'string' },
      username: { type: 'string' },
      resetToken: { type: 'string', minLength: 1, maxLength: 200 },
      newPassword: { type: 'string', minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH },
    },
    required: ['resetToken', 'newPassword'],
    additionalProperties: false,
  },
  run: async (ctx, params) => {
    assertTrustedApp(ctx.config.trustedApps, params.appId, ctx.request.headers.origin);
    const username = pathUser(ctx);
    assertSameUser(username, params.username);
    if (!(await resetPassword(username, params.resetToken, params.newPassword, ctx.now))) {
      throw errors.invalidAccessToken('The reset token is invalid or expired.', 401);
    }
    return {};
  },
});
