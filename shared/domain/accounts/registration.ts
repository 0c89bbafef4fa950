import { type Config, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../config';
import { errors } from '../../errors';
import { LIMITS } from '../../limits';
import type { Access } from '../../model/accesses';
import type { Account } from '../../model/accounts';
import { createAccessItems } from '../../store/accesses';
import { accountEventsMark, newAccountEventItems } from '../../store/account-events';
import { createAccountItems, userExists, usernameForEmail } from '../../store/accounts';
import { transactWrite } from '../../store/transact';
import type { ValidationItem } from '../../validation';
import { initialAccountEvents } from '../system-streams/values';
import { newPersonalAccess } from './sessions';
export const USERNAME_PATTERN = LIMITS.usernamePattern;
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const EMAIL_MAX_LENGTH = LIMITS.emailMaxLength;

/** First path segments of our non-user routes: such names can never be usernames. */
export const RESERVED_USERNAMES = new Set(['users', 'system', 'service', 'access', 'socket-io', 'admin', 'register']);

export interface RegistrationInput {
  username: string;
  password?: string;
  passwordHash?: string;
  email: string;
  appId?: string;
  language: string;
  referer?: string;
  invitationToken?: string;
}

function item(param: string, code: string, message: string): ValidationItem {
  return { code, message, path: `#/${param}`, param };
}

const isString = (v: unknown): v is string => typeof v === 'string';

/**
 * Checks a registration body the way Pryv reports it: one item per bad field, with the
 * custom codes `username-invalid`, `password-required`… (spec §1.7).
 */
export function validateRegistration(
  body: Record<string, unknown>,
  options: { passwordField: 'password' | 'passwordHash'; appIdRequired: boolean },
): RegistrationInput {
  const problems: ValidationItem[] = [];
  const { username, email, appId, language, referer, invitationToken } = body;
  const password = body[options.passwordField];

  if (username === undefined || username === null) problems.push(item('username', 'username-required', 'Username is required.'));
  else if (!isString(username) || !USERNAME_PATTERN.test(username))
    problems.push(item('username', 'username-invalid', 'Username must be 5-60 lowercase letters, digits or dashes.'));

  if (password === undefined || password === null) problems.push(item(options.passwordField, 'password-required', 'Password is required.'));
  else if (
    !isString(password) ||
    (options.passwordField === 'password' && (password.length < PASSWORD_MIN_LENGTH || password.length > PASSWORD_MAX_LENGTH))
  )
    problems.push(item(options.passwordField, 'password-invalid', 'Password must be 6-100 characters.'));

  if (email === undefined || email === null) problems.push(item('email', 'email-required', 'Email is required.'));
  else if (!isString(email) || email.length > EMAIL_MAX_LENGTH || !EMAIL_PATTERN.test(email))
    problems.push(item('email', 'email-invalid', 'Email is invalid.'));

  if (appId === undefined || appId === null) {
    if (options.appIdRequired) problems.push(item('appId', 'appid-invalid', 'appId is required (6-99 characters).'));
  } else if (!isString(appId) || appId.trim().length < 6 || appId.trim().length > 99)
    problems.push(item('appId', 'appid-invalid', 'appId must be 6-99 characters.'));

  if (language !== undefined && language !== null && (!isString(language) || language.length < 1 || language.length > 5))
    problems.push(item('language', 'language-invalid', 'Language must be 1-5 characters.'));

  if (referer !== undefined && referer !== null && (!isString(referer) || referer.length < 1 || referer.length > 99))
    problems.push(item('referer', 'referer-invalid', 'Referer must be 1-99 characters.'));

  if (invitationToken !== undefined && invitationToken !== null && !isString(invitationToken))
    problems.push(item('invitationToken', 'invitationToken-invalid', 'Invitation token must be a string.'));

  if (problems.length > 0) throw errors.invalidParametersFormat("The parameters' format is invalid.", problems);
  return {
    username: username as string,
    ...(options.passwordField === 'password' ? { password: password as string } : { passwordHash: password as string }),
    email: email as string,
    appId: isString(appId) ? appId.trim() : undefined,
    language: isString(language) ? language : 'en',
    referer: isString(referer) ? referer : undefined,
    invitationToken: isString(invitationToken) ? invitationToken : undefined,
  };
}

export function checkInvitationToken(config: Config, token: string | undefined): void {
  const allowed = config.invitationTokens;
  if (allowed === null) return;
  if (token === undefined || !allowed.includes(token)) throw errors.invitationTokenInvalid();
}

/** Names every unique field that is already taken, for the 409's `data` (spec §2.15). */
async function conflicts(input: { username: string; email: string }): Promise<Record<string, string>> {
  const [nameTaken, emailOwner] = await Promise.all([userExists(input.username), usernameForEmail(input.email)]);
  const out: Record<string, string> = {};
  if (nameTaken || RESERVED_USERNAMES.has(input.username)) out.username = input.username;
  if (emailOwner !== undefined) out.email = input.email;
  return out;
}

/**
 * Creates the account, its unique email claim and (when an app id is given) the personal
 * session, all in one transaction: of two registrations racing for one username or email,
 * exactly one commits.
 */
export async function createUser(
  input: RegistrationInput & { passwordHash: string },
  now: number,
  sessionMaxAgeS: number,
): Promise<{ account: Account; access?: Access }> {
  if (RESERVED_USERNAMES.has(input.username)) throw errors.itemAlreadyExists('user', { username: input.username });
  const account: Account = {
    username: input.username,
    email: input.email,
    language: input.language,
    appId: input.appId,
    referer: input.referer,
    invitationToken: input.invitationToken,
    passwordHash: input.passwordHash,
    passwordChanged: now,
    created: now,
    modified: now,
    dbDocuments: 0,
    attachedFiles: 0,
  };
  const access = input.appId ? newPersonalAccess(input.appId, now, sessionMaxAgeS) : undefined;
  // The account field values are events from the start (Pryv API reference §7), written with the account.
  const accountEvents = initialAccountEvents(input as unknown as Record<string, unknown>, {
    username: input.username,
    now,
    author: 'system',
  });
  const items = [
    ...createAccountItems(account),
    ...(access ? createAccessItems(input.username, access) : []),
    ...newAccountEventItems(input.username, accountEvents),
    accountEventsMark(input.username, false),
  ];
  const failed = await transactWrite(items);
  if (failed.length > 0) {
    const taken = await conflicts(input);
    // A failed condition on a field that is free again now (the other side rolled back) is still a clash.
    if (Object.keys(taken).length === 0) {
      if (failed.includes(1)) taken.email = input.email;
      else taken.username = input.username;
    }
    throw errors.itemAlreadyExists('user', taken);
  }
  return { account, access };
}
