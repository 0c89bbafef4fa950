/**
 * Engine.IO v4 and Socket.IO v5-protocol (socket.io v4) framing over a plain WebSocket, the
 * only transport the official clients use with us (`@pryv/socket.io` sets
 * `transports: ['websocket']`), and the Engine.IO 3 / Socket.IO v4-protocol framing of
 * socket.io-client 2.x, which differs only where noted. Pure: no I/O. One Engine.IO packet
 * per WebSocket message.
 *
 *   Engine.IO: `0{open json}` open · `1` close · `2` ping · `3` pong · `4…` message · `6` noop
 *     (Engine.IO 4: the server pings, the client pongs; Engine.IO 3: the other way round)
 *   Socket.IO (inside a message): `{type}[/nsp,][ackId][json]`
 *     0 CONNECT · 1 DISCONNECT · 2 EVENT · 3 ACK · 4 CONNECT_ERROR (5/6 binary: not supported)
 *     (Socket.IO 2: the server puts every connection in `/` at open (`40`); a client's CONNECT
 *     to another namespace may carry a query, `0/ns?auth=…`; type 4 is ERROR, a bare string;
 *     the CONNECT answer has no payload)
 */

export const ENGINE_OPEN = '0';
export const ENGINE_CLOSE = '1';
export const ENGINE_PING = '2';
export const ENGINE_PONG = '3';
export const ENGINE_MESSAGE = '4';
export const ENGINE_NOOP = '6';

export enum SocketPacketType {
  Connect = 0,
  Disconnect = 1,
  Event = 2,
  Ack = 3,
  ConnectError = 4,
}

export interface SocketPacket {
  type: SocketPacketType;
  /** Namespace, `/` by default. */
  nsp: string;
  /** Acknowledgement id of an EVENT (the client wants an answer) or of an ACK. */
  id?: number;
  data?: unknown;
}

export interface OpenPacket {
  sid: string;
  pingInterval: number;
  pingTimeout: number;
  maxPayload: number;
}

export type EnginePacket = { kind: 'ping' | 'pong' | 'close' | 'noop'; data?: string } | { kind: 'message'; data: string };

export class ProtocolError extends Error {}

export function encodeOpen(open: OpenPacket): string {
  // No upgrades: the socket is already the WebSocket transport.
  return (
    ENGINE_OPEN +
    JSON.stringify({
      sid: open.sid,
      upgrades: [],
      pingInterval: open.pingInterval,
      pingTimeout: open.pingTimeout,
      maxPayload: open.maxPayload,
    })
  );
}

/** One Socket.IO packet as the Engine.IO message that carries it. */
export function encodeSocketPacket(packet: SocketPacket): string {
  let text = ENGINE_MESSAGE + String(packet.type);
  if (packet.nsp && packet.nsp !== '/') text += `${packet.nsp},`;
  if (packet.id !== undefined) text += String(packet.id);
  if (packet.data !== undefined) text += JSON.stringify(packet.data);
  return text;
}

export function decodeEnginePacket(text: string): EnginePacket {
  const type = text.charAt(0);
  const data = text.slice(1);
  switch (type) {
    case ENGINE_MESSAGE:
      return { kind: 'message', data };
    case ENGINE_PING:
      return { kind: 'ping', data };
    case ENGINE_PONG:
      return { kind: 'pong', data };
    case ENGINE_CLOSE:
      return { kind: 'close' };
    case ENGINE_NOOP:
      return { kind: 'noop' };
    default:
      throw new ProtocolError(`unsupported Engine.IO packet type "${type}"`);
  }
}

const MAX_ACK_ID_DIGITS = 15; // beyond Number.MAX_SAFE_INTEGER the id would not round-trip

/** A Socket.IO packet (the data of an Engine.IO message), checked the way socket.io-parser checks it. */
export function decodeSocketPacket(text: string): SocketPacket {
  const type = Number(text.charAt(0));
  if (!Number.isInteger(type) || type < SocketPacketType.Connect || type > SocketPacketType.ConnectError) {
    throw new ProtocolError(`unsupported Socket.IO packet type "${text.charAt(0)}"`);
  }
  let i = 1;
  let nsp = '/';
  if (text.charAt(i) === '/') {
    const comma = text.indexOf(',', i);
    const end = comma === -1 ? text.length : comma;
    nsp = text.slice(i, end);
    i = comma === -1 ? end : end + 1;
  }
  let id: number | undefined;
  const digits = /^\d+/.exec(text.slice(i))?.[0];
  if (digits) {
    if (digits.length > MAX_ACK_ID_DIGITS) throw new ProtocolError('acknowledgement id too large');
    id = Number(digits);
    i += digits.length;
  }
  let data: unknown;
  const payload = text.slice(i);
  if (payload.length > 0) {
    try {
      data = JSON.parse(payload);
    } catch {
      throw new ProtocolError('payload is not JSON');
    }
  }
  const packet: SocketPacket = { type, nsp, ...(id !== undefined ? { id } : {}), ...(data !== undefined ? { data } : {}) };
  checkPayload(packet);
  return packet;
}

function checkPayload(packet: SocketPacket): void {
  const { type, data } = packet;
  const isObject = typeof data === 'object' && data !== null && !Array.isArray(data);
  switch (type) {
    case SocketPacketType.Connect:
      if (data !== undefined && !isObject) throw new ProtocolError('CONNECT payload must be an object');
      return;
    case SocketPacketType.Disconnect:
      if (data !== undefined) throw new ProtocolError('DISCONNECT takes no payload');
      return;
    case SocketPacketType.Event:
      if (!Array.isArray(data) || data.length === 0 || typeof data[0] !== 'string') {
        throw new ProtocolError('EVENT payload must be an array starting with the event name');
      }
      return;
    case SocketPacketType.Ack:
      if (!Array.isArray(data)) throw new ProtocolError('ACK payload must be an array');
      return;
    default:
      throw new ProtocolError('clients do not send CONNECT_ERROR');
  }
}

/** A CONNECT's namespace without its query (`/ns?auth=…`, Socket.IO 2 clients), and that query. */
export function splitNamespace(nsp: string): { nsp: string; query: URLSearchParams } {
  const q = nsp.indexOf('?');
  return q === -1 ? { nsp, query: new URLSearchParams() } : { nsp: nsp.slice(0, q), query: new URLSearchParams(nsp.slice(q + 1)) };
}

/** The answer to an accepted CONNECT: with the socket id for Socket.IO 3+, bare for Socket.IO 2. */
export function connectAnswer(nsp: string, socketId: string, eio: 3 | undefined): SocketPacket {
  return { type: SocketPacketType.Connect, nsp, ...(eio === 3 ? {} : { data: { sid: socketId } }) };
}

/** A refused CONNECT (or a call before one): `{message}` for Socket.IO 3+, the message itself for Socket.IO 2's ERROR. */
export function connectError(nsp: string, message: string, eio: 3 | undefined): SocketPacket {
  return { type: SocketPacketType.ConnectError, nsp, data: eio === 3 ? message : { message } };
}

/**
 * Pryv's rule (spec §6.1): the username is the last segment of the namespace, so both
 * `/{username}` and `/{username}/{username}` (DNS-less clients) name the same user.
 */
export function usernameOfNamespace(nsp: string): string | undefined {
  const last = nsp
    .split('/')
    .filter((s) => s.length > 0)
    .pop();
  return last && last.length > 0 ? last : undefined;
}
