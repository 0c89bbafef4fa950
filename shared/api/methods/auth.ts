import { defineMethod, ALL_ACCESS_TYPES } from '../types';
import { errors } from '../../errors';
import { getAccount } from '../../store/accounts';
import { endSession } from '../../store/accesses';
import { verifyPassword } from '../../domain/accounts/passwords';
import { isTrustedApp, parseTrustedApps, type TrustedApp } from '../../domain/accounts/trusted-apps';
import { openSession } from '../../domain/accounts/sessions';
import { apiEndpoint } from '../../domain/accesses/api-endpoint';
import { checkLogin, recordLoginFailure, throttleSettings } from '../../domain/accounts/login-throttle';
import { startLogin as startMfaLogin } from '../../domain/accounts/mfa';

let trusted: { setting: string; apps: TrustedApp[] } | undefined;
function trustedApps(setting: string): TrustedApp[] {
  if (trusted?.setting !== setting) trusted = { setting, apps: parseTrustedApps(setting) };
  return trusted.apps;
}

interface LoginParams {
  username?: string;
  password?: string;
  appId?: string;
}

/** `auth.login` (spec §2.9): a trusted app opens a personal session with a password. */
export const authLogin = defineMethod<LoginParams>({
  id: 'auth.login',
  routes: [{ verb: 'POST', path: '/{username}/auth/login' }],
  auth: 'none',
  batchable: false,
  params: {
    type: 'object',
    properties: { username: { type: 'string' }, password: { type: 'string' }, appId: { type: 'string' } },
    additionalProperties: false,
  },
  run: async (ctx, params) => {
    const missing = (['username', 'password', 'appId'] as const).filter((k) => !params[k]);
    if (missing.length > 0) throw errors.invalidOperation(`Missing parameters: ${missing.join(', ')}.`);
    const origin = ctx.request.headers.origin ?? ctx.request.headers.referer;
    if (!isTrustedApp(trustedApps(ctx.config.trustedApps), params.appId, origin)) {
      throw errors.invalidCredentials(`The app id ("appId") is either missing or not trusted.`);
    }
    const username = params.username!.toLowerCase();
    if (username !== ctx.username) {
      throw errors.invalidOperation('The username in the path does not match the one in the parameters.');
    }
    // Brute-force protection: during a cool-down no password is even checked.
    const throttle = await checkLogin(username, ctx.request.ip, ctx.now, throttleSettings(ctx.config));
    if (throttle.retryAfterS > 0) throw errors.tooManyAttempts(throttle.retryAfterS);
    const account = await getAccount(username);
    if (!account || !(await verifyPassword(params.password!, account.passwordHash))) {
      await recordLoginFailure(throttle.check);
      throw errors.invalidCredentials();
    }
    // MFA on: the session opens only after mfa.verify (spec §2.9; 200, as lib-js needs 2xx).
    const mfaToken = await startMfaLogin(account, params.appId!, ctx.now);
    if (mfaToken) return { mfaToken };
    const access = await openSession(username, params.appId!, ctx.now);
    ctx.response.headers['Pryv-Access-Id'] = access.id;
    return {
      token: access.token,
      apiEndpoint: apiEndpoint(ctx.config.publicUrl, username, access.token),
      preferredLanguage: account.language,
    };
  },
});

/** `auth.logout`: ends a personal session; a no-op for app and shared accesses. */
export const authLogout = defineMethod({
  id: 'auth.logout',
  routes: [{ verb: 'POST', path: '/{username}/auth/logout' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  batchable: false,
  params: { type: 'object' },
  run: async (ctx) => {
    const access = ctx.access!;
    if (access.type === 'personal') {
      await endSession(ctx.username!, access.token, ctx.now);
      ctx.sessionEnded = true;
    }
    return {};
  },
});
