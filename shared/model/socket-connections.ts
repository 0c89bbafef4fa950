import type { AccessSnapshot, NamedScopes } from './notifications';

/** A WebSocket connection as stored (shared/store/socket-connections.ts), once its namespace is joined bound to a user. */
export interface SocketConnection {
  connectionId: string;
  /** Engine.IO session id, sent in the open packet. */
  sid: string;
  /** `?auth=` of the handshake: the access token every call and push is checked against. */
  token?: string;
  ip?: string;
  userAgent?: string;
  connectedAt: number;
  /**
   * 3 for an Engine.IO 3 client (socket.io-client 2.x): it pings and the server answers, it
   * is put in the default namespace at open, and its CONNECT answers and errors are v2's.
   * Absent for Engine.IO 4.
   */
  eio?: 3;
  /** Set when the Socket.IO CONNECT packet was accepted. */
  username?: string;
  nsp?: string;
  /** Socket.IO socket id, sent in the CONNECT answer. */
  socketId?: string;
  accessId?: string;
  /** What change pushes need of the access (set with the binding): no access is read per push. */
  access?: AccessSnapshot;
  /**
   * Set while a change that may narrow the access is being made (accesses.update, deletion,
   * logout): `access` is dropped until the fan-out renews it from the access at this serial or
   * later; writing calls do not push to the connection meanwhile.
   */
  accessHeldFor?: number;
  /** [v2] Named scopes the client subscribed to (spec §6.1): it then gets `notificationsChanged {keys}` only. */
  scopes?: NamedScopes;
}
