import { defineMethod } from '../types';
import { errors } from '../../errors';
import { getAccount, setPasswordHash, updateAccount } from '../../store/accounts';
import { hashPassword, verifyPassword } from '../../domain/accounts/passwords';
import type { Account } from '../../model/accounts';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../config';

function accountView(account: Account): Record<string, unknown> {
  return {
    username: account.username,
    email: account.email,
    language: account.language,
    storageUsed: { dbDocuments: account.dbDocuments ?? 0, attachedFiles: account.attachedFiles ?? 0 },
  };
}

async function loadAccount(username: string): Promise<Account> {
  const account = await getAccount(username);
  if (!account) throw errors.unknownUser(username);
  return account;
}

export const accountGet = defineMethod({
  id: 'account.get',
  routes: [{ verb: 'GET', path: '/{username}/account' }],
  auth: 'token',
  accessTypes: ['personal'],
  params: { type: 'object' },
  run: async (ctx) => ({ account: accountView(await loadAccount(ctx.username!)) }),
});

const EDITABLE_FIELDS = new Set(['email', 'language']);

/** `account.update`: only `email` and `language` are editable (spec §2.8). */
export const accountUpdate = defineMethod<Record<string, unknown>>({
  id: 'account.update',
  routes: [{ verb: 'PUT', path: '/{username}/account' }],
  auth: 'token',
  accessTypes: ['personal'],
  params: { type: 'object' },
  httpParams: (request) => ({ update: request.body ?? {} }),
  run: async (ctx, params) => {
    const update = params.update;
    if (typeof update !== 'object' || update === null || Array.isArray(update)) {
      throw errors.invalidParametersFormat("The parameters' format is invalid.", [
        { code: 'INVALID_TYPE', message: 'update must be an object', path: '#/update', params: ['object'] },
      ]);
    }
    const fields = update as Record<string, unknown>;
    const notEditable = Object.keys(fields).filter((k) => !EDITABLE_FIELDS.has(k));
    if (notEditable.length > 0) {
      throw errors.invalidOperation(`Forbidden to edit non-editable account field(s): ${notEditable.join(', ')}.`, {
        fields: notEditable,
      });
    }
    const { email, language } = fields;
    const problems = [];
    if (email !== undefined && (typeof email !== 'string' || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) || email.length > 300))
      problems.push({ code: 'email-invalid', message: 'Email is invalid.', path: '#/email', param: 'email' });
    if (language !== undefined && (typeof language !== 'string' || language.length < 1 || language.length > 5))
      problems.push({ code: 'language-invalid', message: 'Language must be 1-5 characters.', path: '#/language', param: 'language' });
    if (problems.length > 0) throw errors.invalidParametersFormat("The parameters' format is invalid.", problems);

    const current = await loadAccount(ctx.username!);
    const outcome = await updateAccount(current, { email: email as string | undefined, language: language as string | undefined }, ctx.now);
    if (outcome === 'email-taken') throw errors.itemAlreadyExists('user', { email });
    return { account: accountView(await loadAccount(ctx.username!)) };
  },
});

interface ChangePasswordParams {
  oldPassword: string;
  newPassword: string;
}

export const accountChangePassword = defineMethod<ChangePasswordParams>({
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
    const account = await loadAccount(ctx.username!);
    if (!(await verifyPassword(params.oldPassword, account.passwordHash))) {
      throw errors.invalidOperation('The given password does not match.');
    }
    const newHash = await hashPassword(params.newPassword);
    if (!(await setPasswordHash(account.username, account.passwordHash, newHash, ctx.now))) {
      // Someone changed it between our read and write: their change stands, ours is refused.
      throw errors.invalidOperation('The given password does not match.');
    }
    return {};
  },
});
