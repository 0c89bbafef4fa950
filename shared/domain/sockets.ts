import { closeConnection, managementEndpoint } from '../adapters/socket-connections-api';
import { log } from '../log';
import type { SocketConnection } from '../model/socket-connections';
import { deleteConnection, listUserConnections } from '../store/socket-connections';

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
