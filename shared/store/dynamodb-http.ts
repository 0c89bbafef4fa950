import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import aws4 from 'aws4';

/**
 * DynamoDB's JSON 1.0 protocol over node:http(s), for the store's table client
 * (./document.ts): one POST per operation, signed with SigV4 (the `aws4` package), on a
 * kept-alive connection pool. It does what the store relied on the AWS SDK's DynamoDB client
 * for, at about half its CPU per request and without its module initialisation in every cold
 * start (README "Performance": the SDK's share of a request):
 *
 * - the SDK's standard retry policy, same numbers: up to 4 attempts (AWS_MAX_ATTEMPTS),
 *   throttling, 500/502/503/504, timeouts and dropped or refused connections retried after a
 *   full-jitter exponential backoff (50 ms base, 1 s for throttling, 20 s cap), under the
 *   same retry quota (500 tokens, 14 a retry, 5 for throttling, given back on success);
 * - errors as the SDK throws them: `name` from the answer's error type
 *   (ConditionalCheckFailedException, TransactionCanceledException with its
 *   CancellationReasons, …), `$fault`, `$metadata` (status, request id, attempts), the
 *   error's own fields; a network error surfaces as Node's (its `code`, e.g. ECONNREFUSED),
 *   so ./faults.ts tells both from a bug as before;
 * - middleware around each operation, as the SDK's `initialize` step ran it: the store adds
 *   the write listeners, the test:bundled call recorder and the benchmarks' meters there
 *   (./clients.ts).
 *
 * Values travel as DynamoDB's attribute values; binary ones (`B`, `BS`) as base64 on the wire
 * and as bytes on both sides of this module.
 */

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** One operation's input or output, as DynamoDB's JSON (attribute values marshalled). */
export type WireInput = Record<string, unknown>;
export type WireOutput = Record<string, unknown> & { $metadata: ResponseMetadata };

export interface ResponseMetadata {
  httpStatusCode?: number;
  requestId?: string;
  attempts: number;
  totalRetryDelay: number;
}

/**
 * A middleware of the client, shaped like the SDK's (`initialize` step) so the benchmarks'
 * meters and the store's listeners read the same names: `context.commandName` is the SDK's
 * (`GetItemCommand`), `args.input` the operation's wire input, `output` its wire output.
 */
export type Middleware = (
  next: (args: { input: WireInput }) => Promise<{ output: WireOutput }>,
  context: { clientName: string; commandName: string },
) => (args: { input: WireInput }) => Promise<{ output: WireOutput }>;

export interface DynamoDBHttpOptions {
  /** `https://dynamodb.{region}.amazonaws.com`, or DynamoDB Local's address. */
  endpoint: string;
  region: string;
  credentials: Credentials | (() => Credentials);
  /** The SDK's default for DynamoDB: 4. */
  maxAttempts?: number;
  /** Runs each operation (after the middleware), e.g. in a trace subsegment. */
  around?: <T>(operation: string, input: WireInput, send: () => Promise<T>) => Promise<T>;
  /**
   * The API the operations belong to (the `X-Amz-Target` prefix): DynamoDB's by default;
   * `DynamoDBStreams_20120810` for the streams API, which speaks the same protocol (the local
   * runtime's stream readers, infra/local/stream-shards.ts).
   */
  target?: string;
}

/** An error answer of DynamoDB, as the SDK's service exceptions carry it. */
export class DynamoDBServiceException extends Error {
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

/** A condition of a write did not hold (`Item`: the item as it was, when the write asked for it). */
export class ConditionalCheckFailedException extends DynamoDBServiceException {
  declare Item?: Record<string, unknown>;
}

/** A transaction was cancelled; `CancellationReasons` has one entry per item, in order. */
export class TransactionCanceledException extends DynamoDBServiceException {
  declare CancellationReasons?: Array<{ Code?: string; Message?: string; Item?: Record<string, unknown> }>;
}

const ERROR_CLASSES: Record<string, typeof DynamoDBServiceException> = {
  ConditionalCheckFailedException,
  TransactionCanceledException,
};

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

type RetryKind = 'throttling' | 'transient' | undefined;

function retryKind(err: unknown): RetryKind {
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (status === 429 || THROTTLING.has(e.name ?? '')) return 'throttling';
  if (TRANSIENT_NAMES.has(e.name ?? '') || TRANSIENT_CODES.has(e.code ?? '') || TRANSIENT_STATUS.has(status ?? 0)) return 'transient';
  if (e.name === 'InvalidSignatureException' && e.message?.includes('Signature expired')) return 'transient';
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

const DYNAMODB_TARGET = 'DynamoDB_20120810';

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

export class DynamoDBHttp {
  private readonly url: URL;
  private readonly agent: HttpAgent;
  private readonly post: typeof httpRequest;
  private readonly maxAttempts: number;
  private readonly targetPrefix: string;
  private readonly middleware: Middleware[] = [];
  private readonly chains = new Map<string, (args: { input: WireInput }) => Promise<{ output: WireOutput }>>();
  /** The retry quota the SDK keeps per client: retries spend it, successes give it back. */
  private quota = QUOTA;

  constructor(private readonly options: DynamoDBHttpOptions) {
    this.url = new URL(options.endpoint);
    const https = this.url.protocol === 'https:';
    // The SDK's defaults: kept-alive sockets, at most 50 per host.
    this.agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: 50 }) : new HttpAgent({ keepAlive: true, maxSockets: 50 });
    this.post = https ? httpsRequest : httpRequest;
    this.maxAttempts = options.maxAttempts ?? (Number(process.env.AWS_MAX_ATTEMPTS) || 4);
    this.targetPrefix = `${options.target ?? DYNAMODB_TARGET}.`;
  }

  /** Adds a middleware; the last added runs first (outermost), as the SDK's `add` at one step. */
  use(middleware: Middleware): void {
    this.middleware.push(middleware);
    this.chains.clear();
  }

  /** Sends one operation (`GetItem`, `Query`, …) with its wire input; resolves with its wire output. */
  async send(operation: string, input: WireInput): Promise<WireOutput> {
    let chain = this.chains.get(operation);
    if (!chain) {
      chain = (args) => this.sendWithRetries(operation, args.input).then((output) => ({ output }));
      const context = { clientName: 'DynamoDBClient', commandName: `${operation}Command` };
      for (const middleware of this.middleware) chain = middleware(chain, context);
      this.chains.set(operation, chain);
    }
    return (await chain({ input })).output;
  }

  destroy(): void {
    this.agent.destroy();
  }

  private sendWithRetries(operation: string, input: WireInput): Promise<WireOutput> {
    const body = JSON.stringify(input);
    const attempt = () => this.sendUntilDone(operation, body);
    return this.options.around ? this.options.around(operation, input, attempt) : attempt();
  }

  private async sendUntilDone(operation: string, body: string): Promise<WireOutput> {
    let totalRetryDelay = 0;
    let lastCost: number | undefined;
    for (let attempts = 1; ; attempts++) {
      try {
        const output = await this.once(operation, body);
        this.quota = Math.min(QUOTA, this.quota + (lastCost ?? 1));
        output.$metadata.attempts = attempts;
        output.$metadata.totalRetryDelay = totalRetryDelay;
        return output;
      } catch (err) {
        const kind = retryKind(err);
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

  private credentials(): Credentials {
    const c = this.options.credentials;
    return typeof c === 'function' ? c() : c;
  }

  /** One attempt: signs and posts the body, parses the answer. */
  private async once(operation: string, body: string): Promise<WireOutput> {
    const headers: Record<string, string> = {
      'Content-Type': 'application/x-amz-json-1.0',
      'X-Amz-Target': this.targetPrefix + operation,
    };
    const signed = aws4.sign(
      { host: this.url.host, path: '/', method: 'POST', service: 'dynamodb', region: this.options.region, headers, body },
      this.credentials(),
    );
    const answer = await this.exchange(signed.headers as Record<string, string>, body);
    const requestId = firstHeader(answer.headers['x-amzn-requestid']);
    if (answer.status >= 200 && answer.status < 300) {
      const output = (answer.body === '' ? {} : JSON.parse(answer.body)) as WireOutput;
      output.$metadata = { httpStatusCode: answer.status, requestId, attempts: 1, totalRetryDelay: 0 };
      return output;
    }
    throw errorOf(answer, requestId);
  }

  private exchange(headers: Record<string, string>, body: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = this.post(
        {
          protocol: this.url.protocol,
          hostname: this.url.hostname,
          port: this.url.port || undefined,
          path: '/',
          method: 'POST',
          agent: this.agent,
          headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
          // The connection closed before the whole answer came: retried like a reset.
          res.on('aborted', () =>
            reject(Object.assign(new Error('the connection closed before the answer ended'), { code: 'ECONNRESET' })),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}

const firstHeader = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/** The SDK's reading of a JSON 1.0 error: its type from the header or `__type`, without namespace or URL. */
function errorOf(answer: Answer, requestId: string | undefined): Error {
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
  const Class = ERROR_CLASSES[name] ?? DynamoDBServiceException;
  return new Class(name, message, answer.status, requestId, fields);
}
