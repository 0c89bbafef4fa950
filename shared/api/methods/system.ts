import { defineMethod } from '../types';
import { errors } from '../../errors';
import { checkInvitationToken, createUser, validateRegistration } from '../../domain/accounts/registration';
import { isSupportedHash } from '../../domain/accounts/passwords';
import { getAccount } from '../../store/accounts';
import { getAccessByToken, listAccesses } from '../../store/accesses';
import { adminKey } from '../../adapters/secrets';
import { deleteAccount } from '../../domain/accounts/deletion';
import { sameSecret } from '../execute';

/**
 * `system.createUser` (spec §2.16): the legacy admin route, with a password *hash*
 * (Pryv's bcrypt, or ours) so accounts can move between servers without passwords.
 */
export const systemCreateUser = defineMethod<Record<string, unknown>>({
  id: 'system.createUser',
  routes: [{ verb: 'POST', path: '/system/create-user' }],
  auth: 'admin',
  batchable: false,
  status: 201,
  params: { type: 'object' },
  run: async (ctx, body) => {
    const input = validateRegistration(body, { passwordField: 'passwordHash', appIdRequired: false });
    if (!isSupportedHash(input.passwordHash!)) {
      throw errors.invalidParametersFormat("The parameters' format is invalid.", [
        { code: 'password-invalid', message: 'passwordHash must be a bcrypt or scrypt hash.', path: '#/passwordHash', param: 'passwordHash' },
      ]);
    }
    checkInvitationToken(ctx.config, input.invitationToken);
    await createUser({ ...input, passwordHash: input.passwordHash!, appId: undefined }, ctx.now, ctx.config.sessionMaxAgeS);
    return { id: input.username, username: input.username };
  },
});

/** `system.getUserInfo`: activity of a user, summed over its accesses. */
export const systemGetUserInfo = defineMethod<{ username: string }>({
  id: 'system.getUserInfo',
  routes: [{ verb: 'GET', path: '/system/user-info/{name}' }],
  auth: 'admin',
  batchable: false,
  params: { type: 'object', properties: { username: { type: 'string' } }, required: ['username'] },
  httpParams: (request) => ({ username: request.pathParams.name }),
  run: async (_ctx, params) => {
    const account = await getAccount(params.username);
    if (!account) throw errors.unknownUser(params.username);
    const accesses = await listAccesses(params.username);
    let lastAccess = 0;
    let callsTotal = 0;
    const callsDetail: Record<string, number> = {};
    const callsPerAccess: Record<string, number> = {};
    for (const access of accesses) {
      lastAccess = Math.max(lastAccess, access.lastUsed ?? 0);
      const accessName = access.type === 'shared' ? 'shared' : access.name;
      for (const [method, count] of Object.entries(access.calls ?? {})) {
        callsTotal += count;
        callsDetail[method] = (callsDetail[method] ?? 0) + count;
        callsPerAccess[accessName] = (callsPerAccess[accessName] ?? 0) + count;
      }
    }
    return {
      userInfo: {
        username: account.username,
        lastAccess,
        callsTotal,
        callsDetail,
        callsPerAccess,
        storageUsed: { dbDocuments: account.dbDocuments ?? 0, attachedFiles: account.attachedFiles ?? 0 },
      },
    };
  },
});

/**
 * `auth.delete` (spec §2.15): `DELETE /users/{username}` with the admin key, or with a
 * personal token of that user when ACCOUNT_DELETION includes `personalToken`.
 */
export const authDelete = defineMethod<{ username: string }>({
  id: 'auth.delete',
  routes: [{ verb: 'DELETE', path: '/users/{username}' }],
  auth: 'none',
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
      byOwner = access?.type === 'personal' && (access.sessionExpires ?? 0) > ctx.now;
    }
    if (!byAdmin && !byOwner) throw errors.invalidAccessToken('Deleting this account needs the admin key or its personal token.');
    await deleteAccount(params.username);
    return { userDeletion: { username: params.username } };
  },
});
