import { defineMethod } from '../types';
import { errors } from '../../errors';
import { getAccount } from '../../store/accounts';
import { deleteMfa, getMfa } from '../../store/mfa';
import { verifyPassword } from '../../domain/accounts/passwords';
import { openSession } from '../../domain/accounts/sessions';
import { apiEndpoint } from '../../domain/accesses/api-endpoint';
import { activate, challenge, confirm, hashRecoveryCode, verify } from '../../domain/accounts/mfa';
import { checkLogin, recordLoginFailure, throttleSettings } from '../../domain/accounts/login-throttle';
import type { Account } from '../../model/accounts';
import type { MfaMethod } from '../../model/mfa';

/** MFA (spec §2.13). Steps after activate/login carry the mfaToken in `Authorization`. */

async function account(username: string): Promise<Account> {
  const found = await getAccount(username);
  if (!found) throw errors.unknownUser(username);
  return found;
}

const codeParams = {
  type: 'object',
  properties: { code: { type: 'string', minLength: 1, maxLength: 20 } },
  required: ['code'],
  additionalProperties: false,
};

export const mfaActivate = defineMethod<Record<string, unknown> & { method?: MfaMethod }>({
  id: 'mfa.activate',
  routes: [{ verb: 'POST', path: '/{username}/mfa/activate' }],
  auth: 'token',
  accessTypes: ['personal'],
  batchable: false,
  // Free-form profile data (e.g. `phone_number`, for the code sender), plus our `method`.
  params: {
    type: 'object',
    properties: { method: { type: 'string', enum: ['totp', 'sms'] } },
    maxProperties: 20,
  },
  run: async (ctx, params) => {
    const { method = 'totp', ...content } = params;
    if (Buffer.byteLength(JSON.stringify(content)) > 4096) throw errors.invalidParametersFormat('The MFA profile data is too large.');
    return activate(await account(ctx.username!), method, content, ctx.config.serviceName, ctx.now);
  },
});

export const mfaConfirm = defineMethod<{ code: string }>({
  id: 'mfa.confirm',
  routes: [{ verb: 'POST', path: '/{username}/mfa/confirm' }],
  auth: 'none',
  batchable: false,
  params: codeParams,
  run: async (ctx, params) => ({ recoveryCodes: await confirm(ctx.username!, ctx.request.token, params.code, ctx.now) }),
});

export const mfaChallenge = defineMethod({
  id: 'mfa.challenge',
  routes: [{ verb: 'POST', path: '/{username}/mfa/challenge' }],
  auth: 'none',
  batchable: false,
  params: { type: 'object', properties: {}, additionalProperties: false },
  run: async (ctx) => {
    await challenge(await account(ctx.username!), ctx.request.token, ctx.now);
    return { message: 'Please verify the MFA challenge.' };
  },
});

export const mfaVerify = defineMethod<{ code: string }>({
  id: 'mfa.verify',
  routes: [{ verb: 'POST', path: '/{username}/mfa/verify' }],
  auth: 'none',
  batchable: false,
  params: codeParams,
  run: async (ctx, params) => {
    const username = ctx.username!;
    // Wrong codes count as failed logins of the account (not of the address): with the
    // per-session limit, this keeps a 6-digit code from being guessed over many logins.
    const throttle = await checkLogin(username, undefined, ctx.now, throttleSettings(ctx.config));
    if (throttle.retryAfterS > 0) throw errors.tooManyAttempts(throttle.retryAfterS);
    let appId: string;
    try {
      appId = await verify(username, ctx.request.token, params.code, ctx.now);
    } catch (err) {
      if ((err as { id?: string }).id === 'invalid-parameters-format') await recordLoginFailure(throttle.check);
      throw err;
    }
    const access = await openSession(username, appId, ctx.now);
    ctx.response.headers['Pryv-Access-Id'] = access.id;
    return { token: access.token, apiEndpoint: apiEndpoint(ctx.config.publicUrl, username, access.token) };
  },
});

export const mfaDeactivate = defineMethod({
  id: 'mfa.deactivate',
  routes: [{ verb: 'POST', path: '/{username}/mfa/deactivate' }],
  auth: 'token',
  accessTypes: ['personal'],
  batchable: false,
  params: { type: 'object' },
  run: async (ctx) => {
    await deleteMfa(ctx.username!);
    return { message: 'MFA deactivated.' };
  },
});

interface RecoverParams {
  username: string;
  password: string;
  appId?: string;
  recoveryCode: string;
}

export const mfaRecover = defineMethod<RecoverParams>({
  id: 'mfa.recover',
  routes: [{ verb: 'POST', path: '/{username}/mfa/recover' }],
  auth: 'none',
  batchable: false,
  params: {
    type: 'object',
    properties: {
      username: { type: 'string' },
      password: { type: 'string' },
      appId: { type: 'string' },
      recoveryCode: { type: 'string', minLength: 1, maxLength: 100 },
    },
    required: ['username', 'password', 'recoveryCode'],
    additionalProperties: false,
  },
  run: async (ctx, params) => {
    const username = ctx.username!;
    if (params.username.toLowerCase() !== username) {
      throw errors.invalidOperation('The username in the path does not match the one in the parameters.');
    }
    // A password check like auth.login's: the same brute-force protection applies.
    const throttle = await checkLogin(username, ctx.request.ip, ctx.now, throttleSettings(ctx.config));
    if (throttle.retryAfterS > 0) throw errors.tooManyAttempts(throttle.retryAfterS);
    const found = await account(username);
    if (!(await verifyPassword(params.password, found.passwordHash))) {
      await recordLoginFailure(throttle.check);
      throw errors.invalidCredentials();
    }
    if (!(await getMfa(username))) throw errors.invalidOperation('MFA is not active for this user.');
    // Deleting on condition that the code is one of the account's: one atomic step.
    if (!(await deleteMfa(username, hashRecoveryCode(params.recoveryCode)))) {
      throw errors.invalidParametersFormat('Invalid recovery code.');
    }
    return { message: 'MFA deactivated.' };
  },
});

/** `DELETE /system/users/{username}/mfa` (spec §2.16): the admin turns a user's MFA off. */
export const systemDeactivateMfa = defineMethod<{ username: string }>({
  id: 'system.deactivateMfa',
  routes: [{ verb: 'DELETE', path: '/system/users/{username}/mfa' }],
  auth: 'admin',
  batchable: false,
  status: 204,
  params: { type: 'object', properties: { username: { type: 'string' } }, required: ['username'] },
  httpParams: (request) => ({ username: request.pathParams.username }),
  run: async (_ctx, params) => {
    await account(params.username);
    await deleteMfa(params.username);
    return {};
  },
});
