import { defineMethod, type MethodContext } from '../types';
import { errors } from '../../errors';
import { getAccount } from '../../store/accounts';
import { isTrustedApp, parseTrustedApps } from '../../domain/accounts/trusted-apps';
import { requestPasswordReset, resetPassword } from '../../domain/accounts/password-reset';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../config';

/** The password-reset routes read `Origin` only (spec §1.3), unlike auth.login. */
function requireTrustedApp(ctx: MethodContext, appId: string | undefined): void {
  if (!isTrustedApp(parseTrustedApps(ctx.config.trustedApps), appId, ctx.request.headers.origin)) {
    throw errors.invalidCredentials('The app id ("appId") is either missing or not trusted.');
  }
}

/**
 * The `pryv` library (Service.requestPasswordReset / resetPassword) also sends `username`
 * in the body: accepted when it names the path's user, as auth.login does.
 */
function requireSameUser(ctx: MethodContext, username: string | undefined): void {
  if (username !== undefined && username.toLowerCase() !== ctx.username) {
    throw errors.invalidOperation('The username in the path does not match the one in the parameters.');
  }
}

/** `account.requestPasswordReset` (spec §2.8): mails a single-use reset token. */
export const accountRequestPasswordReset = defineMethod<{ appId?: string; username?: string }>({
  id: 'account.requestPasswordReset',
  routes: [{ verb: 'POST', path: '/{username}/account/request-password-reset' }],
  auth: 'none',
  batchable: false,
  params: { type: 'object', properties: { appId: { type: 'string' }, username: { type: 'string' } }, additionalProperties: false },
  run: async (ctx, params) => {
    requireTrustedApp(ctx, params.appId);
    requireSameUser(ctx, params.username);
    // The path user exists (authenticate answered 404 otherwise, as for every route).
    const account = await getAccount(ctx.username!);
    if (!account) throw errors.unknownUser(ctx.username!);
    await requestPasswordReset(account, ctx.config.publicUrl, ctx.now);
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
export const accountResetPassword = defineMethod<ResetParams>({
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
    requireTrustedApp(ctx, params.appId);
    requireSameUser(ctx, params.username);
    if (!(await resetPassword(ctx.username!, params.resetToken, params.newPassword, ctx.now))) {
      throw errors.invalidAccessToken('The reset token is invalid or expired.', 401);
    }
    return {};
  },
});
