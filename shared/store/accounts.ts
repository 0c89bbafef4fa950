import type { Account } from '../model/accounts';
import { addCounters, type CounterAdd } from './call-records';
import { dynamo, table } from './clients';
import { DeleteCommand, GetCommand, UpdateCommand } from './commands';
import { ifConditionHolds } from './conditional';
import { keys } from './keys';
import type { TransactItem } from './transact';

export async function getAccount(username: string): Promise<Account | undefined> {
  const out = await dynamo().send(new GetCommand({ TableName: table(), Key: keys.account(username), ConsistentRead: true }));
  if (!out.Item) return undefined;
  const { pk: _pk, sk: _sk, ...account } = out.Item;
  return account as Account;
}

export async function userExists(username: string): Promise<boolean> {
  const out = await dynamo().send(
    new GetCommand({ TableName: table(), Key: keys.account(username), ProjectionExpression: 'pk', ConsistentRead: true }),
  );
  return out.Item !== undefined;
}

export async function usernameForEmail(email: string): Promise<string | undefined> {
  const out = await dynamo().send(new GetCommand({ TableName: table(), Key: keys.email(email), ConsistentRead: true }));
  return out.Item?.username as string | undefined;
}

/** Transaction items that create an account and claim its unique email. */
export function createAccountItems(account: Account): TransactItem[] {
  return [
    {
      Put: {
        TableName: undefined,
        Item: { ...keys.account(account.username), ...account },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    {
      Put: {
        TableName: undefined,
        // The unique claim of the `:system:email` value: the same item its later changes move.
        Item: { ...keys.uniqueValue('email', account.email), username: account.username },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
  ];
}

/** Field names of createAccountItems' conditional items, in order. */
export const CREATE_ACCOUNT_UNIQUE_FIELDS = ['username', 'email'] as const;

/**
 * Stores a new password hash: with `oldHash`, only if that one is still current (a password
 * change: no lost update); without, whatever the current one (a reset token proved the
 * right to). False when the condition failed or the account is gone.
 */
export async function setPasswordHash(username: string, newHash: string, now: number, oldHash?: string): Promise<boolean> {
  const done = await ifConditionHolds(
    dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.account(username),
        UpdateExpression: 'SET passwordHash = :new, passwordChanged = :now, modified = :now',
        ConditionExpression: oldHash === undefined ? 'attribute_exists(pk)' : 'passwordHash = :old',
        ExpressionAttributeValues: { ':new': newHash, ':now': now, ...(oldHash === undefined ? {} : { ':old': oldHash }) },
      }),
    ),
  );
  return done !== false;
}

/** An add to one of the account's `storageUsed` counters (bytes), for a call to write beside its usage records; a deleted account is left alone. */
export const storageUsedAdd = (username: string, counter: 'attachedFiles' | 'dbDocuments', deltaBytes: number): CounterAdd => ({
  key: keys.account(username),
  adds: { [counter]: deltaBytes },
});

const addToStorageUsed = (username: string, counter: 'attachedFiles' | 'dbDocuments', deltaBytes: number): Promise<void> =>
  addCounters(storageUsedAdd(username, counter, deltaBytes));

/** Keeps `storageUsed.attachedFiles` (bytes) in step with attachment writes (spec §2.2.6). */
export const adjustAttachedFiles = (username: string, deltaBytes: number) => addToStorageUsed(username, 'attachedFiles', deltaBytes);

/** Keeps `storageUsed.dbDocuments` (bytes of stored data; HF series points count here) in step with writes. */
export const adjustDbDocuments = (username: string, deltaBytes: number) => addToStorageUsed(username, 'dbDocuments', deltaBytes);

/**
 * Removes an account's email claim (unless it belongs to someone else by now) and then the
 * account item itself: the last step of account deletion, after which the username and
 * email are free.
 */
export async function deleteAccountItem(username: string, email: string | undefined): Promise<void> {
  if (email !== undefined) {
    await ifConditionHolds(
      dynamo().send(
        new DeleteCommand({
          TableName: table(),
          Key: keys.email(email),
          ConditionExpression: 'attribute_not_exists(pk) OR username = :u',
          ExpressionAttributeValues: { ':u': username },
        }),
      ),
    );
  }
  await dynamo().send(new DeleteCommand({ TableName: table(), Key: keys.account(username) }));
}
