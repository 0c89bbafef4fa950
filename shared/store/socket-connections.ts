import type { DynamoDBRecord } from 'aws-lambda';
import { log } from '../log';
import type { AccessSnapshot, NamedScopes } from '../model/notifications';
import type { SocketConnection } from '../model/socket-connections';
import { batchDelete } from './batch';
import { dynamo, table } from './clients';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type UpdateCommandInput } from './commands';
import { ifConditionHolds } from './conditional';
import { keys } from './keys';
import { queryAll, queryPages } from './query';
import { clearUserSockets, readSocketsHint, socketsHintUpdate } from './socket-pushes';
import { insertedItem } from './stream-records';
import { type TransactItem, transactWrite } from './transact';

/**
 * WebSocket connections (shared/socketio/), two items each:
 *   pk WSCONN#{connectionId} sk WSCONN        the connection: handshake token, client address, sid;
 *                                             gsi1 (WSCONN, id) lists them all for the ping sweep
 *   pk USER#{username}       sk WSCONN#{id}   once the Socket.IO namespace named a user: where
 *                                             change pushes find the user's connections (one Query)
 * Both expire by TTL after API Gateway's 2-hour connection limit, in case `$disconnect` never ran.
 * The stream INSERT of the first one is what sends the Engine.IO open packet (shared/socketio/outbound.ts).
 */
export const CONNECTION_MAX_AGE_S = 2 * 3600 + 600; // API Gateway closes WebSockets after 2 h

/** A connection as stored, without its keys (also read by ./listeners.ts). */
export function connectionOfItem(item: Record<string, unknown>): SocketConnection {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, ttl: _ttl, ...rest } = item;
  return rest as unknown as SocketConnection;
}

export async function putConnection(connection: SocketConnection): Promise<void> {
  await dynamo().send(
    new PutCommand({
      TableName: table(),
      Item: {
        ...keys.socketConnection(connection.connectionId),
        gsi1pk: keys.allSocketsIndexKey,
        gsi1sk: connection.connectionId,
        ttl: Math.ceil(connection.connectedAt + CONNECTION_MAX_AGE_S),
        ...connection,
      },
    }),
  );
}

export async function getConnection(connectionId: string): Promise<SocketConnection | undefined> {
  const out = await dynamo().send(new GetCommand({ TableName: table(), Key: keys.socketConnection(connectionId), ConsistentRead: true }));
  return out.Item ? connectionOfItem(out.Item) : undefined;
}

/**
 * Binds a connection to the user its namespace names: the connection item gets the user,
 * the user's partition gets the pointer. False if the connection is gone (closed meanwhile)
 * or already bound (one namespace per connection).
 */
export async function bindConnection(
  connectionId: string,
  binding: { username: string; nsp: string; socketId: string; accessId: string; token: string; access: AccessSnapshot },
): Promise<boolean> {
  const out = await ifConditionHolds(
    dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: keys.socketConnection(connectionId),
        UpdateExpression: 'SET username = :u, nsp = :n, socketId = :s, accessId = :a, #token = :t, #access = :snapshot',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(username)',
        ExpressionAttributeNames: { '#token': 'token', '#access': 'access' },
        ExpressionAttributeValues: {
          ':snapshot': binding.access,
          ':u': binding.username,
          ':n': binding.nsp,
          ':s': binding.socketId,
          ':a': binding.accessId,
          ':t': binding.token,
        },
        ReturnValues: 'ALL_NEW',
      }),
    ),
  );
  if (out === false) return false;
  const connection = connectionOfItem(out.Attributes!);
  await putUserSocket(binding.username, connection);
  return true;
}

/**
 * The user's item of a bound connection, put in one transaction with the data meta's sockets
 * hint (`socketsUntil`, raised to the connection's end if lower, and the `socketsBound` count):
 * at no instant does a user's connection item exist without a live hint. Two things count on
 * that: the release of the hint when the last connection goes (releaseIfLast: a binding either
 * is seen by its Query or moves the count it is conditional on), and an access change that
 * skips holding its sockets because the hint is absent at its commit
 * (../domain/sockets.ts commitAccessChange: absent then means no connection of the user was bound).
 */
async function putUserSocket(username: string, connection: SocketConnection): Promise<void> {
  const until = Math.ceil(connection.connectedAt + CONNECTION_MAX_AGE_S);
  const userItem: TransactItem = {
    Put: { TableName: undefined, Item: { ...keys.userSocket(username, connection.connectionId), ...connection, ttl: until } },
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    // The hint is never moved back: raised when lower or absent, else only the binding counted
    // (conditional on the later one still being there, in case the last connection's release removed it meanwhile).
    const raised = await transactWrite([userItem, socketsHintUpdate(username, until, 'raise')]);
    if (raised.length === 0) return;
    const counted = await transactWrite([userItem, socketsHintUpdate(username, until, 'count')]);
    if (counted.length === 0) return;
  }
  throw new Error('socket binding: the sockets hint kept moving');
}

/**
 * One update on both items of a bound connection: the user's item first (it is what change
 * pushes read), then the connection's own. False if the connection is gone.
 */
async function updateBoundConnection(
  connection: Pick<SocketConnection, 'connectionId' | 'username'>,
  update: Pick<UpdateCommandInput, 'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'>,
): Promise<boolean> {
  const updateItem = (key: { pk: string; sk: string }) =>
    ifConditionHolds(
      dynamo().send(new UpdateCommand({ TableName: table(), Key: key, ConditionExpression: 'attribute_exists(pk)', ...update })),
    );
  if (connection.username && (await updateItem(keys.userSocket(connection.username, connection.connectionId))) === false) return false;
  return (await updateItem(keys.socketConnection(connection.connectionId))) !== false;
}

/**
 * Sets (or, with none, removes) the named scopes of a bound connection, on both its items.
 * False if the connection is gone.
 */
export async function setConnectionScopes(
  connection: Pick<SocketConnection, 'connectionId' | 'username'>,
  scopes: NamedScopes,
): Promise<boolean> {
  return Object.keys(scopes).length === 0
    ? updateBoundConnection(connection, { UpdateExpression: 'REMOVE scopes' })
    : updateBoundConnection(connection, { UpdateExpression: 'SET scopes = :scopes', ExpressionAttributeValues: { ':scopes': scopes } });
}

/** Attribute of a bound connection whose kept access is held back (see holdConnectionAccess). */
const HELD_ATTRIBUTE = 'accessHeldFor';

/**
 * Replaces what a bound connection keeps of its access with the access at `serial` (the
 * fan-out saw that version in the table's stream), on both its items, unless the connection
 * waits for a later version (holdConnectionAccess): `held` then, and it keeps none.
 * `gone` if the connection is gone.
 */
export async function setConnectionAccess(
  connection: Pick<SocketConnection, 'connectionId' | 'username'>,
  access: AccessSnapshot,
  serial: number,
): Promise<'renewed' | 'held' | 'gone'> {
  const renewed = await updateBoundConnection(connection, {
    UpdateExpression: 'SET #access = :access REMOVE #held',
    ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(#held) OR #held <= :serial)',
    ExpressionAttributeNames: { '#access': 'access', '#held': HELD_ATTRIBUTE },
    ExpressionAttributeValues: { ':access': access, ':serial': serial },
  });
  if (renewed) return 'renewed';
  return (await getConnection(connection.connectionId)) ? 'held' : 'gone';
}

/** A serial no access reaches: held until the connection closes (its access was deleted or its session ended). */
export const HELD_FOR_GOOD = Number.MAX_SAFE_INTEGER;

/**
 * Before a change that may narrow what these tokens' accesses read (accesses.update, or an
 * access ending) is committed: the user's connections of those tokens drop their kept
 * access, and keep none until the fan-out renews it from a version at or past `serial`.
 * A writing call's direct push (shared/domain/notifications/direct-push.ts) reads the
 * connections after its own commit and skips those keeping none, leaving them to the fan-out:
 * so a write committed after the change never pushes on the permissions before it. Returns
 * how many connections were held.
 */
export async function holdConnectionAccess(username: string, tokens: readonly string[], serial: number): Promise<number> {
  const wanted = new Set(tokens);
  const held = (await listUserConnections(username)).filter((c) => c.token !== undefined && wanted.has(c.token));
  await Promise.all(
    held.map((connection) =>
      updateBoundConnection(connection, {
        UpdateExpression: 'REMOVE #access SET #held = :serial',
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(#held) OR #held < :serial)',
        ExpressionAttributeNames: { '#access': 'access', '#held': HELD_ATTRIBUTE },
        ExpressionAttributeValues: { ':serial': serial },
      }),
    ),
  );
  return held.length;
}

/** Every connection bound to a user (strongly consistent: a socket that just connected gets the next change). */
export async function listUserConnections(username: string): Promise<SocketConnection[]> {
  const items = await queryAll({
    TableName: table(),
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': keys.userPartition(username), ':prefix': keys.userSocketPrefix },
    ConsistentRead: true,
  });
  return items.map(connectionOfItem);
}

/** Every open connection, page by page (the ping sweep). */
export async function* allConnections(): AsyncGenerator<SocketConnection[]> {
  const pages = queryPages({
    TableName: table(),
    IndexName: 'gsi1',
    KeyConditionExpression: 'gsi1pk = :pk',
    ExpressionAttributeValues: { ':pk': keys.allSocketsIndexKey },
  });
  for await (const page of pages) yield page.map(connectionOfItem);
}

/** Forgets a connection (closed, gone, or its user deleted): both items. */
export async function deleteConnection(connection: Pick<SocketConnection, 'connectionId' | 'username'>): Promise<void> {
  const toDelete = [keys.socketConnection(connection.connectionId)];
  if (connection.username) toDelete.push(keys.userSocket(connection.username, connection.connectionId));
  await batchDelete(toDelete);
  if (connection.username) await releaseIfLast(connection.username);
}

/** Forgets a connection known only by id ($disconnect). */
export async function deleteConnectionById(connectionId: string): Promise<SocketConnection | undefined> {
  const out = await dynamo().send(
    new DeleteCommand({ TableName: table(), Key: keys.socketConnection(connectionId), ReturnValues: 'ALL_OLD' }),
  );
  const connection = out.Attributes ? connectionOfItem(out.Attributes) : undefined;
  if (connection?.username) {
    await batchDelete([keys.userSocket(connection.username, connectionId)]);
    await releaseIfLast(connection.username);
  }
  return connection;
}

/**
 * After a user's connection is forgotten: if it was the last one, the data meta's
 * `socketsUntil` is removed, so that the user's writes no longer look up connections (one
 * Query each, for up to a WebSocket's lifetime otherwise). Race-free with a connection bound
 * at the same moment: binding puts the user's item before counting the binding on the data
 * meta, and the hint is read before the Query and removed only if that count did not move —
 * so either the Query sees the new connection, or the removal is refused, or the binding comes
 * after it and sets the hint again. Not critical (the hint only costs a Query while set): a
 * failure is logged, never thrown.
 */
async function releaseIfLast(username: string): Promise<void> {
  try {
    const hint = await readSocketsHint(username);
    if (hint.until === undefined) return;
    const left = await dynamo().send(
      new QueryCommand({
        TableName: table(),
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': keys.userPartition(username), ':prefix': keys.userSocketPrefix },
        ProjectionExpression: 'sk',
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    if ((left.Items ?? []).length > 0) return;
    await clearUserSockets(username, hint.bound);
  } catch (err) {
    log.warn('socket: the sockets hint was not lowered', { err, username });
  }
}

const CONNECTION_KEY = keys.socketConnection('');

/**
 * Connections whose item a stream batch inserted: they are waiting for their open packet. A
 * record is decoded only when its key is a connection's: the others (every event head of a
 * batch among them) cost a key test, not a decoding of their image (test/bench/FINDINGS.md §28).
 */
export function insertedConnections(records: DynamoDBRecord[]): SocketConnection[] {
  const opened: SocketConnection[] = [];
  for (const record of records) {
    const key = record.dynamodb?.Keys;
    if (key?.sk?.S !== CONNECTION_KEY.sk || key.pk?.S?.startsWith(CONNECTION_KEY.pk) !== true) continue;
    const item = insertedItem(record);
    if (!item) continue;
    const { pk, sk } = keys.socketConnection(String(item.connectionId));
    if (item.pk === pk && item.sk === sk) opened.push(connectionOfItem(item));
  }
  return opened;
}
