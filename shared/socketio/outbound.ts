import { managementEndpoint, postToConnection } from '../adapters/socket-connections-api';
import { config, SOCKET_MESSAGE_MAX_BYTES } from '../config';
import { isAccessLive } from '../domain/accesses/liveness';
import { closeSocket } from '../domain/sockets';
import { log } from '../log';
import { countMetric, METRIC } from '../metrics';
import type { SocketConnection } from '../model/socket-connections';
import { getAccessByToken } from '../store/accesses';
import { allConnections, deleteConnection, deleteConnectionById, getConnection, listUserConnections } from '../store/socket-connections';
import { ENGINE_NOOP, ENGINE_PING, encodeOpen, encodeSocketPacket, SocketPacketType } from './protocol';
import { sendPacket } from './send';

/**
 * What the server sends without being asked (spec §6.1): the Engine.IO open packet of a
 * new connection, change notifications, and the ping sweep. Every send goes through
 * API Gateway's `@connections` API, from the fan-out or the scheduled sweep.
 */
const OPEN_RETRIES = 6; // the fan-out may see the connection before `$connect` returned: ~3 s of retries
const OPEN_RETRY_BASE_MS = 50;
const PING_GRACE_S = 2; // no ping before the open packet can have gone out
const PUSH_ATTEMPTS = 3; // a throttled or failed @connections call is tried again, briefly
const PUSH_RETRY_MS = 100;

/** Sends the Engine.IO open packet, retrying while API Gateway has not finished the `$connect`. */
export async function sendOpenPacket(connection: SocketConnection, endpoint = managementEndpoint()): Promise<boolean> {
  const c = config();
  const packet = encodeOpen({
    sid: connection.sid,
    pingInterval: c.socketPingIntervalMs,
    pingTimeout: c.socketPingTimeoutMs,
    maxPayload: SOCKET_MESSAGE_MAX_BYTES,
  });
  for (let attempt = 0; attempt < OPEN_RETRIES; attempt++) {
    const outcome = await postToConnection(endpoint, connection.connectionId, packet).catch(() => 'gone' as const);
    if (outcome === 'sent') {
      // Socket.IO 2 servers put every connection in the default namespace at once.
      if (connection.eio === 3) {
        await postToConnection(endpoint, connection.connectionId, encodeSocketPacket({ type: SocketPacketType.Connect, nsp: '/' }));
      }
      return true;
    }
    // Gone may mean "not yet": give up only if the connection item is gone too ($disconnect ran).
    if (!(await getConnection(connection.connectionId))) return false;
    await new Promise((resolve) => setTimeout(resolve, OPEN_RETRY_BASE_MS * 2 ** attempt));
  }
  log.warn('socket: open packet not delivered; closing', { connectionId: connection.connectionId });
  await deleteConnectionById(connection.connectionId);
  return false;
}

async function withRetries<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (i >= PUSH_ATTEMPTS) throw err;
      await new Promise((resolve) => setTimeout(resolve, PUSH_RETRY_MS * i));
    }
  }
}

/**
 * Change sink (spec §6.1): each message to every socket of the user whose access is still
 * live; a socket of a deleted or expired access is told and closed. Each post is tried up to
 * PUSH_ATTEMPTS times; past that the socket misses this change (logged), but one broken
 * connection never fails the batch (which would re-send every user's webhooks).
 */
export async function pushChangesToSockets(username: string, messages: string[]): Promise<void> {
  await pushToSockets(
    username,
    messages.map((message) => [message]),
  );
}

/** [v2] `accessUpdated` messages (spec §6.1), with their payload, to every live socket of the user, as change messages go. */
export async function pushAccessUpdatesToSockets(username: string, updates: unknown[]): Promise<void> {
  await pushToSockets(
    username,
    updates.map((update) => ['accessUpdated', update]),
  );
}

/** Socket.IO events (name and arguments) to every socket of the user, as pushChangesToSockets describes. */
async function pushToSockets(username: string, events: unknown[][]): Promise<void> {
  if (events.length === 0) return;
  const connections = await listUserConnections(username);
  if (connections.length === 0) return;
  const endpoint = managementEndpoint();
  const now = Date.now() / 1000;
  // Sockets opened with the same token share one read of its access.
  const accesses = new Map<string, ReturnType<typeof getAccessByToken>>();
  const accessOf = (token: string) => {
    if (!accesses.has(token)) accesses.set(token, getAccessByToken(username, token));
    return accesses.get(token)!;
  };
  let pushed = 0;
  await Promise.all(
    connections.map(async (connection) => {
      try {
        const access = connection.token ? await accessOf(connection.token) : undefined;
        if (!access || !isAccessLive(access, now)) {
          await sendPacket(endpoint, connection, { type: SocketPacketType.Disconnect, nsp: connection.nsp ?? '/' });
          await closeSocket(connection, endpoint);
          return;
        }
        for (const data of events) {
          const packet = { type: SocketPacketType.Event, nsp: connection.nsp ?? '/', data };
          const outcome = await withRetries(() => sendPacket(endpoint, connection, packet));
          if (outcome === 'gone') return;
          pushed++;
        }
      } catch (err) {
        log.error('socket: push failed', { err, connectionId: connection.connectionId });
      }
    }),
  );
  if (pushed > 0) countMetric(METRIC.socketPushes, pushed);
}

/**
 * The ping sweep: Engine.IO v4 servers ping and clients answer; a client that hears no ping
 * within pingInterval + pingTimeout reconnects. Run once per pingInterval (EventBridge in
 * AWS, a timer locally). Engine.IO 3 clients ping on their own (answered by inbound.ts) and
 * get a noop instead, which they ignore. Connections that are gone are forgotten.
 */
export async function pingAllSockets(now = Date.now() / 1000): Promise<{ pinged: number; removed: number }> {
  let pinged = 0;
  let removed = 0;
  const endpoint = managementEndpoint();
  for await (const page of allConnections()) {
    await Promise.all(
      page.map(async (connection) => {
        if (connection.connectedAt > now - PING_GRACE_S) return;
        try {
          const outcome = await postToConnection(endpoint, connection.connectionId, connection.eio === 3 ? ENGINE_NOOP : ENGINE_PING);
          if (outcome === 'gone') {
            await deleteConnection(connection);
            removed++;
          } else pinged++;
        } catch (err) {
          log.warn('socket: ping failed', { err, connectionId: connection.connectionId });
        }
      }),
    );
  }
  return { pinged, removed };
}
