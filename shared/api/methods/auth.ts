import { adminKey } from '../../adapters/secrets';
import { apiEndpoint } from '../../domain/accesses/api-endpoint';
import { sessionEnded } from '../../domain/accesses/liveness';
import { deleteAccount } from '../../domain/accounts/deletion';
import { logIn } from '../../domain/accounts/login';
import { logout } from '../../domain/accounts/sessions';
import { errors } from '../../errors';
import { getAccessByToken } from '../../store/accesses';
import { callerOf, pathUser } from '../caller';
import { sameSecret } from '../execute';
import { ALL_ACCESS_TYPES, defineMethod } from '../types';

interface LoginParams {
  username?: string;
  password?: string;
  appId?: string;
}

/** `auth.login` (spec §2.9): a trusted app opens a personal session with a password. */
export const authLogin = /* @__PURE__ */ defineMethod<LoginParams>({
  id: 'auth.login',
  routes: [{ verb: 'POST', path: '/{username}/auth/login' }],
  auth: 'none',
  capabilities: ['mail'],
  batchable: false,
  params: {
    type: 'object',
    properties: { username: { type: 'string' }, password: { type: 'string' }, appId: { type: 'string' } },
    additionalProperties: false,
  },
  run: async (ctx, params) => {
    const username = pathUser(ctx);
    const origin = ctx.request.headers.origin ?? ctx.request.headers.referer;
    const outcome = await logIn({ ...params, pathUser: username, origin, ip: ctx.request.ip }, ctx.now, ctx.config);
    if ('mfaToken' in outcome) return { mfaToken: outcome.mfaToken };
    const { access, account } = outcome;
    ctx.response.headers['Pryv-Access-Id'] = access.id;
    return {
      token: access.token,
      apiEndpoint: apiEndpoint(ctx.config.publicUrl, username, access.token),
      preferredLanguage: account.language,
    };
  },
});

/** `auth.logout`: ends a personal session; a no-op for app and shared accesses. */
export const authLogout = /* @__PURE__ */ defineMethod({
  id: 'auth.logout',
  routes: [{ verb: 'POST', path: '/{username}/auth/logout' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  batchable: false,
  params: { type: 'object' },
  run: async (ctx) => {
    const caller = callerOf(ctx);
    if (caller.access.type === 'personal') {
      await logout(caller);
      ctx.sessionEnded = true;
    }
    return {};
  },
});

/**
 * `auth.delete` (spec §2.15): `DELETE /users/{username}` with the admin key, or with a
 * personal token of that user when ACCOUNT_DELETION includes `personalToken`.
 */
export const authDelete = /* @__PURE__ */ defineMethod<{ username: string }>({
  id: 'auth.delete',
  bucket: ['files', 'pending', 'exports'],
  routes: [{ verb: 'DELETE', path: '/users/{username}' }],
  auth: 'none',
  capabilities: ['adminKey', 'socketManagement'],
  batchable: false,
  params: { type: 'object', properties: { username: { type: 'string' } }, required: ['username'] },
  httpParams: (request) => ({ username: request.pathParams.username }),
  run: async (ctx, params) => {
    const allowed = ctx.config.accountDeletion;
    const given = ctx.request.headers.authorization;
    const key = await adminKey();
    const byAdmin = allowed.includes('adminToken') && !!given && !!key && sameSecret(given, key);
    let byOwner = false;
    if (!byAdmin && allowed.includes('personalToken') && ctx.request.token) {
      const access = await getAccessByToken(params.username, ctx.request.token);
      byOwner = access?.type === 'personal' && !sessionEnded(access, ctx.now);
    }
    if (!byAdmin && !byOwner) throw errors.invalidAccessToken('Deleting this account needs the admin key or its personal token.');
    await deleteAccount(params.username);
    return { userDeletion: { username: params.username } };
  },
});
