import { closeConnection, managementEndpoint } from '../adapters/socket-connections-api';
import { log } from '../log';
import type { SocketConnection } from '../model/socket-connections';
import { deleteConnection, HELD_FOR_GOOD, holdConnectionAccess, listUserConnections } from '../store/socket-connections';

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
