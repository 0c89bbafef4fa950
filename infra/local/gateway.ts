import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { handler as notFoundHandler } from '../../functions/http/not-found';
import { handler as connectHandler } from '../../functions/ws/connect';
import { handler as disconnectHandler } from '../../functions/ws/disconnect';
import { handler as messageHandler } from '../../functions/ws/message';
import { functionEntryName, METHODS } from '../../shared/api/registry';
import { config } from '../../shared/config';
import { OPENAPI_PATH, storageOrigin } from '../../shared/http/web-pages';
import { log } from '../../shared/log';
import { loadAllParamsValidators } from '../bundling/params-validators';
import { lambdaContext } from './lambda-context.mjs';
import { serveMetrics } from './metrics-endpoint';
import { type CompiledRoute, compileRoute, matchRoute } from './routes';
import { isPagePath, serveApiDescription, servePage } from './static-pages';
import { LocalWebSocketApi, type WebSocketRoutes } from './websocket-api';

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;

/** What the gateway calls: the routes with their handlers, the `$default` handler and the WebSocket routes. */
export interface GatewayHandlers {
  routes: CompiledRoute<Handler>[];
  notFound: Handler;
  webSocket: WebSocketRoutes;
  /** The function a route key reaches (the `x-local-function` answer header), bundle mode only. */
  functionOf?: (routeKey: string) => string | undefined;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024; // API Gateway HTTP API payload limit
const LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024; // synchronous Lambda invocation: request and response
const LAMBDA_TIMEOUT_MS = 29_000; // API Gateway's integration timeout
const TEXT_TYPES = /^(application\/(json|.*\+json|x-www-form-urlencoded|xml)|text\/)/i;

/** Loads the real Lambda entry files (functions/), as the CDK stack deploys them: the default. */
async function loadSourceHandlers(): Promise<GatewayHandlers> {
  // The methods' parameter validators, generated from their declarations as a synth does, all loaded in this process.
  await loadAllParamsValidators();
  const routes: CompiledRoute<Handler>[] = [];
  for (const method of METHODS) {
    const entry = (await import(/* @vite-ignore */ `../../functions/api/${functionEntryName(method)}`)) as { handler: Handler };
    for (const route of method.routes) routes.push(compileRoute(route, entry.handler));
  }
  return {
    routes,
    notFound: notFoundHandler as Handler,
    webSocket: {
      connect: connectHandler,
      message: messageHandler,
      disconnect: disconnectHandler,
    },
  };
}

/** Where the handlers' presigned URLs point: the S3 emulator (S3_ENDPOINT), or the real bucket. */
function pageStorageOrigin(): string {
  const c = config();
  return storageOrigin({ endpoint: c.s3Endpoint, bucketName: c.bucketName, region: c.region });
}

function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    // One chunk (a create's body is a few hundred bytes) is the body itself: no copy.
    req.on('end', () => resolve(tooLarge ? 'too-large' : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** An incoming HTTP request as API Gateway hands it to a Lambda (payload format 2.0). */
export function toEvent(
  req: IncomingMessage,
  body: Buffer,
  url: URL,
  routeKey: string,
  pathParameters: Record<string, string>,
  requestId: string,
): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  const given = req.headers;
  for (const name in given) {
    const value = given[name];
    if (value === undefined) continue;
    if (name === 'cookie') cookies = (Array.isArray(value) ? value.join('; ') : value).split(/;\s*/);
    else headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  const search = url.search;
  if (search !== '') for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const isText = TEXT_TYPES.test(headers['content-type'] ?? 'application/json');
  const now = Date.now();
  const path = url.pathname;
  const host = headers.host ?? 'localhost';
  const dot = host.indexOf('.');
  const address = req.socket.remoteAddress;
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: search.slice(1),
    cookies,
    headers,
    queryStringParameters: search !== '' && Object.keys(query).length > 0 ? query : undefined,
    pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : undefined,
    body: body.length > 0 ? (isText ? body.toString('utf8') : body.toString('base64')) : undefined,
    isBase64Encoded: body.length > 0 && !isText,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: host,
      domainPrefix: dot < 0 ? host : host.slice(0, dot),
      http: {
        method: req.method ?? 'GET',
        path,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: address === undefined ? '127.0.0.1' : address.startsWith('::ffff:') ? address.slice(7) : address,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey,
      stage: '$default',
      time: utcString(now),
      timeEpoch: now,
    },
  };
}

/** `new Date(ms).toUTCString()`, kept for the current second (every request of a second has the same). */
let utcSecond = Number.NaN;
let utcText = '';
function utcString(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== utcSecond) {
    utcSecond = second;
    utcText = new Date(ms).toUTCString();
  }
  return utcText;
}

/** A header value Node would write as more than one byte per character were it sent as UTF-8 with the body. */
const NOT_ASCII = /[^\t\x20-\x7e]/;

function send(res: ServerResponse, result: APIGatewayProxyResultV2): void {
  const structured: APIGatewayProxyStructuredResultV2 =
    typeof result === 'object' && result !== null && 'statusCode' in result
      ? result
      : { statusCode: 200, body: JSON.stringify(result), headers: { 'content-type': 'application/json' } };
  // Headers as a flat list given to writeHead: Node writes them without a setHeader each. The
  // length is the gateway's own, of the body it sends, as API Gateway's is: a handler's (an
  // attachment's size) is not sent a second time.
  const headers: string[] = [];
  let ascii = true;
  const given = structured.headers;
  if (given)
    for (const k in given)
      if (k.toLowerCase() !== 'content-length') {
        const value = String(given[k]);
        if (ascii && NOT_ASCII.test(value)) ascii = false;
        headers.push(k, value);
      }
  if (structured.cookies)
    for (const cookie of structured.cookies) {
      if (ascii && NOT_ASCII.test(cookie)) ascii = false;
      headers.push('set-cookie', cookie);
    }
  const text = structured.body ?? '';
  if (!structured.isBase64Encoded && ascii) {
    // A text body as a string: Node sends head and body in one write of one string (for a
    // Buffer it makes a writev of the two); the bytes are the same, as the head is ASCII.
    headers.push('content-length', String(Buffer.byteLength(text)));
    res.writeHead(structured.statusCode ?? 200, headers);
    res.end(text);
    return;
  }
  const body = text ? (structured.isBase64Encoded ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8')) : Buffer.alloc(0);
  headers.push('content-length', String(body.length));
  res.writeHead(structured.statusCode ?? 200, headers);
  res.end(body);
}

/** One call of the test change sink (see RuntimeOptions / PRYV_TEST_CHANGE_LOG in runtime.ts). */
export interface ChangeLogEntry {
  username: string;
  messages: string[];
  at: number;
}

/**
 * `GET /__test/changes?username=…`: what the change fan-out handed to its sinks for a user,
 * for integration tests (the runtime runs in vitest's globalSetup process, so a sink
 * registered in a test worker would never be called). Local gateway only, and only when
 * the runtime was given a change log (PRYV_TEST_CHANGE_LOG=1): never a registry method,
 * never deployed to AWS.
 */
function serveChangeLog(changeLog: ChangeLogEntry[], url: URL, res: ServerResponse): void {
  const username = url.searchParams.get('username');
  const changes = username === null ? changeLog : changeLog.filter((c) => c.username === username);
  const body = JSON.stringify({ changes });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export interface LocalGateway {
  server: Server;
  url: string;
  /** The WebSocket API on the same port (`/socket.io/`), with its `@connections` endpoint. */
  webSocketApi: LocalWebSocketApi;
  stop(): Promise<void>;
}

/**
 * Whether a Lambda payload (an invocation event or result) is over Lambda's limit, as
 * serialised JSON. Everything but the body is a few KB (Node caps request headers at 16 KB),
 * and JSON escaping at most multiplies a string's bytes by 6 (`\u00XX`): a body under that
 * bound cannot reach the limit, so only larger ones pay for serialising the whole payload
 * (AWS does this check, not the function: the local numbers should not carry it per call).
 */
function payloadTooLarge(payload: unknown, body: unknown): boolean {
  const exact = () => Buffer.byteLength(JSON.stringify(payload)) > LAMBDA_PAYLOAD_BYTES;
  if (typeof payload === 'string' || (body !== undefined && body !== null && typeof body !== 'string')) return exact();
  const bodyBytes = typeof body === 'string' ? Buffer.byteLength(body) : 0;
  return bodyBytes * 6 + 64 * 1024 >= LAMBDA_PAYLOAD_BYTES && exact();
}

/** The local stand-in for API Gateway: same routes, same event shape, same handlers. */
export async function startGateway(options: {
  port: number;
  host?: string;
  changeLog?: ChangeLogEntry[];
  /** Other handlers than the TypeScript entries of functions/ (the synthesized bundles: see runtime.ts). */
  handlers?: GatewayHandlers;
}): Promise<LocalGateway> {
  const handlers = options.handlers ?? (await loadSourceHandlers());
  const { routes, notFound } = handlers;
  const webSocketApi = new LocalWebSocketApi(handlers.webSocket);

  const server = createServer(async (req, res) => {
    const requestId = randomUUID();
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (options.changeLog && req.method === 'GET' && url.pathname === '/__test/changes') {
        serveChangeLog(options.changeLog, url, res);
        return;
      }
      if (serveMetrics(req, res, url.pathname)) return;
      // Web pages (S3 + CloudFront in AWS); the account app's import uploads to the S3 emulator.
      if (isPagePath(url.pathname)) return await servePage(req, res, url, { storageOrigin: pageStorageOrigin() });
      if (url.pathname === OPENAPI_PATH) return serveApiDescription(req, res);
      const body = await readBody(req);
      if (body === 'too-large') {
        res.writeHead(413, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Request Entity Too Large' }));
        return;
      }
      if (url.pathname.startsWith('/@connections/') && webSocketApi.handleManagement(req, res, url, body)) return;
      const match = matchRoute(routes, req.method ?? 'GET', url.pathname);
      const handler = match?.route.target ?? notFound;
      const routeKey = match?.route.routeKey ?? '$default';
      const event = toEvent(req, body, url, routeKey, match?.pathParameters ?? {}, requestId);
      // Lambda refuses larger payloads both ways; API Gateway then answers 413 / 500.
      if (payloadTooLarge(event, event.body)) {
        res.writeHead(413, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Request Entity Too Large' }));
        return;
      }
      const result = await handler(
        event,
        lambdaContext({ requestId, functionName: routeKey, memoryMb: 256, timeoutMs: LAMBDA_TIMEOUT_MS }),
      );
      const fn = handlers.functionOf?.(routeKey);
      if (fn) res.setHeader('x-local-function', fn);
      if (payloadTooLarge(result, (result as { body?: unknown } | undefined)?.body)) {
        log.error('gateway: Lambda response over 6 MB', { requestId, routeKey });
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Internal Server Error' }));
        return;
      }
      send(res, result);
    } catch (err) {
      log.error('gateway: handler failed', { err, requestId });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Internal Server Error' }));
    }
  });
  server.keepAliveTimeout = 5_000;
  webSocketApi.attach(server);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    server,
    url: `http://${host}:${port}`,
    webSocketApi,
    stop: async () => {
      await webSocketApi.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
