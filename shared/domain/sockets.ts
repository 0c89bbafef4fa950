import { closeConnection, managementEndpoint } from '../adapters/socket-connections-api';
import { log } from '../log';
import type { SocketConnection } from '../model/socket-connections';
import type { DataMeta } from '../model/streams';
import { deleteConnection, HELD_FOR_GOOD, holdConnectionAccess, listUserConnections } from '../store/socket-connections';
import { noSocketsBound } from '../store/socket-pushes';
import type { TransactItem } from '../store/transact';
import type { Caller } from './caller';

/**
 * Ending socket connections (shared/socketio/ serves them): the client is disconnected
 * through API Gateway's `@connections` API and the connection forgotten.
 */
export async function closeSocket(connection: SocketConnection, endpoint: string): Promise<void> {
  await closeConnection(endpoint, connection.connectionId);
  await deleteConnection(connection);
}

/** Closes every socket of a user (account deletion); one that cannot be closed is still forgotten. */
export async function closeUserSockets(username: string): Promise<void> {
  const connections = await listUserConnections(username);
  if (connections.length === 0) return;
  const endpoint = managementEndpoint();
  await Promise.all(
    connections.map(async (connection) => {
      await closeConnection(endpoint, connection.connectionId).catch((err) => log.warn('socket: close failed', { err }));
      await deleteConnection(connection);
    }),
  );
}

/**
 * Called before committing a change that may narrow what these tokens read: an access's new
 * permissions or expiry at `serial`, or (no serial) the access ending (deleted, logged out).
 * Their sockets keep no copy of the access until the change fan-out renews it (or closes
 * them), so a writing call committed after the change never pushes to them on the old one
 * (README "Sockets", direct pushes). One Query of the user's connections; a write per
 * socket of those tokens.
 */
export async function holdSocketsBeforeAccessChange(username: string, tokens: readonly string[], serial?: number): Promise<void> {
  if (tokens.length === 0) return;
  await holdConnectionAccess(username, tokens, serial ?? HELD_FOR_GOOD);
}

/**
 * Whether the user's data meta read with the call's token (execute.ts authenticate) says a
 * socket may be bound: a live `socketsUntil`. Looked at, not taken: the call's tree still
 * reads the same meta. False when it was not read (a later call of a callBatch): the commit's
 * guard decides then (commitAccessChange).
 */
export function socketsHinted(caller: Pick<Caller, 'prefetched' | 'now'>): boolean {
  const meta: DataMeta | undefined = caller.prefetched?.dataMeta;
  return meta?.socketsUntil !== undefined && meta.socketsUntil > caller.now;
}

/**
 * Commits a change that may narrow what these tokens read (accesses.update of permissions or
 * expiry, accesses.delete, auth.logout), holding their sockets' copies first
 * (holdSocketsBeforeAccessChange) only when the user may have sockets. `commit` is given a
 * guard to add to its transaction, or none; it returns false when the guard failed (nothing
 * committed by that attempt).
 *
 * Users without sockets (most) skip the Query of their connections: the commit carries a
 * condition that the data meta has no live sockets hint at that instant (store noSocketsBound).
 * That is race-free with a socket bound at the same moment because binding puts the user's
 * connection item and raises the hint in one transaction (store/socket-connections.ts
 * putUserSocket): if the hint is absent at the commit, no connection of the user existed then,
 * and one bound after it reads the access as changed (or the token refused); if a connection was
 * bound between the token read and the commit, the guard fails, nothing is changed, and the
 * change goes the holding way. When the hint read with the token says sockets, the guard is
 * not tried (it would fail): the hold first, as before.
 */
export async function commitAccessChange(
  caller: Pick<Caller, 'username' | 'now'>,
  hinted: boolean,
  hold: { tokens: readonly string[]; serial?: number },
  commit: (guard?: TransactItem) => Promise<boolean>,
): Promise<void> {
  if (!hinted && (await commit(noSocketsBound(caller.username, caller.now)))) return;
  await holdSocketsBeforeAccessChange(caller.username, hold.tokens, hold.serial);
  if (!(await commit(undefined))) throw new Error('access change: refused without a guard');
}
