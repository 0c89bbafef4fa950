/**
 * CPU of what a call writes after its answer (its access's usage counters and its audit
 * record), the two ways `flushUsage` (shared/api/execute.ts) writes them: an UpdateItem and a
 * BatchWriteItem side by side, or one PartiQL BatchExecuteStatement
 * (shared/store/call-records.ts). Starts DynamoDB Local, then alternates the two ways in
 * loops of CR_CALLS, CR_ROUNDS rounds, and prints the median CPU per call of this process
 * (the JVM is another process) with the load average.
 *
 *   npx tsx test/bench/call-records.ts
 */
import { loadavg } from 'node:os';
import { ensureTable, startDynamoDbLocal } from '../../infra/local/dynamodb';
import { freePort } from '../../infra/local/ports';
import type { AuditItem } from '../../shared/model/audit';
import { PutCommand } from '../../shared/store/commands';

const ROUNDS = Number(process.env.CR_ROUNDS ?? 7);
const CALLS = Number(process.env.CR_CALLS ?? 200);

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const engine = await startDynamoDbLocal({ port: await freePort() });
  try {
    Object.assign(process.env, { DYNAMODB_ENDPOINT: engine.endpoint, TABLE_NAME: 'pryv-cr-bench', AWS_REGION: 'us-east-1' });
    await ensureTable(engine.endpoint, 'pryv-cr-bench');
    const { dynamo, table } = await import('../../shared/store/clients');
    const { recordAccessUsage } = await import('../../shared/store/accesses');
    const { putAuditItems } = await import('../../shared/store/audit');
    const { writeUsageAndAudit } = await import('../../shared/store/call-records');
    const { keys } = await import('../../shared/store/keys');
    const key = keys.accessByToken('bench', 'token-1');
    await dynamo().send(new PutCommand({ TableName: table(), Item: { ...key, id: 'a1', type: 'app', calls: { 'events:create': 0 } } }));
    const calls = new Map([['events:create', 1]]);
    let n = 0;
    const record = (): AuditItem => ({
      id: `r${n++}`,
      time: 1.7e9 + n,
      accessId: 'a1',
      action: 'events.create',
      status: 201,
      source: { name: 'http', ip: '127.0.0.1' },
      userAgent: 'bench',
      query: { streamIds: ['s1'], type: 'note/txt', content: '<string>' },
    });
    const ways: Record<string, () => Promise<unknown>> = {
      'UpdateItem + BatchWriteItem (before)': () =>
        Promise.all([recordAccessUsage('bench', 'token-1', calls, 1.7e9, 1.8e9), putAuditItems('AUDIT#bench', [record()], 2e9)]),
      'BatchExecuteStatement (after)': () =>
        writeUsageAndAudit(
          { username: 'bench', token: 'token-1', calls, now: 1.7e9, sessionExpires: 1.8e9 },
          { partition: 'AUDIT#bench', records: [record()], expires: 2e9 },
        ),
    };
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(ways).map((w) => [w, []]));
    for (const way of Object.values(ways)) for (let i = 0; i < 50; i++) await way(); // JIT warm-up
    const loads: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, way] of Object.entries(ways)) {
        loads.push(loadavg()[0]!);
        const start = process.cpuUsage();
        for (let i = 0; i < CALLS; i++) await way();
        const used = process.cpuUsage(start);
        samples[name]!.push((used.user + used.system) / 1000 / CALLS);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(`${ROUNDS} rounds of ${CALLS} calls, load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`);
    for (const [name, xs] of Object.entries(samples)) {
      console.log(`${name}: ${median(xs).toFixed(3)} ms CPU per call (rounds: ${xs.map((x) => x.toFixed(2)).join(', ')})`);
    }
  } finally {
    await engine.stop();
  }
}

await main();
