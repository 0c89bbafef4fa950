import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { RequestInfo } from '../api/types';
import { config } from '../config';
import { errors } from '../errors';

/**
 * Query string → params. Repeated keys (and `key[]`) become arrays; API Gateway's own
 * `queryStringParameters` joins repeats with commas, so we read the raw string.
 */
export function parseQuery(raw: string | undefined): Record<string, string | string[]> {
  // A Map, then plain own properties: `?__proto__[]=x` stays a key (refused by the params
  // limits) instead of replacing the object's prototype.
  if (!raw) return {}; // most calls have no query string: no URLSearchParams for nothing
  const out = new Map<string, string | string[]>();
  for (const [rawKey, value] of new URLSearchParams(raw)) {
    const isArray = rawKey.endsWith('[]');
    const key = isArray ? rawKey.slice(0, -2) : rawKey;
    const existing = out.get(key);
    if (existing === undefined) out.set(key, isArray ? [value] : value);
    else out.set(key, Array.isArray(existing) ? [...existing, value] : [existing, value]);
  }
  return Object.fromEntries(out);
}

/** JSON sent as a form (`curl -d` without a Content-Type): it would become one property named after the JSON text. */
function looksLikeJson(text: string): boolean {
  const t = text.trim();
  if (!t.startsWith('{') && !t.startsWith('[')) return false;
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}

/** Token sources in Pryv's order (spec §1.3): Authorization (raw, Bearer, Basic), then `auth`. */
export function extractToken(
  authorization: string | undefined,
  query: Record<string, string | string[]>,
): { token?: string; callerId?: string } {
  if (authorization && authorization.trim().length > 0) {
    const value = authorization.trim();
    const basic = /^Basic\s+(\S+)$/i.exec(value);
    if (basic?.[1]) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      return { token: decoded.split(':')[0] || undefined };
    }
    const bearer = /^Bearer\s+(\S+)(?:\s+(.+))?$/i.exec(value);
    if (bearer?.[1]) return { token: bearer[1], callerId: bearer[2] };
    const [token, ...caller] = value.split(' ');
    return { token, callerId: caller.length > 0 ? caller.join(' ') : undefined };
  }
  const auth = query.auth;
  const token = Array.isArray(auth) ? auth[0] : auth;
  return { token: token || undefined };
}

function headerMap(event: APIGatewayProxyEventV2): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.headers ?? {})) {
    if (v !== undefined) headers[k.toLowerCase()] = v;
  }
  if (event.cookies && event.cookies.length > 0 && !headers.cookie) headers.cookie = event.cookies.join('; ');
  return headers;
}

/**
 * A multipart body (events with attachments, spec §1.4): exactly one non-file part, holding
 * the JSON, plus the files.
 */
async function parseMultipartBody(event: APIGatewayProxyEventV2, contentType: string): Promise<Pick<RequestInfo, 'body' | 'files'>> {
  const raw = event.body ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8') : Buffer.alloc(0);
  // busboy is imported for multipart bodies only (attachments): most requests are JSON.
  const { parseMultipart } = await import('./multipart');
  const { fields, files } = await parseMultipart(raw, contentType, { fileBytes: config().uploadMaxBytes });
  if (fields.length > 1) throw errors.invalidRequestStructure('A multipart request may hold only one non-file part (the JSON).');
  let body: unknown;
  if (fields.length === 1) {
    try {
      body = JSON.parse(fields[0]!.value);
    } catch {
      throw errors.invalidRequestStructure(`The "${fields[0]!.name}" part is not valid JSON.`);
    }
  }
  return { body, files };
}

function parseBody(event: APIGatewayProxyEventV2, contentType: string): unknown {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  // UTF-8 takes at most 3 bytes per UTF-16 unit: a text short enough needs no byte count (a 1,000-point series body is ~25 KB).
  const max = config().maxJsonBodyBytes;
  if (text.length * 3 > max && Buffer.byteLength(text) > max) throw errors.payloadTooLarge(max);
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') {
    if (looksLikeJson(text)) {
      throw errors.unsupportedContentType(
        type,
        'The body is JSON but was sent as application/x-www-form-urlencoded (curl -d does that): send it with "Content-Type: application/json".',
      );
    }
    return Object.fromEntries(new URLSearchParams(text));
  }
  if (type === '' || type === 'application/json' || type.endsWith('+json') || type === 'text/plain') {
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw errors.invalidRequestStructure('The request body is not valid JSON.');
    }
  }
  throw errors.unsupportedContentType(type);
}

/** API Gateway HTTP API (payload v2) event → RequestInfo. Throws Pryv errors for bad input. */
export async function requestFromEvent(event: APIGatewayProxyEventV2): Promise<RequestInfo> {
  const headers = headerMap(event);
  const query = parseQuery(event.rawQueryString);
  const contentType = headers['content-type'] ?? '';
  const multipart = contentType.toLowerCase().startsWith('multipart/form-data') ? await parseMultipartBody(event, contentType) : undefined;
  let body = multipart ? multipart.body : parseBody(event, contentType);
  let formToken: string | undefined;
  // HTML-form clients (spec §1.4): `_auth` carries the token, `_json` the real body.
  if (body && typeof body === 'object' && (headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    const form = body as Record<string, string>;
    formToken = form._auth;
    if (form._json !== undefined) {
      try {
        body = JSON.parse(form._json);
      } catch {
        throw errors.invalidRequestStructure('The `_json` form field is not valid JSON.');
      }
    } else {
      const { _auth: _a, _method: _m, ...rest } = form;
      body = rest;
    }
  }
  const { token, callerId } = extractToken(headers.authorization, query);
  const http = event.requestContext?.http;
  return {
    transport: 'http',
    verb: http?.method ?? 'GET',
    path: event.rawPath,
    headers,
    query,
    body,
    pathParams: { ...(event.pathParameters as Record<string, string> | undefined) },
    ip: http?.sourceIp,
    userAgent: http?.userAgent ?? headers['user-agent'],
    token: token ?? formToken,
    callerId,
    requestId: event.requestContext?.requestId,
    ...(multipart ? { files: multipart.files } : {}),
  };
}
