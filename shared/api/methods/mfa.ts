import { apiEndpoint } from '../../domain/accesses/api-endpoint';
import { loadAccount } from '../../domain/accounts/account';
import { recoverMfa, verifyMfaLogin } from '../../domain/accounts/login';
import { activate, challenge, confirm } from '../../domain/accounts/mfa';
import { errors } from '../../errors';
import type { MfaMethod } from '../../model/mfa';
import { deleteMfa } from '../../store/mfa';
import { callerOf, pathUser } from '../caller';
import { defineMethod } from '../types';

/** MFA (spec §2.13). Steps after activate/login carry the mfaToken in `Authorization`. */

const codeParams = {
  type: 'object',
  properties: { code: { type: 'string', minLength: 1, maxLength: 20 } },
  required: ['code'],
  additionalProperties: false,
};

export const mfaActivate = /* @__PURE__ */ defineMethod<Record<string, unknown> & { method?: MfaMethod }>({
  id: 'mfa.activate',
  routes: [{ verb: 'POST', path: '/{username}/mfa/activate' }],
  auth: 'token',
  capabilities: ['mail'],
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
    return activate(await loadAccount(callerOf(ctx).username), method, content, ctx.config.serviceName, ctx.now);
  },
});

export const mfaConfirm = /* @__PURE__ */ defineMethod<{ code: string }>({
  id: 'mfa.confirm',
  routes: [{ verb: 'POST', path: '/{username}/mfa/confirm' }],
  auth: 'none',
  batchable: false,
  params: codeParams,
  run: async (ctx, params) => ({ recoveryCodes: await confirm(pathUser(ctx), ctx.request.token, params.code, ctx.now) }),
});

export const mfaChallenge = /* @__PURE__ */ defineMethod({
  id: 'mfa.challenge',
  routes: [{ verb: 'POST', path: '/{username}/mfa/challenge' }],
  auth: 'none',
  capabilities: ['mail'],
  batchable: false,
  params: { type: 'object', properties: {}, additionalProperties: false },
  run: async (ctx) => {
    await challenge(await loadAccount(pathUser(ctx)), ctx.request.token, ctx.now);
    return { message: 'Please verify the MFA challenge.' };
  },
});

export const mfaVerify = /* @__PURE__ */ defineMethod<{ code: string }>({
  id: 'mfa.verify',
  routes: [{ verb: 'POST', path: '/{username}/mfa/verify' }],
  auth: 'none',
  batchable: false,
  params: codeParams,
  run: async (ctx, params) => {
    const username = pathUser(ctx);
    const access = await verifyMfaLogin(username, ctx.request.token, params.code, ctx.now, ctx.config);
    ctx.response.headers['Pryv-Access-Id'] = access.id;
    return { token: access.token, apiEndpoint: apiEndpoint(ctx.config.publicUrl, username, access.token) };
  },
});

export const mfaDeactivate = /* @__PURE__ */ defineMethod({
  id: 'mfa.deactivate',
  routes: [{ verb: 'POST', path: '/{username}/mfa/deactivate' }],
  auth: 'token',
  accessTypes: ['personal'],
  batchable: false,
  params: { type: 'object' },
  run: async (ctx) => {
    await deleteMfa(callerOf(ctx).username);
    return { message: 'MFA deactivated.' };
  },
});

interface RecoverParams {
  username: string;
  password: string;
  appId?: string;
  recoveryCode: string;
}

export const mfaRecover = /* @__PURE__ */ defineMethod<RecoverParams>({
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
    await recoverMfa({ ...params, pathUser: pathUser(ctx), ip: ctx.request.ip }, ctx.now, ctx.config);
    return { message: 'MFA deactivated.' };
  },
});

/** `DELETE /system/users/{username}/mfa` (spec §2.16): the admin turns a user's MFA off. */
export const systemDeactivateMfa = /* @__PURE__ */ defineMethod<{ username: string }>({
  id: 'system.deactivateMfa',
  routes: [{ verb: 'DELETE', path: '/system/users/{username}/mfa' }],
  auth: 'admin',
  capabilities: ['adminKey'],
  batchable: false,
  status: 204,
  params: { type: 'object', properties: { username: { type: 'string' } }, required: ['username'] },
  httpParams: (request) => ({ username: request.pathParams.username }),
  run: async (_ctx, params) => {
    await loadAccount(params.username);
    await deleteMfa(params.username);
    return {};
  },
});
