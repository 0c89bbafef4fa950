import { postToConnection } from '../adapters/socket-connections-api';
import type { SocketConnection } from '../model/socket-connections';
import { deleteConnection } from '../store/socket-connections';
import { encodeSocketPacket, type SocketPacket } from './protocol';

/** Sends one Socket.IO packet to a connection; a connection found gone is forgotten. */
export async function sendPacket(
  endpoint: string,
  connection: SocketConnection,
  packet: SocketPacket,
): Promise<'sent' | 'gone' | 'too-large'> {
  const outcome = await postToConnection(endpoint, connection.connectionId, encodeSocketPacket(packet));
  if (outcome === 'gone') await deleteConnection(connection);
  return outcome;
}
