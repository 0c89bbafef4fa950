import { managementEndpoint, postToConnection } from '../adapters/socket-connections-api';
import { config, SOCKET_MESSAGE_MAX_BYTES } from '../config';
import { isAccessLive } from '../domain/accesses/liveness';
import { Audience, needsTree, type UserBatch } from '../domain/notifications/audience';
import { accessSnapshot, snapshotOpens } from '../domain/notifications/snapshot';
import { closeSocket } from '../domain/sockets';
import { log } from '../log';
import { countMetric, METRIC } from '../metrics';
import type { Access } from '../model/accesses';
import type { AccessSnapshot, ChangeDetail, PushMark } from '../model/notifications';
import type { SocketConnection } from '../model/socket-connections';
import { getAccessByToken } from '../store/accesses';
import { allConnections, deleteConnection, deleteConnectionById, getConnection, setConnectionAccess } from '../store/socket-connections';
import { readPushes } from '../store/socket-pushes';
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
  // The access was updated (accesses.update): what its new permissions open, from this batch
  // on (kept on the connection unless a later update holds it: then this batch still decides
  // on this version, the stream being in order, and later ones read the access).
  if (updated && (await setConnectionAccess(connection, updated.snapshot, updated.message.serial)) === 'gone') return undefined;
  const kept = updated?.snapshot ?? connection.access;
  if (kept) {
    // A personal session slides with use: only past the end seen at connection is it read again.
    const opens = snapshotOpens(kept, now);
    if (opens === false) return undefined;
    if (opens) return kept;
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
 * Changes their writing call pushed itself (shared/domain/notifications/direct-push.ts) are
 * told here only to the connections the call's record leaves out; those whose record has not
 * come yet are told in a second round, once it comes or its deadline passed (the call died:
 * then to every connection), so the other changes of the batch never wait for them.
 *
 * Cost per batch: the user's connections (each carries its access snapshot and scopes), from
 * the one Query of the user's listeners the webhook sink shares (batch.listeners), beside it
 * one BatchGetItem of the push records when the batch holds pushed changes, the stream tree
 * when a non-personal or scoped socket needs it (one GetItem of the data meta when this
 * container holds the tree), and an access read only for connections without a snapshot or
 * personal sessions past the end seen at connection.
 *
 * Each post is tried up to PUSH_ATTEMPTS times; past that the socket misses this change
 * (logged), but one broken connection never fails the batch (which would re-send every
 * user's webhooks).
 */
export async function pushChangesToSockets(username: string, _messages: string[], batch: UserBatch): Promise<void> {
  const marks = new Map<string, PushMark>();
  for (const d of batch.details) if (d.kind === 'event' && d.push) marks.set(d.push.id, d.push);
  const recordsRead = marks.size > 0 ? readPushes(username, [...marks.keys()]) : undefined;
  recordsRead?.catch(() => undefined); // awaited below, unless there is nobody to tell
  const { connections } = await batch.listeners();
  if (connections.length === 0) return;
  const records = recordsRead ? await recordsRead : new Map<string, Set<string>>();
  const waiting = [...marks.values()].filter((m) => !records.has(m.id));
  const pushIdOf = (d: ChangeDetail) => (d.kind === 'event' ? d.push?.id : undefined);
  const live = await liveConnections(username, connections, batch);
  // First round: every change, less what writers told (and, for now, what they have not said yet).
  await tellConnections(live, batch, (d, connectionId) => {
    const id = pushIdOf(d);
    if (id === undefined) return false;
    const decided = records.get(id);
    return decided === undefined || decided.has(connectionId);
  });
  if (waiting.length === 0) return;
  const late = await awaitPushRecords(username, waiting);
  const details = batch.details.filter((d) => {
    const id = pushIdOf(d);
    return id !== undefined && late.has(id);
  });
  // Only event changes are left: no access updates, and the connections closed above stay closed.
  const stillOpen = live.filter((l) => !!l.snapshot);
  await tellConnections(stillOpen, { ...batch, details, endedTokens: new Set(), accessUpdates: [] }, (d, connectionId) =>
    late.get(pushIdOf(d)!)!.has(connectionId),
  );
}

const PUSH_RECORD_POLL_MS = 20;
/** Never waits longer than this for a push record, whatever its mark says. */
const PUSH_RECORD_MAX_WAIT_MS = 10_000;

/**
 * The records of these pushes, read again until each came or its deadline passed; a push
 * without a record by then counts as having told nobody (its writer died or was too slow).
 */
async function awaitPushRecords(username: string, marks: PushMark[]): Promise<Map<string, Set<string>>> {
  const found = new Map<string, Set<string>>();
  const giveUpAt = Date.now() + PUSH_RECORD_MAX_WAIT_MS;
  let missing = marks;
  while (missing.length > 0) {
    await new Promise((resolve) => setTimeout(resolve, PUSH_RECORD_POLL_MS));
    const records = await readPushes(
      username,
      missing.map((m) => m.id),
    );
    const now = Date.now();
    const still: PushMark[] = [];
    for (const mark of missing) {
      const decided = records.get(mark.id);
      if (decided) found.set(mark.id, decided);
      else if (mark.by <= now || giveUpAt <= now) {
        log.warn("socket: a writer's push was not recorded in time; told by the fan-out", { pushId: mark.id });
        found.set(mark.id, new Set());
      } else still.push(mark);
    }
    missing = still;
  }
  return found;
}

/** A connection and what its access opens: a snapshot, `undefined` if it ended, `null` if it could not be checked. */
type LiveConnection = { connection: SocketConnection; snapshot: AccessSnapshot | undefined | null };

async function liveConnections(username: string, connections: SocketConnection[], batch: UserBatch): Promise<LiveConnection[]> {
  const now = Date.now() / 1000;
  // Sockets opened with the same token share one read of its access.
  const accesses = new Map<string, Promise<Access | undefined>>();
  const accessOf = (token: string) => {
    if (!accesses.has(token)) accesses.set(token, getAccessByToken(username, token));
    return accesses.get(token)!;
  };
  return Promise.all(
    connections.map(async (connection) => {
      try {
        return { connection, snapshot: await liveSnapshot(connection, batch, now, accessOf) };
      } catch (err) {
        log.error('socket: access check failed', { err, connectionId: connection.connectionId });
        return { connection, snapshot: null };
      }
    }),
  );
}

/**
 * Tells each connection what its access may hear of the batch's changes, less those
 * `alreadyTold` says it heard of from their writer; closes connections whose access ended.
 */
async function tellConnections(
  live: LiveConnection[],
  batch: UserBatch,
  alreadyTold: (detail: ChangeDetail, connectionId: string) => boolean,
): Promise<void> {
  const endpoint = managementEndpoint();
  const mode = config().notificationScope;
  // The changes each connection is to hear of; connections left the same ones share an audience.
  const detailsOf = (connection: SocketConnection) => batch.details.filter((d) => !alreadyTold(d, connection.connectionId));
  const listening = live
    .filter((l): l is { connection: SocketConnection; snapshot: AccessSnapshot } => !!l.snapshot)
    .map((l) => ({ ...l, details: detailsOf(l.connection) }));
  const tree = listening.some((l) => needsTree(mode, l.snapshot, l.connection.scopes, l.details)) ? await batch.tree() : undefined;
  const audiences = new Map<string, Audience>();
  const positions = new Map(batch.details.map((d, i) => [d, i]));
  const audienceOf = (details: ChangeDetail[]) => {
    const key = details.map((d) => positions.get(d)).join(',');
    let audience = audiences.get(key);
    if (!audience) {
      audience = new Audience(details, tree, mode);
      audiences.set(key, audience);
    }
    return audience;
  };
  const detailsByConnection = new Map(listening.map((l) => [l.connection.connectionId, l.details]));
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
        const audience = audienceOf(detailsByConnection.get(connection.connectionId) ?? []);
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
