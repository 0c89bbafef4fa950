import { AwsHttp, AwsServiceException, type Credentials, type ErrorReader, type ResponseMetadata, readJsonError } from '../aws-http';
import { SERVICE_REQUEST_TIMEOUT_MS } from '../config';

/**
 * DynamoDB's JSON 1.0 protocol, for the store's table client (./document.ts): one POST per
 * operation, sent by shared/aws-http.ts (SigV4 signing, kept-alive connections,
 * the SDK's retry policy, a bound on each attempt, clock-skew correction). It does what the
 * store relied on the AWS SDK's DynamoDB client for, at about half its CPU per request and
 * without its module initialisation in every cold start (README "Performance": the SDK's
 * share of a request):
 *
 * - errors as the SDK throws them: `name` from the answer's error type
 *   (ConditionalCheckFailedException, TransactionCanceledException with its
 *   CancellationReasons, …), `$fault`, `$metadata` (status, request id, attempts), the
 *   error's own fields; a network error or an attempt given up surfaces as Node's (its
 *   `code`, e.g. ECONNREFUSED, ETIMEDOUT), so ./faults.ts tells both from a bug as before;
 * - middleware around each operation, as the SDK's `initialize` step ran it: the store adds
 *   the write listeners, the test:bundled call recorder and the benchmarks' meters there
 *   (./clients.ts).
 *
 * Values travel as DynamoDB's attribute values; binary ones (`B`, `BS`) as base64 on the wire
 * and as bytes on both sides of this module.
 */

export type { Credentials, ResponseMetadata };

/** One operation's input or output, as DynamoDB's JSON (attribute values marshalled). */
export type WireInput = Record<string, unknown>;
export type WireOutput = Record<string, unknown> & { $metadata: ResponseMetadata };

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
  /** How long one attempt may wait for its whole answer before it is given up and retried (default SERVICE_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs?: number;
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
export class DynamoDBServiceException extends AwsServiceException {}

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

const DYNAMODB_TARGET = 'DynamoDB_20120810';

export class DynamoDBHttp {
  private readonly http: AwsHttp;
  private readonly targetPrefix: string;
  private readonly middleware: Middleware[] = [];
  private readonly chains = new Map<string, (args: { input: WireInput }) => Promise<{ output: WireOutput }>>();
  /** Each operation's headers, built once (the signer works out its canonical lines once per set too). */
  private readonly headers = new Map<string, Record<string, string>>();

  constructor(private readonly options: DynamoDBHttpOptions) {
    this.http = new AwsHttp({
      endpoint: options.endpoint,
      region: options.region,
      service: 'dynamodb',
      credentials: options.credentials,
      maxAttempts: options.maxAttempts ?? (Number(process.env.AWS_MAX_ATTEMPTS) || 4), // the SDK's DynamoDB client's default
      requestTimeoutMs: options.requestTimeoutMs ?? SERVICE_REQUEST_TIMEOUT_MS,
    });
    this.targetPrefix = `${options.target ?? DYNAMODB_TARGET}.`;
  }

  /** The service's clock minus ours, as learnt from a clock-skew error (0 until one). */
  get clockOffsetMs(): number {
    return this.http.clockOffsetMs;
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
    this.http.destroy();
  }

  private sendWithRetries(operation: string, input: WireInput): Promise<WireOutput> {
    const body = JSON.stringify(input);
    const around = this.options.around;
    return around ? around(operation, input, () => this.post(operation, body)) : this.post(operation, body);
  }

  /** Posts the operation (retried by AwsHttp), parses the answer. */
  private async post(operation: string, body: string): Promise<WireOutput> {
    let headers = this.headers.get(operation);
    if (!headers) {
      headers = { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': this.targetPrefix + operation };
      this.headers.set(operation, headers);
    }
    const answer = await this.http.send({ method: 'POST', path: '/', headers, body }, errorOf);
    const output = (answer.body === '' ? {} : JSON.parse(answer.body)) as WireOutput;
    output.$metadata = answer.$metadata;
    return output;
  }
}

/** The SDK's reading of a JSON error, as DynamoDB's classes. */
const errorOf: ErrorReader = (answer, requestId) => readJsonError(answer, requestId, ERROR_CLASSES, DynamoDBServiceException);
