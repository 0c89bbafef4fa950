import { userInfo } from '../../domain/accounts/account';
import { isSupportedHash } from '../../domain/accounts/passwords';
import { checkInvitationToken, createUser, validateRegistration } from '../../domain/accounts/registration';
import { errors } from '../../errors';
import { defineMethod } from '../types';

/**
 * `system.createUser` (spec §2.16): the legacy admin route, with a password *hash*
 * (Pryv's bcrypt, or ours) so accounts can move between servers without passwords.
 */
export const systemCreateUser = /* @__PURE__ */ defineMethod<Record<string, unknown>>({
  id: 'system.createUser',
  routes: [{ verb: 'POST', path: '/system/create-user' }],
  auth: 'admin',
  capabilities: ['adminKey'],
  batchable: false,
  status: 201,
  params: { type: 'object' },
  run: async (ctx, body) => {
    const input = validateRegistration(body, { passwordField: 'passwordHash', appIdRequired: false });
    if (!isSupportedHash(input.passwordHash!)) {
      throw errors.invalidParametersFormat("The parameters' format is invalid.", [
        {
          code: 'password-invalid',
          message: 'passwordHash must be a bcrypt or scrypt hash.',
          path: '#/passwordHash',
          param: 'passwordHash',
        },
      ]);
    }
    checkInvitationToken(ctx.config, input.invitationToken);
    await createUser({ ...input, passwordHash: input.passwordHash!, appId: undefined }, ctx.now, ctx.config.sessionMaxAgeS);
    return { id: input.username, username: input.username };
  },
});

/** `system.getUserInfo`: activity of a user, summed over its accesses. */
export const systemGetUserInfo = /* @__PURE__ */ defineMethod<{ username: string }>({
  id: 'system.getUserInfo',
  routes: [{ verb: 'GET', path: '/system/user-info/{name}' }],
  auth: 'admin',
  capabilities: ['adminKey'],
  batchable: false,
  params: { type: 'object', properties: { username: { type: 'string' } }, required: ['username'] },
  httpParams: (request) => ({ username: request.pathParams.name }),
  run: async (_ctx, params) => ({ userInfo: await userInfo(params.username) }),
});
