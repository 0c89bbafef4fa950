import { randomBytes, randomUUID } from 'node:crypto';
import type { DynamoDBRecord } from 'aws-lambda';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { MethodContext, MethodDef, RequestInfo } from '../../api/types';
import { asPryvError, authenticate, flushUsage, newContext, runMethod } from '../../api/execute';
import { checkArrayCap, isBatchable } from '../../api/methods/utility';
import { errors, PryvError } from '../../errors';
import { meta } from '../../http/envelope';
import { config, SOCKET_MESSAGE_MAX_BYTES } from '../../config';
import { log } from '../../log';
import { getAccessByToken } from '../../store/accesses';
import { allConnections, bindConnection, deleteConnection, deleteConnectionById, getConnection, listUserConnections, putConnection } from '../../store/socket-connections';
import { closeConnection, managementEndpoint, postToConnection } from './connections-api';
import {
  decodeEnginePacket,
  decodeSocketPacket,
  encodeOpen,
  encodeSocketPacket,
  ENGINE_PING,
  ENGINE_PONG,
  ProtocolError,
  SocketPacketType,
  usernameOfNamespace,
  type SocketPacket,
} from './protocol';
import type { SocketConnection } from '../../model/socket-connections';

/**
 * Pryv's Socket.IO API (spec §6.1) on API Gateway's WebSocket model: a `$connect` handler
 * that records the connection, a `$default` handler per client message, `$disconnect`, and
 * pushes from anywhere through the `@connections` API. State lives in DynamoDB
 * (shared/store/socket-connections.ts), never in memory: any Lambda may handle any message.
 *
 * Flow: WebSocket upgrade → `$connect` (handshake query: `EIO=4`, `transport=websocket`,
 * `auth={token}`) stores the connection → its stream INSERT reaches the fan-out, which sends
 * the Engine.IO open packet (API Gateway refuses posts until `$connect` returned) → the
 * client sends CONNECT for `/{username}` (or `/{username}/{username}`) → checked like an HTTP
 * call's token → bound to the user, so change pushes find it → EVENTs with an ack id are
 * method calls, answered with ACKs → the ping sweep pings every connection each period.
 */

export const MISSING_AUTH_MESSAGE = "Missing 'auth' parameter with a valid access token.";
const OPEN_RETRIES = 6; // the fan-out may see the connection before `$connect` returned: ~3 s of retries
const OPEN_RETRY_BASE_MS = 50;
const PING_GRACE_S = 2; // no ping before the open packet can have gone out

/** A stand-in method for the namespace handshake: authenticated exactly like a token method. */
const HANDSHAKE: MethodDef = { id: 'socket.connect', routes: [], auth: 'token', params: {}, run: async () => ({}) };

export interface ConnectRequest {
  connectionId: string;
  query: Record<string, string | undefined>;
  ip?: string;
  userAgent?: string;
  now?: number;
}

/** `$connect`: only Engine.IO 4 over WebSocket; the token is checked when a namespace is joined. */
export async function acceptConnection(req: ConnectRequest): Promise<{ statusCode: number; body?: string }> {
  const { EIO, transport, auth } = req.query;
  if (EIO !== '4') return { statusCode: 400, body: 'Unsupported protocol version: Engine.IO 4 (Socket.IO 3+ clients) only.' };
  if (transport !== undefined && transport !== 'websocket') return { statusCode: 400, body: 'Only the websocket transport is served.' };
  await putConnection({
    connectionId: req.connectionId,
    sid: randomBytes(15).toString('base64url'),
    ...(auth ? { token: auth } : {}),
    ...(req.ip ? { ip: req.ip } : {}),
    ...(req.userAgent ? { userAgent: req.userAgent } : {}),
    connectedAt: req.now ?? Date.now() / 1000,
  });
  return { statusCode: 200 };
}

/** `$disconnect`. */
export async function forgetConnection(connectionId: string): Promise<void> {
  await deleteConnectionById(connectionId);
}

/** Connections whose item a stream batch inserted: they are waiting for their open packet. */
export function openedConnections(records: DynamoDBRecord[]): SocketConnection[] {
  const opened: SocketConnection[] = [];
  for (const record of records) {
    if (record.eventName !== 'INSERT' || !record.dynamodb?.NewImage) continue;
    const { pk, sk } = record.dynamodb.Keys ?? {};
    if (!pk?.S?.startsWith('WSCONN#') || sk?.S !== 'WSCONN') continue;
    const item = unmarshall(record.dynamodb.NewImage as unknown as Record<string, AttributeValue>);
    opened.push(item as unknown as SocketConnection);
  }
  return opened;
}

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
    if (outcome === 'sent') return true;
    // Gone may mean "not yet": give up only if the connection item is gone too ($disconnect ran).
    if (!(await getConnection(connection.connectionId))) return false;
    await new Promise((resolve) => setTimeout(resolve, OPEN_RETRY_BASE_MS * 2 ** attempt));
  }
  log.warn('socket: open packet not delivered; closing', { connectionId: connection.connectionId });
  await deleteConnectionById(connection.connectionId);
  return false;
}

function accessIsLive(access: { type: string; sessionExpires?: number; expires?: number | null }, now: number): boolean {
  if (access.type === 'personal' && (access.sessionExpires ?? 0) <= now) return false;
  return access.expires === undefined || access.expires === null || access.expires > now;
}

async function post(endpoint: string, connection: SocketConnection, packet: SocketPacket): Promise<'sent' | 'gone' | 'too-large'> {
  const outcome = await postToConnection(endpoint, connection.connectionId, encodeSocketPacket(packet));
  if (outcome === 'gone') await deleteConnection(connection);
  return outcome;
}

/** `$default`: one Engine.IO packet from a client. */
export async function handleClientMessage(connectionId: string, body: string, endpoint: string): Promise<void> {
  const connection = await getConnection(connectionId);
  if (!connection) {
    await closeConnection(endpoint, connectionId); // $disconnect already ran, or TTL expired
    return;
  }
  try {
    const engine = decodeEnginePacket(body);
    if (engine.kind === 'pong' || engine.kind === 'noop') return; // liveness only: API Gateway tracks idleness itself
    if (engine.kind === 'ping') {
      await postToConnection(endpoint, connectionId, ENGINE_PONG + (engine.data ?? '')); // Engine.IO 3-style client ping
      return;
    }
    if (engine.kind === 'close') {
      await closeConnection(endpoint, connectionId);
      return;
    }
    const packet = decodeSocketPacket(engine.data ?? '');
    switch (packet.type) {
      case SocketPacketType.Connect:
        await joinNamespace(connection, packet, endpoint);
        return;
      case SocketPacketType.Disconnect:
        if (connection.nsp === packet.nsp) await closeConnection(endpoint, connectionId);
        return;
      case SocketPacketType.Event:
        await answerEvent(connection, packet, endpoint);
        return;
      default:
        return; // ACKs from clients: the server never asks for one
    }
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    // Socket.IO's own reaction to a malformed packet: drop the connection.
    log.warn('socket: protocol error; closing', { connectionId, reason: err.message });
    await closeConnection(endpoint, connectionId);
  }
}

function socketRequest(connection: SocketConnection, username: string, body: unknown): RequestInfo {
  return {
    transport: 'socket',
    verb: 'SOCKET',
    path: connection.nsp ?? '/',
    headers: {},
    query: {},
    body,
    pathParams: { username },
    ...(connection.ip ? { ip: connection.ip } : {}),
    ...(connection.userAgent ? { userAgent: connection.userAgent } : {}),
    ...(connection.token ? { token: connection.token } : {}),
    requestId: randomUUID(),
  };
}

/** CONNECT to `/{username}`: the handshake token must open a live access of that user. */
async function joinNamespace(connection: SocketConnection, packet: SocketPacket, endpoint: string): Promise<void> {
  const refuse = (message: string) => post(endpoint, connection, { type: SocketPacketType.ConnectError, nsp: packet.nsp, data: { message } });
  if (connection.username) {
    if (connection.nsp === packet.nsp) {
      await post(endpoint, connection, { type: SocketPacketType.Connect, nsp: packet.nsp, data: { sid: connection.socketId } });
    } else {
      await refuse('This connection already serves another namespace: open one connection per user.');
    }
    return;
  }
  const username = usernameOfNamespace(packet.nsp);
  if (!username) {
    await refuse('The namespace must name a user: /{username}.');
    return;
  }
  // Socket.IO 3+ clients may send the token as CONNECT payload `{auth}` instead of the query.
  const payloadAuth = (packet.data as { auth?: unknown } | undefined)?.auth;
  const token = connection.token ?? (typeof payloadAuth === 'string' ? payloadAuth : undefined);
  if (!token) {
    await refuse(MISSING_AUTH_MESSAGE);
    return;
  }
  const ctx = newContext(HANDSHAKE.id, socketRequest({ ...connection, token }, username, undefined));
  try {
    await authenticate(HANDSHAKE, ctx);
  } catch (err) {
    await refuse(asPryvError(err, ctx).message);
    return;
  }
  const socketId = randomBytes(15).toString('base64url');
  const bound = await bindConnection(connection.connectionId, {
    username,
    nsp: packet.nsp,
    socketId,
    accessId: ctx.access!.id,
    token,
  });
  if (!bound) return; // closed meanwhile, or a concurrent CONNECT won
  await post(endpoint, { ...connection, username }, { type: SocketPacketType.Connect, nsp: packet.nsp, data: { sid: socketId } });
}

/** Methods callable over a socket: those callable in a batch, and callBatch itself (spec §6.1). */
function callableOverSocket(method: MethodDef | undefined): method is MethodDef {
  return method !== undefined && (isBatchable(method) || method.id === 'callBatch');
}

/** An EVENT: `socket.emit(methodId, params, callback)`; answered by an ACK `[err, result]`. */
async function answerEvent(connection: SocketConnection, packet: SocketPacket, endpoint: string): Promise<void> {
  const [methodId, params] = packet.data as [string, unknown?];
  if (packet.id === undefined) return; // no callback: the server only accepts the 3-argument form
  if (!connection.username || connection.nsp !== packet.nsp) {
    await post(endpoint, connection, {
      type: SocketPacketType.ConnectError,
      nsp: packet.nsp,
      data: { message: 'Join the namespace first.' },
    });
    return;
  }
  const args = await callMethod(connection, connection.username, methodId, params);
  const ack = { type: SocketPacketType.Ack, nsp: packet.nsp, id: packet.id, data: args };
  const outcome = await post(endpoint, connection, ack);
  if (outcome === 'too-large') {
    const err = errors.invalidOperation(
      `The result is larger than a socket message may be (${SOCKET_MESSAGE_MAX_BYTES} bytes): ask for less (limit, time range) or use HTTP.`,
    );
    await post(endpoint, connection, { ...ack, data: [{ error: err.toJSON(), meta: meta() }] });
  }
}

/** Runs one API method for a socket, through the same path as HTTP and callBatch. */
export async function callMethod(connection: SocketConnection, username: string, methodId: string, params: unknown): Promise<unknown[]> {
  const { findMethod } = await import('../../api/registry');
  const method = findMethod(methodId);
  let ctx: MethodContext | undefined;
  try {
    if (!callableOverSocket(method)) throw errors.invalidMethod(methodId);
    ctx = newContext(method.id, socketRequest(connection, username, params));
    await authenticate(method, ctx); // every call: a revoked or expired access stops working at once
    const result = await runMethod(method, ctx, params ?? {}, { coerce: false });
    if (ctx.response.raw) throw errors.invalidOperation(`${method.id} answers a file: use HTTP.`);
    checkArrayCap(result);
    await flushUsage(ctx);
    return [null, { ...result, meta: meta() }];
  } catch (err) {
    const rendered: PryvError = asPryvError(err, ctx);
    return [{ error: rendered.toJSON(), meta: meta() }];
  }
}

/**
 * Change sink (spec §6.1): each message to every socket of the user whose access is still
 * live; a socket of a deleted or expired access is told and closed. Each post is tried up to
 * PUSH_ATTEMPTS times; past that the socket misses this change (logged), but one broken
 * connection never fails the batch (which would re-send every user's webhooks).
 */
export async function pushChangesToSockets(username: string, messages: string[]): Promise<void> {
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
  await Promise.all(
    connections.map(async (connection) => {
      try {
        const access = connection.token ? await accessOf(connection.token) : undefined;
        if (!access || !accessIsLive(access, now)) {
          await post(endpoint, connection, { type: SocketPacketType.Disconnect, nsp: connection.nsp ?? '/' });
          await closeConnection(endpoint, connection.connectionId);
          await deleteConnection(connection);
          return;
        }
        for (const message of messages) {
          const packet = { type: SocketPacketType.Event, nsp: connection.nsp ?? '/', data: [message] };
          const outcome = await withRetries(() => post(endpoint, connection, packet));
          if (outcome === 'gone') return;
        }
      } catch (err) {
        log.error('socket: push failed', { err, connectionId: connection.connectionId });
      }
    }),
  );
}

const PUSH_ATTEMPTS = 3; // a throttled or failed @connections call is tried again, briefly
const PUSH_RETRY_MS = 100;

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

/** Closes every socket of a user (account deletion). */
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
 * The ping sweep: Engine.IO v4 servers ping and clients answer; a client that hears no ping
 * within pingInterval + pingTimeout reconnects. Run once per pingInterval (EventBridge in
 * AWS, a timer locally). Connections that are gone are forgotten.
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
          const outcome = await postToConnection(endpoint, connection.connectionId, ENGINE_PING);
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
