import { managementEndpoint, postToConnection } from '../adapters/socket-connections-api';
import { config, SOCKET_MESSAGE_MAX_BYTES } from '../config';
import { isAccessLive } from '../domain/accesses/liveness';
import { Audience, needsTree, type UserBatch } from '../domain/notifications/audience';
import { accessSnapshot } from '../domain/notifications/snapshot';
import { closeSocket } from '../domain/sockets';
import { log } from '../log';
import { countMetric, METRIC } from '../metrics';
import type { Access } from '../model/accesses';
import type { AccessSnapshot } from '../model/notifications';
import type { SocketConnection } from '../model/socket-connections';
import { getAccessByToken } from '../store/accesses';
import {
  allConnections,
  deleteConnection,
  deleteConnectionById,
  getConnection,
  listUserConnections,
  setConnectionAccess,
} from '../store/socket-connections';
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

/** What a push needs of a connection's access: its snapshot, or `undefined` when the access no longer opens data. */
async function liveSnapshot(
  connection: SocketConnection,
  batch: Pick<UserBatch, 'endedTokens' | 'accessUpdates'>,
  now: number,
  accessOf: (token: string) => Promise<Access | undefined>,
): Promise<AccessSnapshot | undefined> {
  if (!connection.token || batch.endedTokens.has(connection.token)) return undefined;
  const updated = batch.accessUpdates.findLast((u) => u.token === connection.token);
  // The access was updated (accesses.update): what its new permissions open, from this batch on.
  if (updated && (await setConnectionAccess(connection, updated.snapshot)) === false) return undefined;
  const kept = updated?.snapshot ?? connection.access;
  if (kept) {
    if (kept.expires !== undefined && kept.expires <= now) return undefined;
    // A personal session slides with use: only past the end seen at connection is it read again.
    if (kept.accessType !== 'personal' || (kept.liveUntil ?? 0) > now) return kept;
  }
  // Connections bound before snapshots were kept, and personal sessions past their first end.
  const access = await accessOf(connection.token);
  if (!access || !isAccessLive(access, now)) return undefined;
  return kept ?? accessSnapshot(access);
}

/**
 * Change sink (spec §6.1): to every socket of the user whose access is still live, what its
 * access may hear of the batch (shared/domain/notifications/audience.ts): the coarse
 * messages, or `notificationsChanged {keys}` for a socket with named scopes. A socket whose
 * access ended (deleted, expired, logged out) is told and closed.
 *
 * Cost per batch: one Query of the user's connections (each carries its access snapshot and
 * scopes), the stream tree when a non-personal or scoped socket needs it (one GetItem of the
 * data meta when this container holds the tree), and an access read only for connections
 * without a snapshot or personal sessions past the end seen at connection.
 *
 * Each post is tried up to PUSH_ATTEMPTS times; past that the socket misses this change
 * (logged), but one broken connection never fails the batch (which would re-send every
 * user's webhooks).
 */
export async function pushChangesToSockets(username: string, _messages: string[], batch: UserBatch): Promise<void> {
  const connections = await listUserConnections(username);
  if (connections.length === 0) return;
  const endpoint = managementEndpoint();
  const now = Date.now() / 1000;
  const mode = config().notificationScope;
  // Sockets opened with the same token share one read of its access.
  const accesses = new Map<string, Promise<Access | undefined>>();
  const accessOf = (token: string) => {
    if (!accesses.has(token)) accesses.set(token, getAccessByToken(username, token));
    return accesses.get(token)!;
  };
  const live = await Promise.all(
    connections.map(async (connection) => {
      try {
        return { connection, snapshot: await liveSnapshot(connection, batch, now, accessOf) };
      } catch (err) {
        log.error('socket: access check failed', { err, connectionId: connection.connectionId });
        return { connection, snapshot: null };
      }
    }),
  );
  const listening = live.filter((l): l is { connection: SocketConnection; snapshot: AccessSnapshot } => !!l.snapshot);
  const tree = listening.some((l) => needsTree(mode, l.snapshot, l.connection.scopes, batch.details)) ? await batch.tree() : undefined;
  const audience = new Audience(batch.details, tree, mode);
  let pushed = 0;
  await Promise.all(
    live.map(async ({ connection, snapshot }) => {
      try {
        if (snapshot === null) return; // could not be checked: neither told nor closed
        if (!snapshot) {
          await sendPacket(endpoint, connection, { type: SocketPacketType.Disconnect, nsp: connection.nsp ?? '/' });
          await closeSocket(connection, endpoint);
          return;
        }
        const told = audience.tell(snapshot, connection.scopes);
        const packets: unknown[][] = told.messages.map((m) => [m]);
        if (told.keys.length > 0) packets.push(['notificationsChanged', { keys: told.keys }]);
        // [v2] after its accessesChanged, for the accesses this one may hear of (sockets only).
        if (told.messages.includes('accessesChanged')) {
          for (const u of batch.accessUpdates) if (audience.hearsOfUpdate(snapshot, u)) packets.push(['accessUpdated', u.message]);
        }
        for (const data of packets) {
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
