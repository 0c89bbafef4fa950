import type { MfaSession, MfaState } from '../model/mfa';
import { dynamo, table } from './clients';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from './commands';
import { ifConditionHolds } from './conditional';
import { keys } from './keys';
import { TABLE_TTL_ATTRIBUTE } from './table-definition';

export async function getMfa(username: string): Promise<MfaState | undefined> {
  const out = await dynamo().send(new GetCommand({ TableName: table(), Key: keys.mfa(username), ConsistentRead: true }));
  if (!out.Item) return undefined;
  const { pk: _pk, sk: _sk, ...state } = out.Item;
  return state as MfaState;
}

/** Stores a confirmed MFA unless one is active already (two pending activations: the first confirmed wins). */
export async function putMfa(username: string, state: MfaState): Promise<boolean> {
  const done = await ifConditionHolds(
    dynamo().send(
      new PutCommand({ TableName: table(), Item: { ...keys.mfa(username), ...state }, ConditionExpression: 'attribute_not_exists(pk)' }),
    ),
  );
  return done !== false;
}

/** Removes the MFA state; with `recoveryCodeHash`, only if that code is one of its recovery codes. */
export async function deleteMfa(username: string, recoveryCodeHash?: string): Promise<boolean> {
  const done = await ifConditionHolds(
    dynamo().send(
      new DeleteCommand({
        TableName: table(),
        Key: keys.mfa(username),
        ...(recoveryCodeHash
          ? { ConditionExpression: 'contains(recoveryCodeHashes, :h)', ExpressionAttributeValues: { ':h': recoveryCodeHash } }
          : { ConditionExpression: 'attribute_exists(pk)' }),
      }),
    ),
  );
  return done !== false;
}

/**
 * Marks a TOTP time step used, if it is later than the last one used with this secret:
 * one conditional write, so of two uses of one code (even racing) only one is accepted.
 */
export async function consumeTotpStep(username: string, secret: string, step: number): Promise<boolean> {
  const done = await ifConditionHolds(
    dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.mfa(username),
        UpdateExpression: 'SET lastUsedStep = :step',
        ConditionExpression: 'secret = :secret AND (attribute_not_exists(lastUsedStep) OR lastUsedStep < :step)',
        ExpressionAttributeValues: { ':step': step, ':secret': secret },
      }),
    ),
  );
  return done !== false;
}

export async function putMfaSession(username: string, tokenHash: string, session: MfaSession): Promise<void> {
  await dynamo().send(
    new PutCommand({
      TableName: table(),
      Item: { ...keys.mfaSession(username, tokenHash), ...session, [TABLE_TTL_ATTRIBUTE]: Math.ceil(session.expires) },
    }),
  );
}

/** A live session (expired ones may linger until TTL deletion: they are ignored). */
export async function getMfaSession(username: string, tokenHash: string, now: number): Promise<MfaSession | undefined> {
  const out = await dynamo().send(new GetCommand({ TableName: table(), Key: keys.mfaSession(username, tokenHash), ConsistentRead: true }));
  if (!out.Item || Number(out.Item.expires) <= now) return undefined;
  const { pk: _pk, sk: _sk, ttl: _ttl, ...session } = out.Item;
  return session as MfaSession;
}

/** Ends a session once: a conditional delete, so only one of racing uses succeeds. */
export async function consumeMfaSession(username: string, tokenHash: string, now: number): Promise<boolean> {
  const done = await ifConditionHolds(
    dynamo().send(
      new DeleteCommand({
        TableName: table(),
        Key: keys.mfaSession(username, tokenHash),
        ConditionExpression: 'attribute_exists(pk) AND expires > :now',
        ExpressionAttributeValues: { ':now': now },
      }),
    ),
  );
  return done !== false;
}

export async function deleteMfaSession(username: string, tokenHash: string): Promise<void> {
  await dynamo().send(new DeleteCommand({ TableName: table(), Key: keys.mfaSession(username, tokenHash) }));
}

/** Counts one wrong code on a session (atomic ADD); returns the new count, or 0 if the session is gone. */
export async function countMfaAttempt(username: string, tokenHash: string): Promise<number> {
  const out = await ifConditionHolds(
    dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.mfaSession(username, tokenHash),
        UpdateExpression: 'ADD attempts :one',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    ),
  );
  return out === false ? 0 : Number(out.Attributes?.attempts ?? 0);
}

/** Replaces the SMS-style code of a session (mfa.challenge). */
export async function setMfaSessionCode(username: string, tokenHash: string, codeHash: string): Promise<boolean> {
  const done = await ifConditionHolds(
    dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.mfaSession(username, tokenHash),
        UpdateExpression: 'SET codeHash = :c',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':c': codeHash },
      }),
    ),
  );
  return done !== false;
}
