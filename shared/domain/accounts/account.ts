import { errors } from '../../errors';
import type { Account } from '../../model/accounts';
import { listAccesses } from '../../store/accesses';
import { getAccount, setPasswordHash, updateAccount } from '../../store/accounts';
import { hashPassword, verifyPassword } from './passwords';

/** The account itself (spec §2.8): what its owner sees and may change, and what the system API reports. */

/** The account of an existing user (404 otherwise). */
export async function loadAccount(username: string): Promise<Account> {
  const account = await getAccount(username);
  if (!account) throw errors.unknownUser(username);
  return account;
}

export function accountView(account: Account): Record<string, unknown> {
  return {
    username: account.username,
    email: account.email,
    language: account.language,
    storageUsed: { dbDocuments: account.dbDocuments ?? 0, attachedFiles: account.attachedFiles ?? 0 },
  };
}

const EDITABLE_FIELDS = new Set(['email', 'language']);

/** `account.update`: only `email` (unique) and `language` are editable (spec §2.8). */
export async function updateAccountFields(username: string, update: unknown, now: number): Promise<Account> {
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

  const current = await loadAccount(username);
  const outcome = await updateAccount(current, { email: email as string | undefined, language: language as string | undefined }, now);
  if (outcome === 'email-taken') throw errors.itemAlreadyExists('user', { email });
  return loadAccount(username);
}

/** `account.changePassword`: the old password must match, now and at the write. */
export async function changePassword(username: string, oldPassword: string, newPassword: string, now: number): Promise<void> {
  const account = await loadAccount(username);
  if (!(await verifyPassword(oldPassword, account.passwordHash))) {
    throw errors.invalidOperation('The given password does not match.');
  }
  const newHash = await hashPassword(newPassword);
  if (!(await setPasswordHash(account.username, newHash, now, account.passwordHash))) {
    // Someone changed it between our read and write: their change stands, ours is refused.
    throw errors.invalidOperation('The given password does not match.');
  }
}

/** `system.getUserInfo`: activity of a user, summed over its accesses. */
export async function userInfo(username: string): Promise<Record<string, unknown>> {
  const account = await getAccount(username);
  if (!account) throw errors.unknownUser(username);
  const accesses = await listAccesses(username);
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
    username: account.username,
    lastAccess,
    callsTotal,
    callsDetail,
    callsPerAccess,
    storageUsed: { dbDocuments: account.dbDocuments ?? 0, attachedFiles: account.attachedFiles ?? 0 },
  };
}
