import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { ensureTable } from '../../infra/local/dynamodb';
import { type StreamConsumer, type StreamMapping, startStreamConsumer, startStreamReader } from '../../infra/local/stream-consumer';

/**
 * The local event source mapping on its own, on a table of its own in the runtime's
 * DynamoDB Local: Lambda-shaped records, batches, partial batch failures, retries, drops.
 */
const endpoint = () => inject('dynamodbEndpoint');
const ddb = () =>
  new DynamoDBClient({ endpoint: endpoint(), region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });

let consumer: StreamConsumer | undefined;
let table: string | undefined;
afterEach(async () => {
  await consumer?.stop();
  consumer = undefined;
  if (table) await ddb().send(new DeleteTableCommand({ TableName: table }));
  table = undefined;
});

async function setup(handler: (e: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>, retries = 2) {
  table = `consumer-${randomBytes(4).toString('hex')}`;
  await ensureTable(endpoint(), table);
  consumer = await startStreamConsumer({
    endpoint: endpoint(),
    tableName: table,
    handler,
    pollMs: 50,
    maxRetryAttempts: retries,
    retryBackoffMs: 50,
  });
  const client = ddb();
  return async (sk: string) => {
    await client.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'P' }, sk: { S: sk }, data: { B: Buffer.from('hi') } } }));
  };
}

const skOf = (r: DynamoDBRecord) => r.dynamodb!.Keys!.sk!.S!;

/** Waits for a delivery; well inside the test's own timeout, so a miss says what was awaited. */
async function until(check: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not delivered within ${ms} ms: ${check.toString()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A table of its own and a consumer that keeps its position in a temporary checkpoint file. */
async function checkpointed() {
  const dir = mkdtempSync(join(tmpdir(), 'pryv-checkpoint-'));
  const checkpointFile = join(dir, 'position.json');
  const seen: string[] = [];
  const handler = async (e: DynamoDBStreamEvent) => {
    seen.push(...e.Records.map(skOf));
    return { batchItemFailures: [] };
  };
  const name = `consumer-${randomBytes(4).toString('hex')}`;
  table = name;
  await ensureTable(endpoint(), name);
  const client = ddb();
  const put = (sk: string) => client.send(new PutItemCommand({ TableName: name, Item: { pk: { S: 'P' }, sk: { S: sk } } }));
  const start = async () =>
    (consumer = await startStreamConsumer({ endpoint: endpoint(), tableName: name, handler, pollMs: 50, checkpointFile }));
  return { dir, checkpointFile, seen, put, start };
}

/**
 * A table of its own and a consumer read only when poked (an hour between idle polls), with
 * this spacing between poked reads; each batch's sort keys are kept, and `put` pokes after it.
 */
async function pokedOnly(pokeSpacingMs?: number) {
  const name = `consumer-${randomBytes(4).toString('hex')}`;
  table = name;
  await ensureTable(endpoint(), name);
  const batches: string[][] = [];
  const handler = async (e: DynamoDBStreamEvent) => {
    batches.push(e.Records.map(skOf));
    return { batchItemFailures: [] };
  };
  const started = await startStreamConsumer({ endpoint: endpoint(), tableName: name, handler, pollMs: 3_600_000, pokeSpacingMs });
  consumer = started;
  const client = ddb();
  const putAndPoke = async (sk: string) => {
    await client.send(new PutItemCommand({ TableName: name, Item: { pk: { S: 'P' }, sk: { S: sk } } }));
    started.poke();
  };
  return { batches, putAndPoke, seen: (sk: string) => batches.flat().includes(sk) };
}

describe('local stream consumer', () => {
  it('a poke (a write of this process) reads the stream at once, not at the next poll', async () => {
    const { batches, putAndPoke, seen } = await pokedOnly();
    for (const sk of ['first', 'second', 'third']) {
      await putAndPoke(sk);
      await until(() => seen(sk));
    }
    expect(batches.flat()).toEqual(['first', 'second', 'third']);
  });

  it('pokes that come within the spacing of a poked read gather into one read and one batch', async () => {
    // The spacing is far longer than three puts take, so b, c and d are all in the stream when
    // the read they asked for comes.
    const { batches, putAndPoke, seen } = await pokedOnly(4_000);
    await putAndPoke('a');
    await until(() => seen('a'));
    // Each would have read at once, and made its own batch, without the spacing.
    for (const sk of ['b', 'c', 'd']) await putAndPoke(sk);
    await until(() => seen('d'));
    expect(batches).toEqual([['a'], ['b', 'c', 'd']]);
  });

  it('the first poke is not held by the spacing (only a poked read starts it)', async () => {
    // An hour for both: the poke must read at once, or nothing arrives within the test.
    const { batches, putAndPoke, seen } = await pokedOnly(3_600_000);
    await putAndPoke('only');
    await until(() => seen('only'));
    expect(batches).toEqual([['only']]);
  });

  it('with a checkpoint file, a restart before anything was delivered still gets what changed meanwhile', async () => {
    const { dir, seen, put, start } = await checkpointed();
    try {
      await put('old');
      await start();
      await consumer!.stop();
      consumer = undefined;
      await put('while-stopped');
      await start();
      await until(() => seen.includes('while-stopped'));
      // Creation times are coarse (DynamoDB Local: the minute), so a change made in the minute
      // before the first start may come too: at least once, never twice.
      expect(seen.filter((s) => s !== 'old')).toEqual(['while-stopped']);
      expect(new Set(seen).size).toBe(seen.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with a checkpoint file, resumes after the last delivered record: what changed while stopped arrives, nothing twice', async () => {
    const { dir, checkpointFile, seen, put, start } = await checkpointed();
    try {
      await put('before-first-start'); // LATEST at the first start: never delivered
      await start();
      await put('a');
      await until(() => seen.includes('a'));
      expect(JSON.parse(readFileSync(checkpointFile, 'utf8')).streamArn).toBe(consumer!.streamArn);
      await consumer!.stop();
      consumer = undefined;

      await put('while-stopped-1');
      await put('while-stopped-2');
      await start();
      await put('after-restart');
      await until(() => seen.includes('after-restart'));
      expect(seen).toEqual(['a', 'while-stopped-1', 'while-stopped-2', 'after-restart']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('delivers records shaped as Lambda does, from changes made after start', async () => {
    const seen: DynamoDBRecord[] = [];
    const put = await setup(async (e) => {
      seen.push(...e.Records);
      return { batchItemFailures: [] };
    });
    await put('a');
    await until(() => seen.length === 1);
    const r = seen[0]!;
    expect(r).toMatchObject({ eventName: 'INSERT', eventSource: 'aws:dynamodb', eventSourceARN: consumer!.streamArn });
    expect(r.dynamodb).toMatchObject({ Keys: { pk: { S: 'P' }, sk: { S: 'a' } }, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(r.dynamodb!.NewImage!.data).toEqual({ B: Buffer.from('hi').toString('base64') });
    expect(typeof r.dynamodb!.SequenceNumber).toBe('string');
    expect(typeof r.dynamodb!.ApproximateCreationDateTime).toBe('number');
  });

  it('re-delivers from the first failed record, never what came before it', async () => {
    const deliveries: string[][] = [];
    let failed = false;
    const put = await setup(async (e) => {
      deliveries.push(e.Records.map(skOf));
      const b = e.Records.find((r) => skOf(r) === 'b');
      if (b && !failed) {
        failed = true;
        return { batchItemFailures: [{ itemIdentifier: b.dynamodb!.SequenceNumber! }] };
      }
      return { batchItemFailures: [] };
    });
    for (const sk of ['a', 'b', 'c']) await put(sk);
    await until(() => deliveries.flat().includes('c') && failed && deliveries.flat().filter((s) => s === 'b').length === 2);
    const flat = deliveries.flat();
    expect(flat.filter((s) => s === 'a')).toHaveLength(1);
    expect(flat.filter((s) => s === 'b')).toHaveLength(2);
    expect(flat.at(-1)).toBe('c');
  });

  it('drops a batch after the retry limit and goes on with the next records', async () => {
    let calls = 0;
    const delivered: string[] = [];
    const put = await setup(async (e) => {
      calls++;
      if (e.Records.some((r) => skOf(r) === 'poison')) throw new Error('always fails');
      delivered.push(...e.Records.map(skOf));
      return { batchItemFailures: [] };
    }, 2);
    await put('poison');
    await until(() => calls >= 3); // first attempt + 2 retries
    await put('next');
    await until(() => delivered.includes('next'));
    expect(calls).toBe(4);
    expect(delivered).toEqual(['next']);
  });
});

/**
 * The runtime's one reader serving several mappings (the fan-out and the export worker): each
 * mapping gets its own records, in order, with its own retries and its own checkpoint.
 */
describe('local stream reader with two mappings', () => {
  /** A table of its own; `put` writes an item of partition `pk`. */
  async function twoMappings(a: Omit<StreamMapping, 'name'>, b: Omit<StreamMapping, 'name'>, pollMs = 50) {
    const name = table ?? `consumer-${randomBytes(4).toString('hex')}`;
    if (!table) {
      table = name;
      await ensureTable(endpoint(), name);
    }
    consumer = await startStreamReader({
      endpoint: endpoint(),
      tableName: name,
      pollMs,
      mappings: [
        { name: 'a', ...a },
        { name: 'b', ...b },
      ],
    });
    const client = ddb();
    return (pk: string, sk: string) => client.send(new PutItemCommand({ TableName: name, Item: { pk: { S: pk }, sk: { S: sk } } }));
  }
  const pkIs = (prefix: string) => (r: { dynamodb?: { Keys?: { pk?: { S?: string } } } }) =>
    r.dynamodb?.Keys?.pk?.S?.startsWith(prefix) === true;
  const recorder = (into: string[]) => async (e: DynamoDBStreamEvent) => {
    into.push(...e.Records.map(skOf));
    return { batchItemFailures: [] };
  };

  it('each mapping gets exactly the records its filter accepts, in order', async () => {
    const seenA: string[] = [];
    const seenB: string[] = [];
    const put = await twoMappings({ handler: recorder(seenA), filter: pkIs('A') }, { handler: recorder(seenB), filter: pkIs('B') });
    const expectedA: string[] = [];
    const expectedB: string[] = [];
    for (let i = 0; i < 12; i++) {
      const pk = i % 3 === 0 ? 'B' : i % 3 === 1 ? 'A' : 'C'; // C: neither's
      const sk = `${pk}${String(i).padStart(2, '0')}`;
      if (pk === 'A') expectedA.push(sk);
      if (pk === 'B') expectedB.push(sk);
      await put(pk, sk);
    }
    await until(() => seenA.length >= expectedA.length && seenB.length >= expectedB.length);
    await new Promise((r) => setTimeout(r, 200)); // nothing more comes
    expect(seenA).toEqual(expectedA);
    expect(seenB).toEqual(expectedB);
  });

  it("a mapping failing and retrying neither holds nor repeats the other's deliveries", async () => {
    const seenA: string[] = [];
    const seenB: string[] = [];
    let failing = true;
    let attemptsA = 0;
    const put = await twoMappings(
      {
        // Fails every batch holding `b` while `failing`, with a long backoff: still retrying below.
        handler: async (e) => {
          attemptsA++;
          if (failing && e.Records.some((r) => skOf(r) === 'b')) throw new Error('not now');
          seenA.push(...e.Records.map(skOf));
          return { batchItemFailures: [] };
        },
        maxRetryAttempts: 50,
        retryBackoffMs: 100,
      },
      { handler: recorder(seenB) },
    );
    await put('P', 'a');
    await until(() => seenA.includes('a') && seenB.includes('a'));
    await put('P', 'b');
    await until(() => attemptsA >= 2 && seenB.includes('b')); // a's first try failed
    for (const sk of ['c', 'd', 'e']) {
      await put('P', sk);
      await until(() => seenB.includes(sk)); // while a is held at b
    }
    expect(seenA).toEqual(['a']);
    failing = false;
    await until(() => seenA.includes('e'));
    expect(seenA).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(seenB).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it("a mapping whose function is slow does not hold the other's deliveries", async () => {
    const seenA: string[] = [];
    const seenB: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const put = await twoMappings(
      {
        handler: async (e) => {
          if (e.Records.some((r) => skOf(r) === 'a')) await gate; // held until released below
          seenA.push(...e.Records.map(skOf));
          return { batchItemFailures: [] };
        },
      },
      { handler: recorder(seenB) },
    );
    for (const sk of ['a', 'b', 'c']) {
      await put('P', sk);
      await until(() => seenB.includes(sk));
    }
    expect(seenA).toEqual([]);
    release();
    await until(() => seenA.includes('c'));
    expect(seenA).toEqual(['a', 'b', 'c']);
    expect(seenB).toEqual(['a', 'b', 'c']);
  });

  it('a restart resumes each mapping at its own checkpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pryv-checkpoint-'));
    try {
      const seenA: string[] = [];
      const seenB: string[] = [];
      let failing = true;
      const mappings = () =>
        [
          {
            handler: async (e: DynamoDBStreamEvent) => {
              if (failing && e.Records.some((r) => skOf(r) === 'b')) throw new Error('not now');
              seenA.push(...e.Records.map(skOf));
              return { batchItemFailures: [] };
            },
            maxRetryAttempts: 50,
            retryBackoffMs: 100,
            checkpointFile: join(dir, 'a.json'),
          },
          { handler: recorder(seenB), checkpointFile: join(dir, 'b.json') },
        ] as const;
      let put = await twoMappings(...mappings());
      await put('P', 'a');
      await until(() => seenA.includes('a'));
      await put('P', 'b');
      await put('P', 'c');
      await until(() => seenB.includes('c'));
      await consumer!.stop(); // a delivered up to `a`, b up to `c`
      consumer = undefined;
      await put('P', 'd'); // while stopped
      failing = false;
      put = await twoMappings(...mappings());
      await put('P', 'e');
      await until(() => seenA.includes('e') && seenB.includes('e'));
      await new Promise((r) => setTimeout(r, 200)); // nothing more comes
      expect(seenA).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect(seenB).toEqual(['a', 'b', 'c', 'd', 'e']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
