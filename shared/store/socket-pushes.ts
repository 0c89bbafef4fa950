import { randomBytes } from 'node:crypto';
import type { PushMark } from '../model/notifications';
import { batchGet, itemKey } from './batch';
import { dynamo, table } from './clients';
import { GetCommand, PutCommand, UpdateCommand } from './commands';
import { ifConditionHolds } from './conditional';
import { keys } from './keys';
import type { TransactItem } from './transact';

/**
 * What a writing call's direct push to sockets leaves in the table
 * (shared/domain/notifications/direct-push.ts), so that the change fan-out tells each socket
 * once:
 *   - the event head it commits carries the push's mark (`ps`: id and deadline), in the same
 *     transaction as the change itself;
 *   - once its posts are done, the call records, under the push id, the connections it
 *     decided for (told, or found to have nothing to hear): pk USER#{username}, sk WSPUSH#{id},
 *     expiring after an hour.
 * The fan-out tells a connection of a marked change only if the record leaves it out, or if
 * no record came by the deadline (the call died or was slow: told twice rather than never).
 *
 * And on the user's data meta, `socketsUntil`: set as a connection is bound, so that a
 * writing call looks up connections only for users who may have some, and removed when the
 * user's last connection goes (shared/store/socket-connections.ts), unless one was bound
 * meanwhile (`socketsBound` counts bindings).
 */

/** How long a push record is kept: far longer than any fan-out waits for it. */
const RECORD_TTL_S = 3600;

/** BatchGetItem takes at most 100 keys. */
const BATCH_GET_MAX = 100;

/** A new mark, for a push whose record the fan-out waits for until `byMs` (Unix ms). */
export function newPushMark(byMs: number): PushMark {
  return { id: randomBytes(12).toString('base64url'), by: Math.ceil(byMs) };
}

/** Records which connections a push decided for (strings: API Gateway connection ids). */
export async function recordPush(username: string, pushId: string, connectionIds: readonly string[]): Promise<void> {
  await dynamo().send(
    new PutCommand({
      TableName: table(),
      Item: {
        ...keys.socketPush(username, pushId),
        decided: [...connectionIds],
        ttl: Math.ceil(Date.now() / 1000) + RECORD_TTL_S,
      },
    }),
  );
}

/** The records of these pushes that exist: push id → the connections it decided for. */
export async function readPushes(username: string, pushIds: readonly string[]): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  const unique = [...new Set(pushIds)];
  for (let i = 0; i < unique.length; i += BATCH_GET_MAX) {
    const chunk = unique.slice(i, i + BATCH_GET_MAX);
    const found = await batchGet(chunk.map((id) => keys.socketPush(username, id)));
    for (const id of chunk) {
      const item = found.get(itemKey(keys.socketPush(username, id)));
      if (!item) continue;
      const decided = Array.isArray(item.decided) ? item.decided.filter((c): c is string => typeof c === 'string') : [];
      out.set(id, new Set(decided));
    }
  }
  return out;
}

/**
 * The user may have live sockets until `until` (Unix seconds); never moved back. Every call
 * counts a binding (`socketsBound`), which is what a concurrent clearUserSockets checks: it
 * clears only if no connection was bound since it looked.
 */
export async function markUserSockets(username: string, until: number): Promise<void> {
  const raised = await ifConditionHolds(
    dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.dataMeta(username),
        UpdateExpression: 'SET socketsUntil = :u ADD socketsBound :one',
        ConditionExpression: 'attribute_not_exists(socketsUntil) OR socketsUntil < :u',
        ExpressionAttributeValues: { ':u': until, ':one': 1 },
      }),
    ),
  );
  if (raised !== false) return;
  await dynamo().send(
    new UpdateCommand({
      TableName: table(),
      Key: keys.dataMeta(username),
      UpdateExpression: 'ADD socketsBound :one',
      ExpressionAttributeValues: { ':one': 1 },
    }),
  );
}

/**
 * The data meta's part of binding a connection, as a transaction item beside the connection's
 * user item (./socket-connections.ts): `raise` sets `socketsUntil` to `until` if it is absent
 * or lower, `count` leaves a later one as it is; both count the binding. Fails its condition
 * when the hint is not as expected (the caller tries the other).
 */
export function socketsHintUpdate(username: string, until: number, mode: 'raise' | 'count'): TransactItem {
  return {
    Update: {
      TableName: undefined,
      Key: keys.dataMeta(username),
      UpdateExpression: mode === 'raise' ? 'SET socketsUntil = :u ADD socketsBound :one' : 'ADD socketsBound :one',
      ConditionExpression:
        mode === 'raise'
          ? 'attribute_not_exists(socketsUntil) OR socketsUntil < :u'
          : 'attribute_exists(socketsUntil) AND socketsUntil >= :u',
      ExpressionAttributeValues: { ':u': until, ':one': 1 },
    },
  };
}

/**
 * A transaction item that lets the commit through only if no connection of the user can be
 * bound at that instant: the data meta has no live `socketsUntil` (a user's connection item
 * never exists without one: ./socket-connections.ts putUserSocket). `now` in Unix seconds.
 */
export function noSocketsBound(username: string, now: number): TransactItem {
  return {
    ConditionCheck: {
      TableName: undefined,
      Key: keys.dataMeta(username),
      ConditionExpression: 'attribute_not_exists(socketsUntil) OR socketsUntil <= :now',
      ExpressionAttributeValues: { ':now': Math.floor(now) },
    },
  };
}

/** What the user's data meta says of its sockets: until when some may be open, and how many bindings it counted. */
export async function readSocketsHint(username: string): Promise<{ until?: number; bound: number }> {
  const out = await dynamo().send(
    new GetCommand({
      TableName: table(),
      Key: keys.dataMeta(username),
      ProjectionExpression: 'socketsUntil, socketsBound',
      ConsistentRead: true,
    }),
  );
  const item = out.Item ?? {};
  return {
    ...(typeof item.socketsUntil === 'number' ? { until: item.socketsUntil } : {}),
    bound: typeof item.socketsBound === 'number' ? item.socketsBound : 0,
  };
}

/**
 * Removes `socketsUntil` (writing calls stop looking up connections), unless a connection was
 * bound since the hint was read with `bound` bindings. False when it was left as it is.
 */
export async function clearUserSockets(username: string, bound: number): Promise<boolean> {
  const cleared = await ifConditionHolds(
    dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.dataMeta(username),
        UpdateExpression: 'REMOVE socketsUntil',
        ConditionExpression:
          bound === 0 ? 'attribute_exists(pk) AND attribute_not_exists(socketsBound)' : 'attribute_exists(pk) AND socketsBound = :bound',
        ...(bound === 0 ? {} : { ExpressionAttributeValues: { ':bound': bound } }),
      }),
    ),
  );
  return cleared !== false;
}
