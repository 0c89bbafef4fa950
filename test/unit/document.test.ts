import { ConditionalCheckFailedException, DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
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
import { describe, expect, it } from 'vitest';
import { fromWire, TableClient } from '../../shared/store/document';

/**
 * The store's table client (shared/store/document.ts) must put on the wire exactly what
 * lib-dynamodb's document client, with the options the store gave it, put there, and read
 * answers back the same way: both are run here on one fake DynamoDB that records the
 * request it is sent and answers a canned body.
 */

interface Answer {
  status: number;
  body: unknown;
  type?: string;
}

function fakeDynamo(options: { cacheMiddleware?: boolean } = {}) {
  const sent: Array<{ target: string; body: unknown }> = [];
  let answer: Answer = { status: 200, body: {} };
  const client = new DynamoDBClient({
    region: 'local',
    endpoint: 'http://127.0.0.1:1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    maxAttempts: 1,
    ...options,
    requestHandler: {
      handle: async (request: { headers: Record<string, string>; body: string | Uint8Array }) => {
        const text = typeof request.body === 'string' ? request.body : Buffer.from(request.body).toString('utf8');
        sent.push({ target: request.headers['x-amz-target']!, body: JSON.parse(text) });
        const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.0' };
        if (answer.type) headers['x-amzn-errortype'] = answer.type;
        return { response: { statusCode: answer.status, headers, body: Buffer.from(JSON.stringify(answer.body)) } };
      },
    } as never,
  });
  return { client, sent, answer: (a: Answer) => (answer = a) };
}

/** util-dynamodb's unmarshall with the store's options (what the document client did). */
const fromReference = (wire: Record<string, never>) => unmarshall(wire, { wrapNumbers: (value: string) => Number(value) } as never);

const ours = fakeDynamo({ cacheMiddleware: true });
const table = new TableClient(ours.client);
const theirs = fakeDynamo();
const document = DynamoDBDocumentClient.from(theirs.client, {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false, allowImpreciseNumbers: true },
  unmarshallOptions: { wrapNumbers: (value: string) => Number(value) },
});

/** A transaction's idempotency token is random on both sides: present and a UUID is what must hold. */
function sameToken(sent: { target: string; body: unknown } | undefined) {
  const body = sent?.body as { ClientRequestToken?: string } | undefined;
  if (body?.ClientRequestToken === undefined) return sent;
  expect(body.ClientRequestToken).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  return { ...sent, body: { ...body, ClientRequestToken: 'a uuid' } };
}

/** Sends one command through both clients with the same answer; returns both results and requests. */
async function both(make: () => object, answer: Answer) {
  ours.answer(answer);
  theirs.answer(answer);
  const settle = (p: Promise<unknown>): Promise<{ value?: unknown; error?: unknown }> =>
    p.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
  const mine = await settle(table.send(make() as never));
  const reference = await settle(document.send(make() as never));
  return { mine, reference, mineSent: sameToken(ours.sent.at(-1)), referenceSent: sameToken(theirs.sent.at(-1)) };
}

const strip = (out: { value?: unknown; error?: unknown }) => {
  if (out.error) return { error: out.error };
  const { $metadata: _, ...rest } = out.value as Record<string, unknown>;
  return { value: rest };
};

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
  names: new Set(['x', 'y']),
  numbers: new Set([1, 2.5]),
};
const richWire = marshall(
  { ...richItem, missing: 'present', bytes: undefined, names: undefined, numbers: undefined },
  { removeUndefinedValues: true, allowImpreciseNumbers: true },
);
const wireAnswer = {
  ...richWire,
  bytes: { B: Buffer.from([9, 8, 7]).toString('base64') },
  names: { SS: ['p', 'q'] },
  numbers: { NS: ['1', '9.9E+125'] },
};

describe('table client: the same requests and answers as lib-dynamodb’s document client', () => {
  const cases: Array<[string, () => object, unknown]> = [
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
          UpdateExpression: 'SET #n = :n, m = :m ADD c :one',
          ExpressionAttributeNames: { '#n': 'name' },
          ExpressionAttributeValues: { ':n': 'x', ':m': richItem.map, ':one': 1 },
          ReturnValues: 'ALL_NEW',
        }),
      { Attributes: wireAnswer },
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
        }),
      { Items: [wireAnswer, wireAnswer], Count: 2, ScannedCount: 5, LastEvaluatedKey: { pk: { S: 'EV#a' }, sk: { S: 'k2' } } },
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
      const r = await both(make, { status: 200, body });
      expect(r.mineSent).toEqual(r.referenceSent);
      expect(strip(r.mine)).toEqual(strip(r.reference));
      expect(r.mine.error).toBeUndefined();
    });
  }

  it('a cancelled transaction is the same TransactionCanceledException, with its reasons', async () => {
    const r = await both(() => new TransactWriteCommand({ TransactItems: [{ Delete: { TableName: 't', Key: { pk: 'a', sk: 'b' } } }] }), {
      status: 400,
      type: 'TransactionCanceledException',
      body: {
        __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
        message: 'Transaction cancelled',
        CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }],
      },
    });
    expect(r.mine.error).toBeInstanceOf(TransactionCanceledException);
    expect(r.reference.error).toBeInstanceOf(TransactionCanceledException);
    expect((r.mine.error as TransactionCanceledException).CancellationReasons).toEqual([
      { Code: 'ConditionalCheckFailed' },
      { Code: 'None' },
    ]);
  });

  it('a failed condition is a ConditionalCheckFailedException', async () => {
    const r = await both(
      () =>
        new UpdateCommand({
          TableName: 't',
          Key: { pk: 'a', sk: 'b' },
          UpdateExpression: 'SET v = :v',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':v': 1 },
        }),
      {
        status: 400,
        type: 'ConditionalCheckFailedException',
        body: { __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException', message: 'The conditional request failed' },
      },
    );
    expect(r.mine.error).toBeInstanceOf(ConditionalCheckFailedException);
    expect(r.reference.error).toBeInstanceOf(ConditionalCheckFailedException);
  });

  it('a command it does not translate is refused, not sent', async () => {
    class OtherCommand {
      input = {};
    }
    await expect(table.send(new OtherCommand() as never)).rejects.toThrow(/does not send OtherCommand/);
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
