/**
 * CPU of one DynamoDB request, without the rest of a call: starts DynamoDB Local, writes a
 * few items, then sends GetItem, Query (20 small items; 100 event-sized items), BatchGetItem
 * (2 keys), UpdateItem and TransactWriteItems (3 puts) in loops of SDK_CALLS, through two
 * clients taken in turn, SDK_ROUNDS rounds: the store's client (shared/store/clients.ts: its
 * own transport, shared/store/dynamodb-http.ts) and the table client it had before, on the
 * AWS SDK's DynamoDBClient tuned as it was (./sdk-table-client.ts). Prints the median CPU per
 * request of this process (the JVM is another process). SDK_BEFORE_TREE=<a copy of an older
 * commit> measures that tree's lean client as "before" instead of the SDK client (same
 * requests, two versions of the store's client in one process, taken in turn). SDK_PROFILE=1 also writes a CPU profile of the loops under
 * test-artifacts/profile/ (summarise it with `npx tsx test/bench/profile.ts FILE CALLS`).
 *
 *   npx tsx test/bench/sdk-request.ts
 *   SDK_BEFORE_TREE=../main-copy npx tsx test/bench/sdk-request.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join, resolve } from 'node:path';
import * as sdkCommands from '@aws-sdk/lib-dynamodb';
import { ensureTable, startDynamoDbLocal } from '../../infra/local/dynamodb';
import { freePort } from '../../infra/local/ports';
import * as storeCommands from '../../shared/store/commands';
import { tunedSdkClient } from './sdk-table-client';

const ROUNDS = Number(process.env.SDK_ROUNDS ?? 7);
const CALLS = Number(process.env.SDK_CALLS ?? 200);

/** What both clients are given: `send` of the document commands (each client its own classes, same names and inputs). */
interface Sender {
  send(command: object): Promise<unknown>;
}
type Commands = typeof storeCommands;

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const port = await freePort();
  const engine = await startDynamoDbLocal({ port });
  try {
    Object.assign(process.env, { DYNAMODB_ENDPOINT: engine.endpoint, TABLE_NAME: 'pryv-sdk-bench', AWS_REGION: 'us-east-1' });
    await ensureTable(engine.endpoint, 'pryv-sdk-bench');
    const { dynamo, table } = await import('../../shared/store/clients');
    const T = table();
    const beforeTree = process.env.SDK_BEFORE_TREE;
    const before = beforeTree
      ? {
          client: (await import(resolve(beforeTree, 'shared/store/clients.ts'))).dynamo() as Sender,
          commands: (await import(resolve(beforeTree, 'shared/store/commands.ts'))) as Commands,
        }
      : { client: tunedSdkClient(engine.endpoint, 'us-east-1') as unknown as Sender, commands: sdkCommands as unknown as Commands };
    const clients: Record<string, { client: Sender; commands: Commands }> = {
      [beforeTree ? 'lean client, older tree (before)' : 'tuned SDK client (before)']: before,
      'lean client (after)': { client: dynamo() as unknown as Sender, commands: storeCommands },
    };
    const { PutCommand } = storeCommands;
    const seed = dynamo();
    for (let i = 0; i < 20; i++) {
      const Item = {
        pk: 'U#small',
        sk: `E#${String(i).padStart(4, '0')}`,
        type: 'note/txt',
        content: `item ${i}`,
        time: 1.7e9 + i,
        streamIds: ['s1'],
      };
      await seed.send(new PutCommand({ TableName: T, Item }));
    }
    for (let i = 0; i < 100; i++) {
      const Item = {
        pk: 'U#events',
        sk: `E#${String(i).padStart(4, '0')}`,
        id: `ck${i}abcdefghijklmnopqrs`,
        type: 'note/txt',
        content: `some content ${i} of a note`,
        time: 1.7e9 + i * 1.5,
        duration: 0,
        streamIds: ['diary', 'health'],
        tags: [],
        created: 1.7e9,
        createdBy: 'ckaccessabcdefghij',
        modified: 1.7e9,
        modifiedBy: 'ckaccessabcdefghij',
        integrity: 'EVENT:0:sha256-abcdefghijklmnopqrstuvwxyz0123456789',
      };
      await seed.send(new PutCommand({ TableName: T, Item }));
    }
    let n = 0;
    const query = ({ QueryCommand }: Commands, pk: string) =>
      new QueryCommand({
        TableName: T,
        KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
        ExpressionAttributeValues: { ':p': pk, ':s': 'E#' },
        ConsistentRead: true,
      });
    const shapes: Record<string, (commands: Commands) => object> = {
      GetItem: ({ GetCommand }) => new GetCommand({ TableName: T, Key: { pk: 'U#small', sk: 'E#0001' }, ConsistentRead: true }),
      'Query 20 small items': (c) => query(c, 'U#small'),
      'Query 100 event items': (c) => query(c, 'U#events'),
      'BatchGetItem 2 keys': ({ BatchGetCommand }) =>
        new BatchGetCommand({
          RequestItems: {
            [T]: {
              Keys: [
                { pk: 'U#small', sk: 'E#0001' },
                { pk: 'U#small', sk: 'E#0002' },
              ],
              ConsistentRead: true,
            },
          },
        }),
      UpdateItem: ({ UpdateCommand }) =>
        new UpdateCommand({
          TableName: T,
          Key: { pk: 'U#small', sk: 'COUNTER' },
          UpdateExpression: 'ADD c :one',
          ExpressionAttributeValues: { ':one': 1 },
        }),
      'TransactWriteItems 3 puts': ({ TransactWriteCommand }) => {
        const i = n++;
        return new TransactWriteCommand({
          TransactItems: [0, 1, 2].map((k) => ({
            Put: { TableName: T, Item: { pk: 'U#tx', sk: `T#${i}#${k}`, type: 'note/txt', content: 'x', time: 1.7e9, streamIds: ['s1'] } },
          })),
        });
      },
    };
    for (const { client, commands } of Object.values(clients))
      for (const make of Object.values(shapes)) for (let i = 0; i < 100; i++) await client.send(make(commands)); // JIT
    const session = process.env.SDK_PROFILE ? new Session() : undefined;
    if (session) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 100 });
      await session.post('Profiler.start');
    }
    const results: Record<string, Record<string, number[]>> = {};
    for (let r = 0; r < ROUNDS; r++) {
      for (const [shape, make] of Object.entries(shapes)) {
        for (const [name, { client, commands }] of Object.entries(
          r % 2 === 0 ? clients : Object.fromEntries(Object.entries(clients).reverse()),
        )) {
          const start = process.cpuUsage();
          for (let i = 0; i < CALLS; i++) await client.send(make(commands));
          const used = process.cpuUsage(start);
          results[shape] = results[shape] ?? {};
          results[shape][name] = [...(results[shape][name] ?? []), (used.user + used.system) / 1000 / CALLS];
        }
      }
    }
    if (session) {
      const { profile } = await session.post('Profiler.stop');
      const dir = join(process.cwd(), 'test-artifacts', 'profile');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `sdk-request-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      process.stdout.write(`profile: ${file}\n`);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const names = Object.keys(clients);
    process.stdout.write(
      `| request | ${names.map((c) => `${c}: CPU ms, median (min–max)`).join(' | ')} | after ÷ before |\n|---|${names.map(() => '---:').join('|')}|---:|\n`,
    );
    for (const [shape, byClient] of Object.entries(results)) {
      const cells = names.map((c) => {
        const xs = byClient[c]!;
        return `${median(xs).toFixed(3)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;
      });
      const ratio = median(byClient[names[1]!]!) / median(byClient[names[0]!]!);
      process.stdout.write(`| ${shape} | ${cells.join(' | ')} | ${ratio.toFixed(2)} |\n`);
    }
  } finally {
    await engine.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
