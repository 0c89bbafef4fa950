import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { meta } from '../api/meta';
import { API_VERSION } from '../config';
import { PryvError, RegisterError } from '../errors';

const DEFAULT_METHODS = 'POST, GET, PUT, DELETE, OPTIONS';
const DEFAULT_HEADERS = 'Authorization, Content-Type';
const ONE_YEAR_S = '31536000';

/** CORS the way Pryv answers it: echo what the browser asked for (spec §1.4). */
export function corsHeaders(requestHeaders: Record<string, string | undefined>): Record<string, string> {
  return {
    'Access-Control-Allow-Origin': requestHeaders.origin ?? '*',
    'Access-Control-Allow-Methods': requestHeaders['access-control-request-method'] ?? DEFAULT_METHODS,
    'Access-Control-Allow-Headers': requestHeaders['access-control-request-headers'] ?? DEFAULT_HEADERS,
    'Access-Control-Expose-Headers': 'API-Version',
    'Access-Control-Max-Age': ONE_YEAR_S,
    'Access-Control-Allow-Credentials': 'true',
  };
}

export function baseHeaders(requestHeaders: Record<string, string | undefined>): Record<string, string> {
  const headers = corsHeaders(requestHeaders); // a new object: added to, not copied
  headers['API-Version'] = API_VERSION;
  return headers;
}

export function jsonResponse(
  status: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
  cookies: string[] = [],
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: status,
    headers: { ...headers, 'Content-Type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ ...body, meta: meta() }),
    ...(cookies.length > 0 ? { cookies } : {}),
  };
}

/** jsonResponse of a body already serialized (a JSON object's text): `meta` is added to it without parsing it again. */
export function jsonTextResponse(
  status: number,
  json: string,
  headers: Record<string, string> = {},
  cookies: string[] = [],
): APIGatewayProxyStructuredResultV2 {
  const end = json.lastIndexOf('}');
  if (!json.startsWith('{') || end < 0) throw new Error('jsonTextResponse: not a JSON object');
  const empty = json.slice(1, end).trim() === '';
  return {
    statusCode: status,
    headers: { ...headers, 'Content-Type': 'application/json; charset=utf-8' },
    body: `${json.slice(0, end)}${empty ? '' : ','}"meta":${JSON.stringify(meta())}}`,
    ...(cookies.length > 0 ? { cookies } : {}),
  };
}

/** `Retry-After` (seconds) of an error that says when a retry may succeed (503, 429). */
export function retryHeaders(err: PryvError | RegisterError): Record<string, string> {
  return err instanceof PryvError && err.retryAfterS !== undefined ? { 'Retry-After': String(Math.ceil(err.retryAfterS)) } : {};
}

/** The error body: Pryv's `{error:{id, message, data?}}`, or the register service's flat form. */
export function errorBody(err: PryvError | RegisterError): Record<string, unknown> {
  if (err instanceof RegisterError) {
    return { id: err.id, message: err.message, ...(err.detail ? { detail: err.detail } : {}) };
  }
  return { error: err.toJSON() };
}
