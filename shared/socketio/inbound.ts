import { randomBytes, randomUUID } from 'node:crypto';
import { closeConnection, postToConnection } from '../adapters/socket-connections-api';
import { checkArrayCap, isBatchable, type MethodLookup } from '../api/batch';
import { callerOf } from '../api/caller';
import { asPryvError, authenticate, flushUsage, newContext, runMethod } from '../api/execute';
import { meta } from '../api/meta';
import { observeCall } from '../api/observe';
import type { MethodContext, MethodDef, RequestInfo } from '../api/types';
import { SOCKET_MESSAGE_MAX_BYTES } from '../config';
import { accessSnapshot } from '../domain/notifications/snapshot';
import { errors, type PryvError } from '../errors';
import { log, logContext } from '../log';
import type { Access } from '../model/accesses';
import type { SocketConnection } from '../model/socket-connections';
import { bindConnection, deleteConnectionById, getConnection, putConnection } from '../store/socket-connections';
import {
  connectAnswer,
  connectError,
  decodeEnginePacket,
  decodeSocketPacket,
  ENGINE_PONG,
  ProtocolError,
  type SocketPacket,
  SocketPacketType,
  splitNamespace,
  usernameOfNamespace,
} from './protocol';
import { sendPacket } from './send';
import { answerSubscription, SUBSCRIPTION_MESSAGES } from './subscriptions';

/**
 * Pryv's Socket.IO API (spec §6.1) on API Gateway's WebSocket model, the client's side of
 * it: a `$connect` handler that records the connection, a `$default` handler per client
 * message, `$disconnect`. State lives in DynamoDB (shared/store/socket-connections.ts),
 * never in memory: any Lambda may handle any message. What the server sends unasked
 * (open packet, change pushes, pings) is in ./outbound.ts.
 *
 * Flow: WebSocket upgrade → `$connect` (handshake query: `EIO=4` or `EIO=3`, `transport=websocket`,
 * `auth={token}`) stores the connection → its stream INSERT reaches the fan-out, which sends
 * the Engine.IO open packet (API Gateway refuses posts until `$connect` returned) → the
 * client sends CONNECT for `/{username}` (or `/{username}/{username}`) → checked like an HTTP
 * call's token → bound to the user, so change pushes find it → EVENTs with an ack id are
 * method calls, answered with ACKs → the ping sweep pings every connection each period.
 */

export const MISSING_AUTH_MESSAGE = "Missing 'auth' parameter with a valid access token.";

/** A stand-in method for the namespace handshake: authenticated exactly like a token method. */
const HANDSHAKE: MethodDef = { id: 'socket.connect', routes: [], auth: 'token', params: {}, run: async () => ({}) };

export interface ConnectRequest {
  connectionId: string;
  query: Record<string, string | undefined>;
  ip?: string;
  userAgent?: string;
  now?: number;
}

/**
 * `$connect`: Engine.IO 4 (Socket.IO 3+ clients) or 3 (socket.io-client 2.x, spec §6.1) over
 * WebSocket; the token is checked when a namespace is joined.
 */
export async function acceptConnection(req: ConnectRequest): Promise<{ statusCode: number; body?: string }> {
  const { EIO, transport, auth } = req.query;
  if (EIO !== '4' && EIO !== '3') {
    return { statusCode: 400, body: 'Unsupported protocol version: Engine.IO 3 or 4 (Socket.IO 2+ clients) only.' };
  }
  if (transport !== undefined && transport !== 'websocket') return { statusCode: 400, body: 'Only the websocket transport is served.' };
  await putConnection({
    connectionId: req.connectionId,
    sid: randomBytes(15).toString('base64url'),
    ...(auth ? { token: auth } : {}),
    ...(EIO === '3' ? { eio: 3 as const } : {}),
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

/** `$default`: one Engine.IO packet from a client; method calls find their method through `methods`. */
export async function handleClientMessage(connectionId: string, body: string, endpoint: string, methods: MethodLookup): Promise<void> {
  const connection = await getConnection(connectionId);
  if (!connection) {
    await closeConnection(endpoint, connectionId); // $disconnect already ran, or TTL expired
    return;
  }
  try {
    const engine = decodeEnginePacket(body);
    if (engine.kind === 'pong' || engine.kind === 'noop') return; // liveness only: API Gateway tracks idleness itself
    if (engine.kind === 'ping') {
      // Engine.IO 3 clients ping (every pingInterval) and close without a pong within pingTimeout.
      await postToConnection(endpoint, connectionId, ENGINE_PONG + (engine.data ?? ''));
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
        await answerEvent(connection, packet, endpoint, methods);
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
    // The WebSocket message's request id (functions/ws/message.ts) ties the call to the API's access log.
    requestId: (logContext().requestId as string | undefined) ?? randomUUID(),
  };
}

/** CONNECT to `/{username}`: the handshake token must open a live access of that user. */
async function joinNamespace(connection: SocketConnection, packet: SocketPacket, endpoint: string): Promise<void> {
  // Socket.IO 2 clients repeat the handshake query on the namespace (`/ns?auth=…`).
  const { nsp, query } = splitNamespace(packet.nsp);
  const refuse = (message: string) => sendPacket(endpoint, connection, connectError(nsp, message, connection.eio));
  if (connection.username) {
    if (connection.nsp === nsp) {
      await sendPacket(endpoint, connection, connectAnswer(nsp, connection.socketId ?? '', connection.eio));
    } else {
      await refuse('This connection already serves another namespace: open one connection per user.');
    }
    return;
  }
  const username = usernameOfNamespace(nsp);
  if (!username) {
    await refuse('The namespace must name a user: /{username}.');
    return;
  }
  // Socket.IO 3+ clients may send the token as CONNECT payload `{auth}` instead of the query.
  const payloadAuth = (packet.data as { auth?: unknown } | undefined)?.auth;
  const token = connection.token ?? query.get('auth') ?? (typeof payloadAuth === 'string' ? payloadAuth : undefined);
  if (!token) {
    await refuse(MISSING_AUTH_MESSAGE);
    return;
  }
  const ctx = newContext(HANDSHAKE.id, socketRequest({ ...connection, nsp, token }, username, undefined));
  let access: Access;
  try {
    await authenticate(HANDSHAKE, ctx);
    access = callerOf(ctx).access;
  } catch (err) {
    await refuse(asPryvError(err, ctx).message);
    return;
  }
  const socketId = randomBytes(15).toString('base64url');
  const bound = await bindConnection(connection.connectionId, {
    username,
    nsp,
    socketId,
    accessId: access.id,
    token,
    access: accessSnapshot(access),
  });
  if (!bound) return; // closed meanwhile, or a concurrent CONNECT won
  await sendPacket(endpoint, { ...connection, username }, connectAnswer(nsp, socketId, connection.eio));
}

/** Methods callable over a socket: those callable in a batch, and callBatch itself (spec §6.1). */
function callableOverSocket(method: MethodDef | undefined): method is MethodDef {
  return method !== undefined && (isBatchable(method) || method.id === 'callBatch');
}

/** An EVENT: `socket.emit(methodId, params, callback)`; answered by an ACK `[err, result]`. */
async function answerEvent(connection: SocketConnection, packet: SocketPacket, endpoint: string, methods: MethodLookup): Promise<void> {
  const [methodId, params] = packet.data as [string, unknown?];
  if (packet.id === undefined) return; // no callback: the server only accepts the 3-argument form
  if (!connection.username || connection.nsp !== packet.nsp) {
    await sendPacket(endpoint, connection, connectError(packet.nsp, 'Join the namespace first.', connection.eio));
    return;
  }
  const args = SUBSCRIPTION_MESSAGES.has(methodId)
    ? await answerSubscription(connection, methodId, params, socketRequest(connection, connection.username, params))
    : await callMethod(connection, connection.username, methods, methodId, params);
  const ack = { type: SocketPacketType.Ack, nsp: packet.nsp, id: packet.id, data: args };
  const outcome = await sendPacket(endpoint, connection, ack);
  if (outcome === 'too-large') {
    const err = errors.invalidOperation(
      `The result is larger than a socket message may be (${SOCKET_MESSAGE_MAX_BYTES} bytes): ask for less (limit, time range) or use HTTP.`,
    );
    await sendPacket(endpoint, connection, { ...ack, data: [{ error: err.toJSON(), meta: meta() }] });
  }
}

/** Runs one API method for a socket, through the same path as HTTP and callBatch. */
async function callMethod(
  connection: SocketConnection,
  username: string,
  methods: MethodLookup,
  methodId: string,
  params: unknown,
): Promise<unknown[]> {
  let ctx: MethodContext | undefined;
  const startedAt = performance.now();
  let observedId = 'unknown';
  try {
    const method = await methods(methodId);
    if (callableOverSocket(method)) observedId = method.id;
    if (!callableOverSocket(method)) throw errors.invalidMethod(methodId);
    ctx = newContext(method.id, socketRequest(connection, username, params));
    await authenticate(method, ctx); // every call: a revoked or expired access stops working at once
    const result = await runMethod(method, ctx, params ?? {}, { coerce: false });
    if (ctx.response.raw) throw errors.invalidOperation(`${method.id} answers a file: use HTTP.`);
    checkArrayCap(result);
    await flushUsage(ctx);
    observeCall(observedId, ctx, { status: method.status ?? 200 }, startedAt, { transport: 'socket' });
    return [null, { ...result, meta: meta() }];
  } catch (err) {
    const rendered: PryvError = asPryvError(err, ctx);
    observeCall(observedId, ctx, { status: rendered.status, errorId: rendered.id }, startedAt, { transport: 'socket' });
    return [{ error: rendered.toJSON(), meta: meta() }];
  }
}
