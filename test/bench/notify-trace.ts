/**
 * `npx tsx test/bench/notify-trace.ts`: where the time of a change notification goes, per
 * request (README "Performance", change notification delay). The same setup as
 * `npm run bench:notify` (one user, an app token's socket and webhook); each sample creates one
 * event and records every SDK call made in this process (DynamoDB, DynamoDB Streams,
 * `@connections`) with its start and end, next to the fan-out batch, the sinks, the socket's
 * `eventsChanged` and the webhook POST. Printed per kind of call, in the order they start: its
 * first start and end after the write was sent (p50 / p95), its duration, and how many such
 * calls were made before the webhook POST arrived (background polls included). Counts say what
 * is on the path whatever the machine's load; times are inflated by it.
 * Options: BENCH_SAMPLES=30 (the first 3 are left out), VERBOSE=1 (every sample's timeline).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { startLocalRuntime } from '../../infra/local/runtime';
import { AwsHttp } from '../../shared/aws-http';
import { registerSink } from '../../shared/notify/dispatch';
import { TableClient } from '../../shared/store/document';
import { DynamoDBHttp } from '../../shared/store/dynamodb-http';
import { benchListener } from './notify-listener';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 30);
const VERBOSE = process.env.VERBOSE === '1';
type Entry = { t0: number; t1: number; kind: string };
const log: Entry[] = [];
function kindOf(label: string, command: any): string {
  const name = command.constructor.name.replace(/Command$/, '');
  const input = command.input ?? {};
  const s = (v: any) => String(v?.S ?? v ?? '');
  let detail = '';
  if (input.Key) detail = s(input.Key.sk).replace(/#.*/, '#');
  else if (input.ExpressionAttributeValues && input.KeyConditionExpression) {
    const v = input.ExpressionAttributeValues;
    detail = s(v[':prefix'] ?? v[':pk']).replace(/#.*/, '#');
  } else if (input.TransactItems) detail = `${input.TransactItems.length}`;
  return `${label} ${name} ${detail}`.trim();
}
function patch(proto: any, label: string) {
  const orig = proto.send;
  proto.send = async function (this: unknown, command: any, ...rest: unknown[]) {
    const t0 = performance.now();
    try {
      return await orig.call(this, command, ...rest);
    } finally {
      log.push({ t0, t1: performance.now(), kind: kindOf(label, command) });
    }
  };
}
patch(TableClient.prototype, 'doc');
patch(DynamoDBClient.prototype, 'ddb');
patch(DynamoDBStreamsClient.prototype, 'str');
// The local stream readers' calls (GetRecords…: infra/local/stream-consumer.ts reads with the store's JSON client).
const wireSend = DynamoDBHttp.prototype.send;
DynamoDBHttp.prototype.send = async function (this: DynamoDBHttp, operation, input) {
  if (!['GetRecords', 'GetShardIterator', 'DescribeStream'].includes(operation)) return wireSend.call(this, operation, input);
  const t0 = performance.now();
  try {
    return await wireSend.call(this, operation, input);
  } finally {
    log.push({ t0, t1: performance.now(), kind: `str ${operation}` });
  }
};
// The @connections calls (DynamoDB's go through AwsHttp too, and are counted above).
const awsSend = AwsHttp.prototype.send;
AwsHttp.prototype.send = async function (this: AwsHttp, request, errorOf) {
  if (!request.path.includes('/@connections/')) return awsSend.call(this, request, errorOf);
  const t0 = performance.now();
  try {
    return await awsSend.call(this, request, errorOf);
  } finally {
    log.push({ t0, t1: performance.now(), kind: `apigw ${request.method === 'DELETE' ? 'DeleteConnection' : 'PostToConnection'}` });
  }
};

function pct(values: number[], p: number) {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
}

async function main() {
  process.env.LOG_LEVEL ??= 'silent';
  const mark = (kind: string) => log.push({ t0: performance.now(), t1: performance.now(), kind });
  const runtime = await startLocalRuntime({ port: 0, env: { WEBHOOK_MIN_INTERVAL_MS: '100' }, onFanoutBatch: () => mark('FANOUT') });
  registerSink(async () => void mark('SINKS'));
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      mark('WEBHOOK');
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const { api, username, token, socket } = await benchListener(runtime.url, receiverUrl, 'trace');
  socket.on('eventsChanged', () => mark('SOCKET'));
  await new Promise((r) => setTimeout(r, 1000));
  const starts = new Map<string, number[]>();
  const ends = new Map<string, number[]>();
  const counts = new Map<string, number[]>();
  const order: string[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    log.length = 0;
    const sent = performance.now();
    await api('POST', `/${username}/events`, token, { streamIds: ['bench'], type: 'count/steps', content: i });
    mark('ANSWER');
    const deadline = Date.now() + 5000;
    while (!(log.some((e) => e.kind === 'SOCKET') && log.some((e) => e.kind === 'WEBHOOK')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setTimeout(r, 300));
    const end = log.find((e) => e.kind === 'WEBHOOK')?.t0 ?? Infinity;
    const seen = new Set<string>();
    const perKind = new Map<string, number>();
    const lines: string[] = [];
    for (const e of [...log].sort((a, b) => a.t0 - b.t0)) {
      if (e.t0 < sent) continue;
      if (e.t0 <= end) perKind.set(e.kind, (perKind.get(e.kind) ?? 0) + 1);
      if (VERBOSE && e.t0 <= end + 50)
        lines.push(
          `${(e.t0 - sent).toFixed(1).padStart(7)} ${(e.t1 - sent).toFixed(1).padStart(7)} (${(e.t1 - e.t0).toFixed(1).padStart(5)}) ${e.kind}`,
        );
      if (seen.has(e.kind)) continue;
      seen.add(e.kind);
      if (!order.includes(e.kind)) order.push(e.kind);
      if (i < 3) continue;
      (starts.get(e.kind) ?? starts.set(e.kind, []).get(e.kind)!).push(e.t0 - sent);
      (ends.get(e.kind) ?? ends.set(e.kind, []).get(e.kind)!).push(e.t1 - sent);
    }
    if (i >= 3) for (const [k, n] of perKind) (counts.get(k) ?? counts.set(k, []).get(k)!).push(n);
    if (VERBOSE && i >= 3) console.log(`--- sample ${i}\n${lines.join('\n')}`);
  }
  console.log('first occurrence after SEND (ms): start p50/p95, end p50/p95, duration p50/p95, count until webhook (avg) [n]');
  const sorted = order.filter((k) => starts.has(k)).sort((a, b) => pct(starts.get(a)!, 50) - pct(starts.get(b)!, 50));
  for (const k of sorted) {
    const s = starts.get(k)!;
    const e = ends.get(k)!;
    const d = s.map((v, j) => e[j]! - v);
    const c = counts.get(k) ?? [];
    console.log(
      `${k.padEnd(32)} ${pct(s, 50).toFixed(0).padStart(5)} ${pct(s, 95).toFixed(0).padStart(5)} | ${pct(e, 50).toFixed(0).padStart(5)} ${pct(e, 95).toFixed(0).padStart(5)} | ${pct(d, 50).toFixed(1).padStart(5)} ${pct(d, 95).toFixed(1).padStart(5)} | ${(c.reduce((a, b) => a + b, 0) / Math.max(1, c.length)).toFixed(2).padStart(5)} [${s.length}]`,
    );
  }
  socket.close();
  receiver.close();
  await runtime.stop();
}
main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
