import { dynamo, table } from './clients';
import { DeleteCommand, PutCommand } from './commands';
import { ifConditionHolds } from './conditional';
import { keys } from './keys';
import { TABLE_TTL_ATTRIBUTE } from './table-definition';

/** Stores a pending reset, by the hash of its token, expiring at `expires` (Unix s). */
export async function putPasswordReset(username: string, tokenHash: string, now: number, expires: number): Promise<void> {
  await dynamo().send(
    new PutCommand({
      TableName: table(),
      Item: { ...keys.passwordReset(username, tokenHash), created: now, expires, [TABLE_TTL_ATTRIBUTE]: Math.ceil(expires) },
    }),
  );
}

/**
 * Consumes a pending reset: one conditional delete, so of two uses of one token (even
 * racing) exactly one succeeds. Expired items still present (TTL deletion lags) fail too.
 */
export async function consumePasswordReset(username: string, tokenHash: string, now: number): Promise<boolean> {
  const done = await ifConditionHolds(
    dynamo().send(
      new DeleteCommand({
        TableName: table(),
        Key: keys.passwordReset(username, tokenHash),
        ConditionExpression: 'attribute_exists(pk) AND expires > :now',
        ExpressionAttributeValues: { ':now': now },
      }),
    ),
  );
  return done !== false;
}
