import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { WebSocketEvent } from '../../functions/ws/event';
import { SOCKET_MESSAGE_MAX_BYTES } from '../../shared/config';
import { log } from '../../shared/log';

type RouteHandler = (event: WebSocketEvent) => Promise<unknown>;

export interface WebSocketRoutes {
  connect: RouteHandler;
  message: RouteHandler;
  disconnect: RouteHandler;
}

interface Connection {
  socket: WebSocket;
  connectedAt: number;
  lastActiveAt: number;
  sourceIp: string;
  userAgent: string;
  /** Messages run one after another, in arrival order. */
  queue: Promise<void>;
}

const STAGE = 'local';

/** API Gateway-style connection ids: 16 base64-ish characters ending in `=`. */
const newConnectionId = () => `${randomBytes(11).toString('base64url').slice(0, 15)}=`;

function statusOf(result: unknown): number {
  if (result && typeof result === 'object' && 'statusCode' in result) return Number((result as { statusCode: number }).statusCode);
  return 200;
}

function sendJson(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  res.end(text);
}

/**
 * The local stand-in for an API Gateway WebSocket API (README "Two commands"), on the HTTP
 * gateway's port: upgrades under `pathPrefix` run the `$connect` route (a non-2xx answer
 * refuses the upgrade), each text message runs `$default`, a close runs `$disconnect`.
 * Servers talk back through the `@connections` management API at `/@connections/{id}`
 * (POST send, GET info, DELETE close), which shared/adapters/socket-connections-api.ts
 * reaches by endpoint override. Like API Gateway, a connection cannot be posted to until
 * its `$connect` returned, and messages are capped at 128 KB both ways.
 */
export class LocalWebSocketApi {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: SOCKET_MESSAGE_MAX_BYTES });
  private readonly connections = new Map<string, Connection>();
  private readonly pending = new Set<Promise<unknown>>();
  /** Set by stop(): closes seen afterwards run no `$disconnect` (the data store may be going away). */
  private stopping = false;

  constructor(
    private readonly routes: WebSocketRoutes,
    private readonly pathPrefix = '/socket.io',
  ) {}

  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== this.pathPrefix && !url.pathname.startsWith(`${this.pathPrefix}/`)) {
        socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      this.track(this.upgrade(req, socket, head, url));
    });
  }

  private track<T>(promise: Promise<T>): void {
    const p = promise.catch((err) => log.error('local websocket api: handler failed', { err }));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private event(
    connectionId: string,
    routeKey: string,
    eventType: WebSocketEvent['requestContext']['eventType'],
    host: string,
    extra: Partial<WebSocketEvent> = {},
    identity?: { sourceIp: string; userAgent: string },
  ): WebSocketEvent {
    return {
      requestContext: {
        routeKey,
        eventType,
        connectionId,
        domainName: host,
        stage: STAGE,
        requestId: randomUUID(),
        ...(identity ? { identity } : {}),
      },
      ...extra,
    };
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): Promise<void> {
    const connectionId = newConnectionId();
    const host = req.headers.host ?? 'localhost';
    const identity = {
      sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
      userAgent: req.headers['user-agent'] ?? '',
    };
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    let status: number;
    try {
      status = statusOf(
        await this.routes.connect(
          this.event(connectionId, '$connect', 'CONNECT', host, { queryStringParameters: query, headers }, identity),
        ),
      );
    } catch (err) {
      log.error('local websocket api: $connect failed', { err });
      status = 500;
    }
    if (status < 200 || status > 299) {
      socket.end(`HTTP/1.1 ${status} Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const now = Date.now();
      const connection: Connection = { socket: ws, connectedAt: now, lastActiveAt: now, ...identity, queue: Promise.resolve() };
      this.connections.set(connectionId, connection);
      ws.on('message', (data, isBinary) => {
        connection.lastActiveAt = Date.now();
        const body = Buffer.isBuffer(data) ? data : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]);
        const event = this.event(
          connectionId,
          '$default',
          'MESSAGE',
          host,
          {
            body: isBinary ? body.toString('base64') : body.toString('utf8'),
            isBase64Encoded: isBinary,
          },
          identity,
        );
        connection.queue = connection.queue.then(() => this.run(this.routes.message, event));
        this.track(connection.queue);
      });
      ws.on('close', () => {
        this.connections.delete(connectionId);
        if (this.stopping) return;
        this.track(
          connection.queue.then(() =>
            this.run(this.routes.disconnect, this.event(connectionId, '$disconnect', 'DISCONNECT', host, {}, identity)),
          ),
        );
      });
      ws.on('error', () => ws.terminate());
    });
  }

  private async run(handler: RouteHandler, event: WebSocketEvent): Promise<void> {
    try {
      await handler(event);
    } catch (err) {
      log.error('local websocket api: route failed', { err, routeKey: event.requestContext.routeKey });
    }
  }

  /** `/@connections/{id}` requests; false if the path is not the management API's. */
  handleManagement(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): boolean {
    const match = /^\/@connections\/([^/]+)$/.exec(url.pathname);
    if (!match) return false;
    // The management API is for the server side only (IAM in AWS): loopback callers here.
    const remote = req.socket.remoteAddress ?? '';
    if (!/^(::1|127\.|::ffff:127\.)/.test(remote)) {
      sendJson(res, 403, { message: 'Forbidden' }, 'ForbiddenException');
      return true;
    }
    const connectionId = decodeURIComponent(match[1]!);
    const connection = this.connections.get(connectionId);
    if (!connection) {
      sendJson(res, 410, { message: 'Gone' }, 'GoneException');
      return true;
    }
    switch (req.method) {
      case 'POST':
        if (body.length > SOCKET_MESSAGE_MAX_BYTES) {
          sendJson(res, 413, { message: 'Message too long' }, 'PayloadTooLargeException');
          return true;
        }
        connection.socket.send(body.toString('utf8'));
        res.writeHead(200, { 'content-length': 0 });
        res.end();
        return true;
      case 'GET':
        sendJson(res, 200, {
          connectedAt: new Date(connection.connectedAt).toISOString(),
          lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
          identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent },
        });
        return true;
      case 'DELETE':
        this.connections.delete(connectionId);
        connection.socket.close(1000);
        res.writeHead(204);
        res.end();
        return true;
      default:
        sendJson(res, 405, { message: 'Method not allowed' });
        return true;
    }
  }

  get openConnections(): number {
    return this.connections.size;
  }

  /** Closes every connection and waits for handlers in flight (connection items left behind expire by TTL). */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const connection of this.connections.values()) connection.socket.terminate();
    this.connections.clear();
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    this.wss.close();
  }
}
