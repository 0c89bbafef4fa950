/** The fuzz harness's HTTP side: one request as sent on the wire, and its answer. */

export interface WireRequest {
  verb: string;
  /** Path and query string, already encoded. */
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

export interface WireResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON answer, or undefined when the body is not JSON. */
  json: any;
}

export async function send(baseUrl: string, request: WireRequest, timeoutMs = 60_000): Promise<WireResponse> {
  const res = await fetch(`${baseUrl}${request.path}`, {
    method: request.verb,
    headers: request.headers,
    body: request.body,
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** A JSON call for fixtures and snapshots; throws unless the status is the expected one. */
export async function api(
  baseUrl: string,
  verb: string,
  path: string,
  options: { token?: string; body?: unknown; expect?: number; headers?: Record<string, string> } = {},
): Promise<any> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = options.token;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await send(baseUrl, {
    verb,
    path,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const expected = options.expect ?? (verb === 'POST' ? 201 : 200);
  if (res.status !== expected) throw new Error(`${verb} ${path}: expected ${expected}, got ${res.status} ${res.text.slice(0, 500)}`);
  return res.json;
}

/** A curl command line reproducing a request (long values shortened with a note). */
export function curlOf(baseUrl: string, request: WireRequest, maxLength = 600): string {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const shorten = (s: string) => (s.length > maxLength ? `${s.slice(0, maxLength)}…[${s.length} chars]` : s);
  const parts = [`curl -s -X ${request.verb}`, quote(shorten(`${baseUrl}${request.path}`))];
  for (const [k, v] of Object.entries(request.headers)) parts.push(`-H ${quote(shorten(`${k}: ${v}`))}`);
  if (request.body !== undefined) {
    const text = typeof request.body === 'string' ? request.body : request.body.toString('latin1');
    parts.push(`--data-binary ${quote(shorten(text))}`);
  }
  return parts.join(' ');
}
