import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { asPryvError } from '../../shared/api/execute';
import { SERVICE_REQUEST_TIMEOUT_MS } from '../../shared/config';
import * as commands from '../../shared/store/commands';
import { fromWire, TableClient } from '../../shared/store/document';
import { ConditionalCheckFailedException, DynamoDBHttp, TransactionCanceledException } from '../../shared/store/dynamodb-http';
import { isServiceFault } from '../../shared/store/faults';
import { sdkSigner } from './sdk-signer';

/**
 * The store's table client (shared/store/document.ts over shared/store/dynamodb-http.ts) must
 * put on the wire exactly what lib-dynamodb's document client on the AWS SDK, with the
 * options the store gave it, put there, read answers back the same way, throw the same
 * errors and retry the same failures as often: both are run here against one fake DynamoDB,
 * a real HTTP server that records each request (and checks its SigV4 signature) and answers
 * from a script: a status and body, or a dropped connection.
 */

type Step = { status: number; body: unknown; type?: string } | 'drop';
interface Sent {
  target: string;
  body: unknown;
}

const CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'session-token',
};
const REGION = 'us-east-1';

/** The SDK's own signer, as the reference for the signatures the fake receives. */
const signer = sdkSigner('dynamodb', REGION, CREDENTIALS);

/** Whether a request's Authorization is the one SigV4 gives its signed headers, body and date. */
async function signatureHolds(headers: IncomingHttpHeaders, body: string, host: string): Promise<boolean> {
  const auth = String(headers.authorization ?? '');
  const signedNames = /SignedHeaders=([^,]+)/.exec(auth)?.[1]?.split(';') ?? [];
  const amzDate = String(headers['x-amz-date'] ?? '');
  const date = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const signedHeaders: Record<string, string> = {};
  for (const name of signedNames) signedHeaders[name] = name === 'host' ? host : String(headers[name]);
  const expected = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: host.split(':')[0]!,
      port: Number(host.split(':')[1]),
      path: '/',
      query: {},
      headers: signedHeaders,
      body,
    },
    { signingDate: date },
  );
  return expected.headers.authorization === auth;
}

function fakeDynamo() {
  const sent: Sent[] = [];
  const badSignatures: string[] = [];
  let script: Step[] = [];
  let next = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const target = String(req.headers['x-amz-target']);
      sent.push({ target, body: JSON.parse(text) });
      if (!(await signatureHolds(req.headers, text, String(req.headers.host))))
        badSignatures.push(`${target} ${req.headers.authorization}`);
      const step = script[Math.min(next++, script.length - 1)]!;
      if (step === 'drop') {
        req.socket.destroy();
        return;
      }
      const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': `req-${next}` };
      if (step.type) headers['x-amzn-errortype'] = step.type;
      res.writeHead(step.status, headers).end(JSON.stringify(step.body));
    });
  });
  return {
    server,
    sent,
    badSignatures,
    play(steps: Step[]) {
      script = steps;
      next = 0;
      sent.length = 0;
      badSignatures.length = 0;
    },
    url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  };
}

/** util-dynamodb's unmarshall with the store's options (what the document client did). */
const fromReference = (wire: Record<string, never>) => unmarshall(wire, { wrapNumbers: (value: string) => Number(value) } as never);

const ours = fakeDynamo();
const theirs = fakeDynamo();
let transport: DynamoDBHttp;
let table: TableClient;
let document: DynamoDBDocumentClient;

beforeAll(async () => {
  await Promise.all([ours, theirs].map((f) => new Promise<void>((resolve) => f.server.listen(0, '127.0.0.1', resolve))));
  transport = new DynamoDBHttp({ endpoint: ours.url(), region: REGION, credentials: CREDENTIALS });
  table = new TableClient(transport);
  document = DynamoDBDocumentClient.from(new DynamoDBClient({ region: REGION, endpoint: theirs.url(), credentials: CREDENTIALS }), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false, allowImpreciseNumbers: true },
    unmarshallOptions: { wrapNumbers: (value: string) => Number(value) },
  });
});
afterAll(async () => {
  transport.destroy();
  document.destroy();
  await Promise.all([ours, theirs].map((f) => new Promise((resolve) => f.server.close(resolve))));
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** The store's command of the same name and input as a lib-dynamodb one. */
function lean(command: { input: object }): object {
  const Class = (commands as unknown as Record<string, new (input: object) => object>)[command.constructor.name];
  if (!Class) throw new Error(`no store command ${command.constructor.name}`);
  return new Class(command.input);
}

/** A transaction's idempotency token is random on both sides: present and a UUID is what must hold. */
function sameToken(sent: Sent): Sent {
  const body = sent.body as { ClientRequestToken?: string };
  if (body.ClientRequestToken === undefined) return sent;
  expect(body.ClientRequestToken).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  return { ...sent, body: { ...body, ClientRequestToken: 'a uuid' } };
}

type Settled = { value?: unknown; error?: unknown };
const settle = (p: Promise<unknown>): Promise<Settled> =>
  p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );

/** Sends one command through both clients with the same script; returns both results and requests. */
async function both(make: () => { input: object }, steps: Step[]) {
  ours.play(steps);
  theirs.play(steps);
  const mine = await settle(table.send(lean(make()) as never));
  const reference = await settle(document.send(make() as never));
  expect(ours.badSignatures).toEqual([]);
  expect(theirs.badSignatures).toEqual([]);
  return { mine, reference, mineSent: ours.sent.map(sameToken), referenceSent: theirs.sent.map(sameToken) };
}

const strip = (out: Settled) => {
  if (out.error) return { error: out.error };
  const { $metadata: _, ...rest } = out.value as Record<string, unknown>;
  return { value: rest };
};

/** What of an error the store reads: its class, name, message, fault side, status and attempts. */
function errorShape(err: unknown) {
  const e = err as { name: string; message: string; $fault?: string; $metadata?: { httpStatusCode?: number; attempts?: number } };
  return { name: e.name, message: e.message, fault: e.$fault, status: e.$metadata?.httpStatusCode, attempts: e.$metadata?.attempts };
}

const richItem = {
  pk: 'EV#alice',
  sk: 'ck123',
  empty: '',
  zero: 0,
  negative: -12.5,
  huge: 9.9e125,
  tiny: 1e-7,
  flag: true,
  off: false,
  nothing: null,
  missing: undefined,
  list: [1, 'two', null, undefined, { three: 3 }, [4]],
  map: { a: 1, b: { c: 'd', gone: undefined }, e: [] },
  bytes: new Uint8Array([0, 1, 2, 250, 255]),
  chunk: Buffer.from('a series chunk'),
  names: new Set(['x', 'y']),
  numbers: new Set([1, 2.5]),
  blobs: new Set([new Uint8Array([1, 2]), new Uint8Array([3])]),
};
const richWire = marshall(
  { ...richItem, missing: 'present', bytes: undefined, chunk: undefined, names: undefined, numbers: undefined, blobs: undefined },
  { removeUndefinedValues: true, allowImpreciseNumbers: true },
);
const wireAnswer = {
  ...richWire,
  bytes: { B: Buffer.from([9, 8, 7]).toString('base64') },
  nested: { M: { inner: { B: Buffer.from([1]).toString('base64') }, list: { L: [{ B: Buffer.from([2, 3]).toString('base64') }] } } },
  names: { SS: ['p', 'q'] },
  numbers: { NS: ['1', '9.9E+125'] },
  blobs: { BS: [Buffer.from([4]).toString('base64')] },
};

const ok = (body: unknown): Step[] => [{ status: 200, body }];

describe('table client: the same requests and answers as lib-dynamodb’s document client', () => {
  const cases: Array<[string, () => { input: object }, unknown]> = [
    ['GetItem', () => new GetCommand({ TableName: 't', Key: { pk: 'a', sk: 'b' }, ConsistentRead: true }), { Item: wireAnswer }],
    ['GetItem, nothing found', () => new GetCommand({ TableName: 't', Key: { pk: 'a', sk: 'b' } }), {}],
    [
      'PutItem',
      () =>
        new PutCommand({
          TableName: 't',
          Item: richItem,
          ConditionExpression: 'attribute_not_exists(pk) OR v < :v',
          ExpressionAttributeValues: { ':v': 3 },
          ReturnValues: 'ALL_OLD',
        }),
      { Attributes: wireAnswer },
    ],
    [
      'UpdateItem',
      () =>
        new UpdateCommand({
          TableName: 't',
          Key: { pk: 'a', sk: 'b' },
          UpdateExpression: 'SET #n = :n, m = :m, d = :d ADD c :one',
          ExpressionAttributeNames: { '#n': 'name' },
          ExpressionAttributeValues: { ':n': 'x', ':m': richItem.map, ':one': 1, ':d': Buffer.from([1, 2, 3]) },
          ReturnValues: 'ALL_NEW',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      { Attributes: wireAnswer, ConsumedCapacity: { TableName: 't', CapacityUnits: 1 } },
    ],
    ['DeleteItem', () => new DeleteCommand({ TableName: 't', Key: { pk: 'a', sk: 'b' }, ConditionExpression: 'attribute_exists(pk)' }), {}],
    [
      'Query',
      () =>
        new QueryCommand({
          TableName: 't',
          KeyConditionExpression: 'pk = :p AND sk > :s',
          FilterExpression: 'contains(streamIds, :s0)',
          ExpressionAttributeValues: { ':p': 'EV#a', ':s': 'x', ':s0': 'diary' },
          ExclusiveStartKey: { pk: 'EV#a', sk: 'k1' },
          ScanIndexForward: false,
          Limit: 10,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      {
        Items: [wireAnswer, wireAnswer],
        Count: 2,
        ScannedCount: 5,
        LastEvaluatedKey: { pk: { S: 'EV#a' }, sk: { S: 'k2' } },
        ConsumedCapacity: { TableName: 't', CapacityUnits: 0.5 },
      },
    ],
    [
      'Query, empty page',
      () => new QueryCommand({ TableName: 't', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'a' } }),
      { Items: [], Count: 0, ScannedCount: 0 },
    ],
    [
      'Scan',
      () => new ScanCommand({ TableName: 't', FilterExpression: 'begins_with(pk, :u)', ExpressionAttributeValues: { ':u': 'x' } }),
      { Items: [wireAnswer], Count: 1, ScannedCount: 1 },
    ],
    [
      'BatchGetItem',
      () =>
        new BatchGetCommand({
          RequestItems: {
            t: {
              Keys: [
                { pk: 'a', sk: 'b' },
                { pk: 'a', sk: 'c' },
              ],
              ConsistentRead: true,
            },
          },
        }),
      { Responses: { t: [wireAnswer] }, UnprocessedKeys: { t: { Keys: [{ pk: { S: 'a' }, sk: { S: 'c' } }], ConsistentRead: true } } },
    ],
    [
      'BatchWriteItem',
      () =>
        new BatchWriteCommand({
          RequestItems: { t: [{ PutRequest: { Item: richItem } }, { DeleteRequest: { Key: { pk: 'a', sk: 'b' } } }] },
        }),
      { UnprocessedItems: { t: [{ PutRequest: { Item: richWire } }, { DeleteRequest: { Key: { pk: { S: 'a' }, sk: { S: 'b' } } } }] } },
    ],
    [
      'TransactWriteItems',
      () =>
        new TransactWriteCommand({
          ClientRequestToken: '3f1e2d4c-5b6a-4789-8abc-def012345678',
          TransactItems: [
            { Put: { TableName: 't', Item: richItem, ConditionExpression: 'attribute_not_exists(pk)' } },
            {
              Update: {
                TableName: 't',
                Key: { pk: 'a', sk: 'u' },
                UpdateExpression: 'SET v = :v',
                ExpressionAttributeValues: { ':v': [1, 2] },
              },
            },
            { Delete: { TableName: 't', Key: { pk: 'a', sk: 'd' } } },
            {
              ConditionCheck: {
                TableName: 't',
                Key: { pk: 'a', sk: 'c' },
                ConditionExpression: 'x = :x',
                ExpressionAttributeValues: { ':x': false },
              },
            },
          ],
        }),
      {},
    ],
  ];

  for (const [name, make, body] of cases) {
    it(name, async () => {
      const r = await both(make, ok(body));
      expect(r.mineSent).toHaveLength(1);
      expect(r.mineSent).toEqual(r.referenceSent);
      expect(strip(r.mine)).toEqual(strip(r.reference));
      expect(r.mine.error).toBeUndefined();
    });
  }

  it('binary values go out as base64 and come back as bytes', async () => {
    const r = await both(() => new GetCommand({ TableName: 't', Key: { pk: 'a', sk: 'b' } }), ok({ Item: wireAnswer }));
    const item = (r.mine.value as { Item: Record<string, unknown> }).Item;
    expect(item.bytes).toBeInstanceOf(Uint8Array);
    expect([...(item.bytes as Uint8Array)]).toEqual([9, 8, 7]);
    expect(((item.nested as { list: Uint8Array[] }).list[0] as Uint8Array).constructor).toBe(Uint8Array);
    ours.play(ok({}));
    await table.send(new commands.PutCommand({ TableName: 't', Item: { pk: 'a', sk: 'b', d: Buffer.from([1, 2, 3]) } }));
    expect((ours.sent[0]!.body as { Item: { d: unknown } }).Item.d).toEqual({ B: 'AQID' });
  });

  it('a cancelled transaction is the same TransactionCanceledException, with its reasons', async () => {
    const r = await both(
      () => new TransactWriteCommand({ TransactItems: [{ Delete: { TableName: 't', Key: { pk: 'a', sk: 'b' } } }] }),
      [
        {
          status: 400,
          type: 'TransactionCanceledException',
          body: {
            __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
            message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None]',
            CancellationReasons: [{ Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' }, { Code: 'None' }],
          },
        },
      ],
    );
    expect(r.mine.error).toBeInstanceOf(TransactionCanceledException);
    expect(errorShape(r.mine.error)).toEqual(errorShape(r.reference.error));
    expect((r.mine.error as TransactionCanceledException).CancellationReasons).toEqual(
      (r.reference.error as TransactionCanceledException).CancellationReasons,
    );
    expect(r.mineSent).toHaveLength(1);
    expect(isServiceFault(r.mine.error)).toBe(false);
  });

  it('a failed condition is a ConditionalCheckFailedException, with the old item when asked', async () => {
    const r = await both(
      () =>
        new UpdateCommand({
          TableName: 't',
          Key: { pk: 'a', sk: 'b' },
          UpdateExpression: 'SET v = :v',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':v': 1 },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      [
        {
          status: 400,
          type: 'ConditionalCheckFailedException',
          body: {
            __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
            message: 'The conditional request failed',
            Item: { pk: { S: 'a' }, sk: { S: 'b' }, v: { N: '7' } },
          },
        },
      ],
    );
    expect(r.mineSent).toEqual(r.referenceSent);
    expect(r.mine.error).toBeInstanceOf(ConditionalCheckFailedException);
    expect(errorShape(r.mine.error)).toEqual(errorShape(r.reference.error));
    // The SDK leaves the item marshalled; the store's client reads it as it reads every item.
    expect((r.mine.error as ConditionalCheckFailedException).Item).toEqual(
      fromReference((r.reference.error as { Item: Record<string, never> }).Item),
    );
    expect(isServiceFault(r.mine.error)).toBe(false);
  });

  it('a refused request is not retried, and is no service fault', async () => {
    const r = await both(
      () => new GetCommand({ TableName: 'missing', Key: { pk: 'a', sk: 'b' } }),
      [
        {
          status: 400,
          type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException',
          body: { __type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException', message: 'Requested resource not found' },
        },
      ],
    );
    expect(errorShape(r.mine.error)).toEqual(errorShape(r.reference.error));
    expect(errorShape(r.mine.error)).toMatchObject({ name: 'ResourceNotFoundException', status: 400, attempts: 1 });
    expect(r.mineSent).toHaveLength(1);
    expect(isServiceFault(r.mine.error)).toBe(false);
  });

  it('a command it does not translate is refused, not sent', async () => {
    class OtherCommand {
      input = {};
    }
    ours.play(ok({}));
    await expect(table.send(new OtherCommand() as never)).rejects.toThrow(/does not send OtherCommand/);
    expect(ours.sent).toHaveLength(0);
  });

  it('any JSON-like item reads back as the document client reads it', () => {
    // Property names the API refuses before anything is stored (README "Limits"); util-dynamodb's
    // marshall also takes an object with an own `constructor` for a class instance and throws.
    const name = (min: number) =>
      fc.string({ minLength: min }).filter((k) => k !== '__proto__' && k !== 'constructor' && k !== 'prototype');
    const value = fc.letrec((tie) => ({
      leaf: fc.oneof(fc.string(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.boolean(), fc.constant(null)),
      node: fc.oneof(
        { depthSize: 'small' },
        tie('leaf'),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(name(0), tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(
      fc.property(fc.dictionary(name(1), value, { maxKeys: 8 }), (item) => {
        const wire = marshall(item, { allowImpreciseNumbers: true });
        // JSON as DynamoDB sends it: what the client parses
        const parsed = JSON.parse(JSON.stringify(wire));
        const reference = fromReference(parsed);
        expect(fromWire(parsed)).toEqual(reference);
      }),
    );
  });
});

describe('table client: the same retries as the SDK’s standard policy', () => {
  const get = () => new GetCommand({ TableName: 't', Key: { pk: 'a', sk: 'b' }, ConsistentRead: true });
  const throttled: Step = {
    status: 400,
    type: 'ProvisionedThroughputExceededException',
    body: {
      __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
      message: 'The level of configured provisioned throughput for the table was exceeded.',
    },
  };
  const throttling: Step = { status: 400, body: { __type: 'com.amazon.coral.availability#ThrottlingException', message: 'Rate exceeded' } };
  const internal: Step = {
    status: 500,
    body: { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'Internal server error' },
  };
  const found: Step = { status: 200, body: { Item: { pk: { S: 'a' }, sk: { S: 'b' }, v: { N: '1' } } } };

  const scripts: Array<[string, Step[]]> = [
    ['throttled twice, then answered', [throttled, throttled, found]],
    ['throttled by the service (ThrottlingException), then answered', [throttling, found]],
    ['a 500 from DynamoDB, then answered', [internal, found]],
    ['a dropped connection, then answered', ['drop', found]],
    ['a dropped connection and a throttle, then answered', ['drop', throttled, found]],
  ];
  for (const [name, steps] of scripts) {
    it(name, async () => {
      vi.spyOn(Math, 'random').mockReturnValue(0); // no backoff wait on either side
      const r = await both(get, steps);
      expect(r.mine.error).toBeUndefined();
      expect(strip(r.mine)).toEqual(strip(r.reference));
      expect(r.mineSent).toHaveLength(steps.length);
      expect(r.mineSent).toEqual(r.referenceSent);
      const attempts = (v: Settled) => (v.value as { $metadata: { attempts: number } }).$metadata.attempts;
      expect(attempts(r.mine)).toBe(attempts(r.reference));
    });
  }

  const failures: Array<[string, Step]> = [
    ['throttled on every attempt', throttled],
    ['a 500 on every attempt', internal],
  ];
  for (const [name, step] of failures) {
    it(`${name}: as many attempts, the same error, a service fault`, async () => {
      vi.spyOn(Math, 'random').mockReturnValue(0);
      const r = await both(get, [step]);
      expect(r.mineSent).toHaveLength(4); // the SDK's default for DynamoDB
      expect(r.mineSent).toEqual(r.referenceSent);
      expect(errorShape(r.mine.error)).toEqual(errorShape(r.reference.error));
      expect(isServiceFault(r.mine.error)).toBe(true);
    });
  }

  it('a connection dropped on every attempt: a network error after 4 attempts, a service fault', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const r = await both(get, ['drop']);
    expect(r.mineSent).toHaveLength(4);
    expect(r.referenceSent).toHaveLength(4);
    expect((r.mine.error as { code?: string }).code).toBe((r.reference.error as { code?: string }).code);
    expect(isServiceFault(r.mine.error)).toBe(true);
  });

  it('DynamoDB unreachable: refused connections are retried, then a service fault', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const gone = new DynamoDBHttp({ endpoint: `http://127.0.0.1:${port}`, region: REGION, credentials: CREDENTIALS });
    const middlewareSaw: number[] = [];
    gone.use((next) => async (args) => {
      try {
        return await next(args);
      } finally {
        middlewareSaw.push(1);
      }
    });
    const err = await new TableClient(gone).send(new commands.GetCommand({ TableName: 't', Key: { pk: 'a', sk: 'b' } })).catch((e) => e);
    gone.destroy();
    expect((err as { code?: string }).code).toBe('ECONNREFUSED');
    expect(isServiceFault(err)).toBe(true);
    expect(middlewareSaw).toHaveLength(1); // retries happen inside one operation
  });

  it('backs off as the SDK does: full jitter under 50 ms × 2^retry, 1 s × 2^retry when throttled', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const delays: number[] = [];
    const realSetTimeout = globalThis.setTimeout;
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      if (ms === SERVICE_REQUEST_TIMEOUT_MS) return realSetTimeout(fn, ms); // each attempt's bound, not a backoff
      if (ms) delays.push(ms);
      return realSetTimeout(fn, 0);
    }) as never);
    ours.play([internal, internal, throttled, found]);
    const out = await table.send(new commands.GetCommand({ TableName: 't', Key: { pk: 'a', sk: 'b' } }));
    expect(delays).toEqual([25, 50, 2000]);
    expect(out.$metadata.attempts).toBe(4);
    expect(out.$metadata.totalRetryDelay).toBe(2075);
  });
});

describe('table client: a bounded wait for each attempt, and the clock corrected from DynamoDB’s', () => {
  const get = () => new commands.GetCommand({ TableName: 't', Key: { pk: 'a', sk: 'b' } });
  const FOUND = { Item: { pk: { S: 'a' }, sk: { S: 'b' } } };

  /** A DynamoDB stand-in: `answer` gets each request (its number from 0) and answers it, late, or never. */
  async function fake(answer: (req: IncomingMessage, res: ServerResponse, n: number, body: string) => void) {
    let n = 0;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => answer(req, res, n++, Buffer.concat(chunks).toString('utf8')));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      requests: () => n,
      close: () => {
        server.closeAllConnections();
        return new Promise((resolve) => server.close(resolve));
      },
    };
  }
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', ...headers }).end(JSON.stringify(body));

  it('an accepted connection that never answers: each attempt given up, 4 attempts, then a 503 api-unavailable', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const dynamo = await fake(() => {}); // reads the request, never answers
    const client = new DynamoDBHttp({ endpoint: dynamo.url, region: REGION, credentials: CREDENTIALS, requestTimeoutMs: 150 });
    const err = await new TableClient(client).send(get()).catch((e: unknown) => e);
    client.destroy();
    await dynamo.close();
    expect(err).toMatchObject({ name: 'TimeoutError', code: 'ETIMEDOUT', $metadata: { attempts: 4 } });
    expect(dynamo.requests()).toBe(4);
    expect(isServiceFault(err)).toBe(true);
    const answered = asPryvError(err);
    expect([answered.id, answered.status]).toEqual(['api-unavailable', 503]);
  });

  it('an answer slower than the bound once: retried with the same backoff, then answered', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const dynamo = await fake((req, res, n) => {
      if (n > 0) return json(res, 200, FOUND);
      // The first answer comes after the client gave up on it (its socket is gone by then).
      setTimeout(() => {
        if (!req.socket.destroyed) json(res, 200, { Item: { pk: { S: 'late' } } });
      }, 3_000);
    });
    // A bound a prompt answer meets even on a loaded machine.
    const client = new DynamoDBHttp({ endpoint: dynamo.url, region: REGION, credentials: CREDENTIALS, requestTimeoutMs: 1_000 });
    const out = await new TableClient(client).send(get());
    client.destroy();
    await dynamo.close();
    expect(out.Item).toEqual({ pk: 'a', sk: 'b' });
    expect(out.$metadata.attempts).toBe(2);
    expect(out.$metadata.totalRetryDelay).toBe(25); // full jitter under 50 ms, as for a dropped connection
  });

  /** DynamoDB's answer to a request signed at a time 15 minutes or more from its clock. */
  const expired = (res: ServerResponse, serverNow: number, amzDate: string) =>
    json(
      res,
      400,
      {
        __type: 'com.amazon.coral.service#InvalidSignatureException',
        message: `Signature expired: ${amzDate} is now earlier than ${new Date(serverNow - 15 * 60_000).toISOString()} (15 min.)`,
      },
      {
        'x-amzn-errortype': 'InvalidSignatureException:http://internal.amazon.com/coral/com.amazon.coral.service/',
        date: new Date(serverNow).toUTCString(),
      },
    );
  const signedAt = (req: IncomingMessage) => {
    const d = String(req.headers['x-amz-date']);
    return Date.parse(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`);
  };

  it('a signature expired for clock skew: the offset taken from its Date, signed again and retried once', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const SKEW = 3_600_000; // DynamoDB's clock is an hour ahead of ours
    const valid: boolean[] = [];
    const dynamo = await fake(async (req, res, _n, body) => {
      const serverNow = Date.now() + SKEW;
      if (Math.abs(signedAt(req) - serverNow) > 5 * 60_000) return expired(res, serverNow, String(req.headers['x-amz-date']));
      valid.push(await signatureHolds(req.headers, body, String(req.headers.host)));
      json(res, 200, FOUND);
    });
    const client = new DynamoDBHttp({ endpoint: dynamo.url, region: REGION, credentials: CREDENTIALS });
    const table = new TableClient(client);
    const out = await table.send(get());
    expect(out.Item).toEqual({ pk: 'a', sk: 'b' });
    expect(out.$metadata.attempts).toBe(2);
    expect(Math.abs(client.clockOffsetMs - SKEW)).toBeLessThan(5_000);
    // The offset is kept: the next call is signed right the first time.
    const again = await table.send(get());
    client.destroy();
    await dynamo.close();
    expect(again.$metadata.attempts).toBe(1);
    expect(dynamo.requests()).toBe(3);
    expect(valid).toEqual([true, true]);
  });

  it('a signature refused with no skew in its Date, or still refused after a correction: not retried again', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    // Same clock: the signature is wrong for another reason, retrying would not help.
    const sameClock = await fake((req, res) => expired(res, Date.now(), String(req.headers['x-amz-date'])));
    const a = new DynamoDBHttp({ endpoint: sameClock.url, region: REGION, credentials: CREDENTIALS });
    const refused = await new TableClient(a).send(get()).catch((e: unknown) => e);
    a.destroy();
    await sameClock.close();
    expect(refused).toMatchObject({ name: 'InvalidSignatureException', $metadata: { attempts: 1, httpStatusCode: 400 } });
    expect(sameClock.requests()).toBe(1);
    expect(a.clockOffsetMs).toBe(0);
    expect(isServiceFault(refused)).toBe(false);
    // A clock that runs away from every correction: one correction, one retry, then the error.
    const runaway = await fake((req, res, n) => expired(res, Date.now() + (n + 1) * 3_600_000, String(req.headers['x-amz-date'])));
    const b = new DynamoDBHttp({ endpoint: runaway.url, region: REGION, credentials: CREDENTIALS });
    const still = await new TableClient(b).send(get()).catch((e: unknown) => e);
    b.destroy();
    await runaway.close();
    expect(still).toMatchObject({ name: 'InvalidSignatureException', $metadata: { attempts: 2 } });
    expect(runaway.requests()).toBe(2);
  });
});
