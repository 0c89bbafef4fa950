import type { AccessRequest } from '../model/access-requests';
import { dynamo, table } from './clients';
import { GetCommand, PutCommand } from './commands';
import { ifConditionHolds } from './conditional';
import { keys } from './keys';
import { TABLE_TTL_ATTRIBUTE } from './table-definition';

/**
 * Access requests (spec §2.14): one item per request key, outside any user partition
 * (the request has no user until someone signs in). DynamoDB's TTL removes it some time
 * after `expires`; reads treat it as gone from `expires` on, since TTL deletion lags.
 */

function strip(item: Record<string, unknown>): AccessRequest {
  const { pk: _pk, sk: _sk, [TABLE_TTL_ATTRIBUTE]: _ttl, ...request } = item;
  return request as unknown as AccessRequest;
}

/** Stores a new request; `false` if the key is already taken (a random-key collision). */
export async function createAccessRequest(request: AccessRequest): Promise<boolean> {
  const done = await ifConditionHolds(
    dynamo().send(
      new PutCommand({
        TableName: table(),
        Item: { ...keys.accessRequest(request.key), ...request, [TABLE_TTL_ATTRIBUTE]: Math.ceil(request.expires) },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    ),
  );
  return done !== false;
}

/** The live request of that key, or `undefined` when unknown or expired. */
export async function getAccessRequest(key: string, now: number): Promise<AccessRequest | undefined> {
  const out = await dynamo().send(new GetCommand({ TableName: table(), Key: keys.accessRequest(key), ConsistentRead: true }));
  if (!out.Item) return undefined;
  const request = strip(out.Item);
  return request.expires > now ? request : undefined;
}

/**
 * Records the answer to a pending request: written only while it is still pending and
 * unexpired, so a request is answered once (two answers racing: one wins, the other gets `false`).
 */
export async function answerAccessRequest(request: AccessRequest, now: number): Promise<boolean> {
  const done = await ifConditionHolds(
    dynamo().send(
      new PutCommand({
        TableName: table(),
        Item: { ...keys.accessRequest(request.key), ...request, [TABLE_TTL_ATTRIBUTE]: Math.ceil(request.expires) },
        ConditionExpression: '#status = :pending AND expires > :now',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':pending': 'NEED_SIGNIN', ':now': now },
      }),
    ),
  );
  return done !== false;
}
