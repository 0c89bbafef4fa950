import { createHmac, hash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { type Http1Answer, Http1Pool, requestHead } from './http1';

/**
 * One AWS service's HTTP API, signed with SigV4 (./aws-http.ts's own signer, below), on a
 * kept-alive connection pool (./http1.ts: an HTTP/1.1 client on raw sockets, cheaper per
 * request than node:http's; test/bench/FINDINGS.md §18): what the store's DynamoDB client
 * (shared/store/dynamodb-http.ts, also the local stream readers') and the `@connections`
 * client (shared/adapters/socket-connections-api.ts) send with, instead of an AWS SDK client
 * and its module initialisation in every cold start (README
 * "Performance", "What is checked before a deploy"). It keeps what those callers relied on
 * the SDK for:
 *
 * - the SDK's standard retry policy, same numbers: up to 3 attempts (4 for DynamoDB, as its
 *   SDK client; AWS_MAX_ATTEMPTS sets both),
 *   throttling, 500/502/503/504, timeouts and dropped or refused connections retried after a
 *   full-jitter exponential backoff (50 ms base, 1 s for throttling, 20 s cap), under the
 *   same retry quota (500 tokens, 14 a retry, 5 for throttling, given back on success);
 * - a bound on each attempt (`requestTimeoutMs`: SERVICE_REQUEST_TIMEOUT_MS, README "Configuration"): a connection that
 *   is accepted and never answered is given up as a `TimeoutError` (code ETIMEDOUT) and
 *   retried like a dropped one; the SDK has no such bound by default, and a hung request would
 *   otherwise hold the call until the Lambda's own timeout;
 * - the SDK's clock-skew correction: a signature refused for its time (InvalidSignatureException
 *   "Signature expired", RequestTimeTooSkewed, …) with a `Date` 5 minutes or more away from
 *   ours sets this client's clock offset from that `Date`, and the request is signed again
 *   and retried, once a call;
 * - errors as the SDK throws them: `name` from the answer's error type, `$fault`,
 *   `$metadata` (status, request id, attempts), the error's own fields; a network error
 *   surfaces as Node's (its `code`, e.g. ECONNREFUSED), so shared/store/faults.ts tells both
 *   from a bug.
 */

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface ResponseMetadata {
  httpStatusCode?: number;
  requestId?: string;
  attempts: number;
  totalRetryDelay: number;
}

/** The credentials Lambda gives a function, in its environment (read on each request: cheap, and never stale). */
export function environmentCredentials(): Credentials {
  const env = process.env;
  if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) {
    throw new Error('no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)');
  }
  return { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN };
}

export interface AwsHttpOptions {
  /** `https://dynamodb.{region}.amazonaws.com`, `https://{api}.execute-api.{region}.amazonaws.com/{stage}`, or a local address. */
  endpoint: string;
  region: string;
  /** The signing name: `dynamodb`, `execute-api`. */
  service: string;
  credentials: Credentials | (() => Credentials);
  /** Default: AWS_MAX_ATTEMPTS, else 3 (the SDK's standard; its DynamoDB client says 4). */
  maxAttempts?: number;
  /** How long one attempt may wait for its whole answer (config.serviceRequestTimeoutMs). */
  requestTimeoutMs: number;
}

/** An error answer of a service, as the SDK's service exceptions carry it. */
export class AwsServiceException extends Error {
  readonly $fault: 'client' | 'server';
  readonly $metadata: ResponseMetadata;
  /** The error's own fields (CancellationReasons, Item, …). */
  [field: string]: unknown;

  constructor(name: string, message: string, status: number, requestId: string | undefined, fields: Record<string, unknown>) {
    super(message);
    for (const [key, value] of Object.entries(fields)) if (key !== '__type' && key !== 'message' && key !== 'Message') this[key] = value;
    this.name = name;
    this.$fault = status >= 500 ? 'server' : 'client';
    this.$metadata = { httpStatusCode: status, requestId, attempts: 1, totalRetryDelay: 0 };
  }
}

/** One request, its path under the endpoint's (already URI-encoded). */
export interface AwsRequest {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

export interface AwsAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A 2xx answer, with the SDK's metadata. */
export type AwsResponse = AwsAnswer & { $metadata: ResponseMetadata };

/** Reads a non-2xx answer as the error the protocol says (its name, message and fields). */
export type ErrorReader = (answer: AwsAnswer, requestId: string | undefined) => Error;

// The SDK's classification of retryable errors (its standard retry strategy).
const THROTTLING = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);
const TRANSIENT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** The SDK's clock-skew error names: a signature refused for its time. */
const CLOCK_SKEW = new Set([
  'AuthFailure',
  'InvalidSignatureException',
  'RequestExpired',
  'RequestInTheFuture',
  'RequestTimeTooSkewed',
  'SignatureDoesNotMatch',
]);
/** The SDK corrects its clock when the service's is this far from it. */
const SKEW_MS = 5 * 60_000;

type RetryKind = 'throttling' | 'transient' | undefined;

function retryKind(err: unknown): RetryKind {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (status === 429 || THROTTLING.has(e.name ?? '')) return 'throttling';
  if (TRANSIENT_NAMES.has(e.name ?? '') || TRANSIENT_CODES.has(e.code ?? '') || TRANSIENT_STATUS.has(status ?? 0)) return 'transient';
  return undefined;
}

const BASE_DELAY = 50;
const THROTTLING_BASE_DELAY = 1_000;
const MAX_DELAY = 20_000;
const QUOTA = 500;
const RETRY_COST = 14;
const THROTTLING_RETRY_COST = 5;

/** Full jitter: a random delay below base × 2^retry, at most 20 s. */
const backoff = (kind: RetryKind, retry: number) =>
  Math.floor(Math.random() * Math.min((kind === 'throttling' ? THROTTLING_BASE_DELAY : BASE_DELAY) * 2 ** retry, MAX_DELAY));

/** SigV4's `X-Amz-Date` form of a time: 20261206T161500Z. */
const amzDate = (ms: number) => new Date(ms).toISOString().replace(/[:-]|\.\d{3}/g, '');

const sha256Hex = (data: string | Buffer) => hash('sha256', data, 'hex');
const EMPTY_BODY_HASH = sha256Hex('');
/** Headers SigV4 signers leave out of the signature (they may change on the way). */
const UNSIGNED = new Set(['authorization', 'connection', 'x-amzn-trace-id', 'user-agent', 'expect', 'presigned-expires', 'range']);

/** A signed header whose value is the request's own: filled in on each request. */
enum Slot {
  Host,
  Date,
  Token,
  Length,
}

/**
 * What SigV4 makes of one set of request headers, worked out once: the headers as sent, the
 * canonical header lines in their sorted order (the request's own values as slots), the
 * signed names. It depends only on the headers given (names and values), whether there is a
 * body and whether the credentials carry a session token.
 */
interface HeaderTemplate {
  /** The given headers as `[name, value, …]`. */
  given: string[];
  /** The Content-Type added when a body comes without one (sent after Content-Length, as before). */
  defaultType: string | undefined;
  /** Canonical header lines (`name:value\n`) and slots, sorted by name. */
  lines: Array<string | Slot>;
  signedNames: string;
}

/** Header sets kept at most (callers send a handful: one per DynamoDB operation, the @connections ones). */
const MAX_TEMPLATES = 256;

/**
 * AWS Signature Version 4 of a request, in headers (the AWS SDK's signer and `aws4` compute
 * the same signature; test/unit/sigv4.test.ts, document.test.ts and
 * socket-connections-api.test.ts check requests against the SDK's). What a request costs here
 * is its own: the body's hash, the canonical request's hash and one HMAC. What only changes
 * with the time or the credentials is kept: the date strings for the current second, the
 * signing key for the current day and secret (an HMAC chain of four), and for each set of
 * headers a caller sends, their canonical lines in order (names lowered, values trimmed,
 * sorted: the same for every request of a DynamoDB operation).
 */
export class SigV4 {
  private second = Number.NaN;
  private dateTime = '';
  private keyScope = '';
  private keySecret = '';
  private key: Buffer = Buffer.alloc(0);
  private readonly templates = new Map<string, HeaderTemplate>();

  constructor(
    private readonly region: string,
    private readonly service: string,
  ) {}

  /**
   * The headers to send, as Node's flat `[name, value, …]` list: `headers` (names as given)
   * with `Host`, `X-Amz-Date`, `X-Amz-Security-Token` (temporary credentials),
   * `Content-Length` and `Authorization`; every one of them but `Authorization` is signed, with
   * `Content-Length` and a default `Content-Type` only when there is a body (as `aws4` did).
   */
  sign(
    method: string,
    host: string,
    path: string,
    headers: Record<string, string>,
    body: string | Buffer,
    credentials: Credentials,
    nowMs: number,
  ): string[] {
    const second = Math.floor(nowMs / 1000);
    if (second !== this.second) {
      this.second = second;
      this.dateTime = amzDate(second * 1000);
    }
    const dateTime = this.dateTime;
    const day = dateTime.slice(0, 8);
    const scope = `${day}/${this.region}/${this.service}/aws4_request`;
    if (scope !== this.keyScope || credentials.secretAccessKey !== this.keySecret) {
      const kDate = createHmac('sha256', `AWS4${credentials.secretAccessKey}`).update(day).digest();
      const kRegion = createHmac('sha256', kDate).update(this.region).digest();
      const kService = createHmac('sha256', kRegion).update(this.service).digest();
      this.key = createHmac('sha256', kService).update('aws4_request').digest();
      this.keyScope = scope;
      this.keySecret = credentials.secretAccessKey;
    }
    const hasBody = body.length > 0;
    const token = credentials.sessionToken;
    const template = this.template(headers, hasBody, !!token);
    const length = typeof body === 'string' ? String(Buffer.byteLength(body)) : String(body.length);
    let canonicalHeaders = '';
    for (const line of template.lines) {
      if (typeof line === 'string') canonicalHeaders += line;
      else if (line === Slot.Host) canonicalHeaders += `host:${host}\n`;
      else if (line === Slot.Date) canonicalHeaders += `x-amz-date:${dateTime}\n`;
      else if (line === Slot.Token) canonicalHeaders += `x-amz-security-token:${token}\n`;
      else canonicalHeaders += `content-length:${length}\n`;
    }
    const signedNames = template.signedNames;
    const canonical = `${method}\n${canonicalPath(path)}\n\n${canonicalHeaders}\n${signedNames}\n${hasBody ? sha256Hex(body) : EMPTY_BODY_HASH}`;
    const toSign = `AWS4-HMAC-SHA256\n${dateTime}\n${scope}\n${sha256Hex(canonical)}`;
    const signature = createHmac('sha256', this.key).update(toSign).digest('hex');
    const out = ['Host', host, 'X-Amz-Date', dateTime, ...template.given];
    if (token) out.push('X-Amz-Security-Token', token);
    out.push('Content-Length', length);
    if (template.defaultType) out.push('Content-Type', template.defaultType);
    out.push(
      'Authorization',
      `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedNames}, Signature=${signature}`,
    );
    return out;
  }

  /** The template of a set of headers (kept; the cache is emptied when a caller sends too many different sets). */
  private template(headers: Record<string, string>, hasBody: boolean, hasToken: boolean): HeaderTemplate {
    let key = hasBody ? (hasToken ? 'bt' : 'b-') : hasToken ? '-t' : '--';
    // Lengths before each part: no two different sets give the same key, whatever their characters.
    for (const name in headers) key += `${name.length}:${name}${headers[name]!.length}:${headers[name]}`;
    let template = this.templates.get(key);
    if (template) return template;
    const given: string[] = [];
    const signed: Array<[string, string | Slot]> = [
      ['host', Slot.Host],
      ['x-amz-date', Slot.Date],
    ];
    let contentType = false;
    let defaultType: string | undefined;
    for (const name in headers) {
      const value = headers[name]!;
      given.push(name, value);
      const lower = name.toLowerCase();
      if (lower === 'content-type') contentType = true;
      if (!UNSIGNED.has(lower)) signed.push([lower, value.trim().replace(/\s+/g, ' ')]);
    }
    if (hasToken) signed.push(['x-amz-security-token', Slot.Token]);
    if (hasBody) {
      signed.push(['content-length', Slot.Length]);
      if (!contentType) {
        defaultType = 'application/x-www-form-urlencoded; charset=utf-8';
        signed.push(['content-type', defaultType]);
      }
    }
    signed.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const lines: Array<string | Slot> = [];
    let signedNames = '';
    for (const [name, value] of signed) {
      lines.push(typeof value === 'string' ? `${name}:${value}\n` : value);
      signedNames += signedNames === '' ? name : `;${name}`;
    }
    template = { given, defaultType, lines, signedNames };
    if (this.templates.size >= MAX_TEMPLATES) this.templates.clear();
    this.templates.set(key, template);
    return template;
  }
}

/**
 * A path's SigV4 canonical form for every service but S3: each segment of the (already
 * URI-encoded) path encoded once more, RFC 3986 style. The paths sent here are built by their
 * callers from encoded parts, never with `.` or `..` segments or a query.
 */
function canonicalPath(path: string): string {
  if (path === '/') return path;
  return path
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

const firstHeader = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

export class AwsHttp {
  private readonly url: URL;
  /** The endpoint's own path (`/prod` of an execute-api stage), without its last `/`. */
  private readonly basePath: string;
  private readonly pool: Http1Pool;
  private readonly maxAttempts: number;
  private readonly signer: SigV4;
  /** The retry quota the SDK keeps per client: retries spend it, successes give it back. */
  private quota = QUOTA;
  /** The service's clock minus ours, learnt from a clock-skew error (the SDK's systemClockOffset). */
  clockOffsetMs = 0;

  constructor(private readonly options: AwsHttpOptions) {
    this.url = new URL(options.endpoint);
    this.basePath = this.url.pathname.replace(/\/$/, '');
    const https = this.url.protocol === 'https:';
    const host = this.url.hostname.replace(/^\[(.*)\]$/, '$1'); // an IPv6 address without its brackets
    // The SDK's defaults: kept-alive sockets, at most 50 per host. TLS names the host (SNI, the
    // certificate's name) unless it is an address.
    this.pool = new Http1Pool({
      host,
      port: Number(this.url.port) || (https ? 443 : 80),
      tls: https,
      servername: https && isIP(host) === 0 ? host : undefined,
      maxSockets: 50,
    });
    this.signer = new SigV4(options.region, options.service);
    this.maxAttempts = options.maxAttempts ?? (Number(process.env.AWS_MAX_ATTEMPTS) || 3);
  }

  /** Sends `request` until it is answered 2xx, a failure is not retryable, or attempts or quota run out. */
  async send(request: AwsRequest, errorOf: ErrorReader): Promise<AwsResponse> {
    let totalRetryDelay = 0;
    let lastCost: number | undefined;
    let skewCorrected = false;
    for (let attempts = 1; ; attempts++) {
      try {
        const answer = await this.once(request, errorOf);
        this.quota = Math.min(QUOTA, this.quota + (lastCost ?? 1));
        answer.$metadata.attempts = attempts;
        answer.$metadata.totalRetryDelay = totalRetryDelay;
        return answer;
      } catch (err) {
        let kind = retryKind(err);
        if (!kind && !skewCorrected && this.correctClock(err)) {
          skewCorrected = true;
          kind = 'transient';
        }
        const cost = kind === 'throttling' ? THROTTLING_RETRY_COST : RETRY_COST;
        if (!kind || attempts >= this.maxAttempts || this.quota < cost) {
          // As the SDK does, network errors included: how many attempts it took to fail.
          if (err && typeof err === 'object') {
            const e = err as { $metadata?: Partial<ResponseMetadata> };
            e.$metadata = Object.assign(e.$metadata ?? {}, { attempts, totalRetryDelay });
          }
          throw err;
        }
        this.quota -= cost;
        lastCost = cost;
        const delay = backoff(kind, attempts - 1);
        totalRetryDelay += delay;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  destroy(): void {
    this.pool.destroy();
  }

  /** A clock-skew error whose `Date` is 5 minutes or more from our corrected clock: the offset follows it (true). */
  private correctClock(err: unknown): boolean {
    const e = err as { name?: string; $response?: { date?: string } };
    if (!CLOCK_SKEW.has(e.name ?? '') || !e.$response?.date) return false;
    const serverTime = Date.parse(e.$response.date);
    if (Number.isNaN(serverTime) || Math.abs(serverTime - (Date.now() + this.clockOffsetMs)) < SKEW_MS) return false;
    this.clockOffsetMs = serverTime - Date.now();
    return true;
  }

  private credentials(): Credentials {
    const c = this.options.credentials;
    return typeof c === 'function' ? c() : c;
  }

  /** One attempt: signs and sends the request, reads the answer. */
  private async once(request: AwsRequest, errorOf: ErrorReader): Promise<AwsResponse> {
    const path = this.basePath + request.path;
    const body = request.body ?? '';
    const headers = this.signer.sign(
      request.method,
      this.url.host,
      path,
      request.headers,
      body,
      this.credentials(),
      Date.now() + this.clockOffsetMs,
    );
    const head = requestHead(request.method, path, headers);
    const answer = new Answer(await this.pool.request(head, body, this.options.requestTimeoutMs));
    const requestId = answer.header('x-amzn-requestid');
    if (answer.status >= 200 && answer.status < 300) {
      answer.$metadata = { httpStatusCode: answer.status, requestId, attempts: 1, totalRetryDelay: 0 };
      return answer as AwsResponse;
    }
    const err = errorOf(answer, requestId);
    // What the clock-skew correction reads (the SDK keeps the raw response on the error too).
    Object.defineProperty(err, '$response', { value: { date: answer.header('date') }, enumerable: false });
    throw err;
  }
}

/** An answer as the callers read it: the body as text, headers from the raw list on demand. */
class Answer implements AwsAnswer {
  readonly status: number;
  readonly body: string;
  $metadata: ResponseMetadata | undefined;
  private readonly rawHeaders: string[];

  constructor(answer: Http1Answer) {
    this.status = answer.status;
    this.body = answer.body.toString('utf8');
    this.rawHeaders = answer.rawHeaders;
  }

  /** The headers as node:http gives them (names in lower case, repeated ones joined), built on first use: a 2xx answer's are seldom read. */
  get headers(): IncomingHttpHeaders {
    const out: Record<string, string> = {};
    const raw = this.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      out[name] = out[name] === undefined ? raw[i + 1]! : `${out[name]}, ${raw[i + 1]}`;
    }
    return out;
  }

  /** One header of the answer, read from its raw list (without building the headers object). */
  header(lowerName: string): string | undefined {
    const raw = this.rawHeaders;
    for (let i = 0; i < raw.length; i += 2)
      if (raw[i]!.length === lowerName.length && raw[i]!.toLowerCase() === lowerName) return raw[i + 1];
    return undefined;
  }
}

type ExceptionClass = new (
  name: string,
  message: string,
  status: number,
  requestId: string | undefined,
  fields: Record<string, unknown>,
) => AwsServiceException;

/**
 * The SDK's reading of a JSON error answer (JSON 1.0 and REST-JSON alike): its type from the
 * `x-amzn-errortype` header or the body's `__type`, without namespace or URL; the class of
 * that name in `classes`, else `base`.
 */
export function readJsonError(
  answer: AwsAnswer,
  requestId: string | undefined,
  classes: Record<string, ExceptionClass> = {},
  base: ExceptionClass = AwsServiceException,
): Error {
  let fields: Record<string, unknown> = {};
  try {
    const parsed = answer.body ? JSON.parse(answer.body) : {};
    if (parsed && typeof parsed === 'object') fields = parsed as Record<string, unknown>;
  } catch {
    // not JSON (a proxy's page): the status tells what happened
  }
  const raw = firstHeader(answer.headers['x-amzn-errortype']) ?? (typeof fields.__type === 'string' ? fields.__type : undefined);
  const name = raw ? raw.split(':')[0]!.split('#').at(-1)! : answer.status >= 500 ? 'InternalServerError' : 'UnknownError';
  const message = String(fields.message ?? fields.Message ?? name);
  const Class = classes[name] ?? base;
  return new Class(name, message, answer.status, requestId, fields);
}
