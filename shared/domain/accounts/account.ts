import { errors } from '../../errors';
import type { Account } from '../../model/accounts';
import { listAccesses } from '../../store/accesses';
import { getAccount, setPasswordHash } from '../../store/accounts';
import type { Caller } from '../caller';
import { keepHistory } from '../events/write-checks';
import { accountFields } from '../system-streams/definitions';
import { currentValue, currentValueEvents, setAccountValue } from '../system-streams/values';
import { hashPassword, verifyPassword } from './passwords';

/** The account itself (spec §2.8): what its owner sees and may change, and what the system API reports. */

/** The account of an existing user (404 otherwise). */
export async function loadAccount(username: string): Promise<Account> {
  const account = await getAccount(username);
  if (!account) throw errors.unknownUser(username);
  return account;
}

/**
 * The legacy account view (spec §2.8): the values of the account streams (Pryv API reference
 * §7) — the current value events of `:system:email` and `:_system:language`, and the storage
 * counters — read from the same data `events.get` shows.
 */
export async function accountView(username: string): Promise<Record<string, unknown>> {
  const [account, values] = await Promise.all([loadAccount(username), currentValueEvents(username)]);
  return {
    username: account.username,
    email: currentValue(values, EMAIL_FIELD) ?? account.email,
    language: currentValue(values, LANGUAGE_FIELD) ?? account.language,
    storageUsed: { dbDocuments: account.dbDocuments ?? 0, attachedFiles: account.attachedFiles ?? 0 },
  };
}

const EMAIL_FIELD = ':system:email';
const LANGUAGE_FIELD = ':_system:language';

/** Editable account fields by their legacy name (`email`, `language`): the editable, shown account streams that mirror one. */
const editableFields = () =>
  new Map(
    accountFields()
      .filter((f) => f.editable && f.shown && f.accountField !== undefined)
      .map((f) => [f.accountField as string, f] as const),
  );

/**
 * `account.update`: only the editable fields (`email`, unique, and `language`); each given
 * value becomes the new current value event of its stream, as `events.create` there would.
 */
export async function updateAccountFields(caller: Pick<Caller, 'username' | 'now' | 'author'>, update: unknown): Promise<void> {
  if (typeof update !== 'object' || update === null || Array.isArray(update)) {
    throw errors.invalidParametersFormat("The parameters' format is invalid.", [
      { code: 'INVALID_TYPE', message: 'update must be an object', path: '#/update', params: ['object'] },
    ]);
  }
  const fields = update as Record<string, unknown>;
  const editable = editableFields();
  const notEditable = Object.keys(fields).filter((k) => !editable.has(k));
  if (notEditable.length > 0) {
    throw errors.invalidOperation(`Forbidden to edit non-editable account field(s): ${notEditable.join(', ')}.`, {
      fields: notEditable,
    });
  }
  const problems = [];
  for (const [name, value] of Object.entries(fields)) {
    const problem = typeof value === 'string' || typeof value === 'number' ? editable.get(name)!.validate?.(value) : 'Must be a string.';
    if (problem) problems.push({ code: `${name}-invalid`, message: problem, path: `#/${name}`, param: name });
  }
  if (problems.length > 0) throw errors.invalidParametersFormat("The parameters' format is invalid.", problems);

  await loadAccount(caller.username);
  const current = await currentValueEvents(caller.username);
  for (const [name, value] of Object.entries(fields)) {
    const field = editable.get(name)!;
    if (current.get(field.id)?.content === value) continue;
    await setAccountValue(caller, field, value as string | number, { keepHistory: keepHistory() });
  }
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
