import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../config';
import { accountView, changePassword, updateAccountFields } from '../../domain/accounts/account';
import { callerOf } from '../caller';
import { defineMethod } from '../types';

export const accountGet = /* @__PURE__ */ defineMethod({
  id: 'account.get',
  routes: [{ verb: 'GET', path: '/{username}/account' }],
  auth: 'token',
  accessTypes: ['personal'],
  params: { type: 'object' },
  run: async (ctx) => ({ account: await accountView(callerOf(ctx).username) }),
});

/** `account.update`: only `email` and `language` are editable (spec §2.8). */
export const accountUpdate = /* @__PURE__ */ defineMethod<Record<string, unknown>>({
  id: 'account.update',
  routes: [{ verb: 'PUT', path: '/{username}/account' }],
  auth: 'token',
  accessTypes: ['personal'],
  params: { type: 'object' },
  httpParams: (request) => ({ update: request.body ?? {} }),
  run: async (ctx, params) => {
    const caller = callerOf(ctx);
    await updateAccountFields(caller, params.update);
    return { account: await accountView(caller.username) };
  },
});

interface ChangePasswordParams {
  oldPassword: string;
  newPassword: string;
}

export const accountChangePassword = /* @__PURE__ */ defineMethod<ChangePasswordParams>({
  id: 'account.changePassword',
  routes: [{ verb: 'POST', path: '/{username}/account/change-password' }],
  auth: 'token',
  accessTypes: ['personal'],
  params: {
    type: 'object',
    properties: {
      oldPassword: { type: 'string' },
      newPassword: { type: 'string', minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH },
    },
    required: ['oldPassword', 'newPassword'],
    additionalProperties: false,
  },
  run: async (ctx, params) => {
    await changePassword(callerOf(ctx).username, params.oldPassword, params.newPassword, ctx.now);
    return {};
  },
});
