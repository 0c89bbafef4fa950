import type { SocketConnection } from '../model/socket-connections';
import type { Webhook } from '../model/webhooks';
import { table } from './clients';
import { keys } from './keys';
import { queryAll } from './query';
import { connectionOfItem } from './socket-connections';
import { webhookOfItem } from './webhooks';

/** Who may hear of a user's changes: the connections bound to the user, and the user's webhooks (oldest first). */
export interface UserListeners {
  connections: SocketConnection[];
  webhooks: Webhook[];
}

/**
 * The user's item range that holds both kinds of listener: `WEBHOOK#{id}`, then the webhooks'
 * URL claims (`WEBHOOKURL#…`, read and dropped: a filter may not name the sort key), then
 * `WSCONN#{id}`. No other item of the user partition sorts in between (keys.ts; held by
 * test/unit/listeners-range.test.ts).
 */
export const LISTENERS_RANGE = { from: keys.webhookPrefix, to: `${keys.userSocketPrefix}\uffff` } as const;

/**
 * Every listener of a user in one strongly consistent Query (what a webhook listing and a
 * connections listing read in two): the change fan-out's per-user read, shared by its socket
 * and webhook sinks (shared/notify/dispatch.ts). Strongly consistent as each listing was: a
 * socket bound, or a webhook created, before the fan-out reads hears of the batch.
 */
export async function listUserListeners(username: string): Promise<UserListeners> {
  const items = await queryAll({
    TableName: table(),
    KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
    ExpressionAttributeValues: { ':pk': keys.userPartition(username), ':from': LISTENERS_RANGE.from, ':to': LISTENERS_RANGE.to },
    ConsistentRead: true,
  });
  const listeners: UserListeners = { connections: [], webhooks: [] };
  for (const item of items) {
    const sk = String(item.sk);
    if (sk.startsWith(keys.webhookPrefix)) listeners.webhooks.push(webhookOfItem(item));
    else if (sk.startsWith(keys.userSocketPrefix)) listeners.connections.push(connectionOfItem(item));
  }
  return listeners;
}
