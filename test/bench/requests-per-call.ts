/**
 * Every request the local runtime's process sends to AWS services (DynamoDB, DynamoDB
 * Streams, @connections) per call of a loop of one call shape: the call's own, the change
 * fan-out's, the stream readers' polls, the webhook worker's. Runs the runtime in this process
 * (`startLocalRuntime`, in memory), counts each request at shared/aws-http.ts's `send` by its
 * target (`DynamoDB_20120810.GetItem`, `DynamoDBStreams_20120810.GetRecords`, …), first with
 * no call (the idle rate), then over REQ_CALLS calls at REQ_CONCURRENCY, and prints per call
 * the requests counted during the calls and what the idle rate alone would have sent in that
 * time.
 *
 *   npx tsx test/bench/requests-per-call.ts            (events.create, master and restricted)
 *   REQ_CALLS=500 REQ_CONCURRENCY=10 REQ_IDLE_S=5
 *   REQ_SHAPES=series-tool-1000   (the reference tool's series-write-batch1000: two holders written in
 *     turn, `deltaTime` whole epoch seconds from now on, values random with two decimals; the
 *     compactions' TransactWriteItems are among the requests, and the segments they fold
 *     are counted as `~segments folded`)
 *   REQ_SHAPES=get-range-restricted,get-range-master,get-parent,get-newest   (events.get shapes, each
 *     with EVENTS_ANSWER_CACHE off then on, on an account of 2,000 more events; the reference
 *     tool's queries: the same query string every call, the 30-day range ending at the seed time)
 *
 * Read units and items are what the DynamoDB answers report (ConsumedCapacity where asked,
 * Count of Queries); DynamoDB Local reports no units for a Query that finds nothing.
 */
import { createHook } from 'node:async_hooks';
import { loadavg } from 'node:os';
import { AwsHttp, type AwsRequest } from '../../shared/aws-http';
import { CHANGE_MARGIN_S } from '../../shared/domain/events/answer-cache';
import { keepAliveClient, registerBenchUser } from './keepalive-client';

const CALLS = Number(process.env.REQ_CALLS ?? 500);
const CONCURRENCY = Number(process.env.REQ_CONCURRENCY ?? 10);
const IDLE_S = Number(process.env.REQ_IDLE_S ?? 5);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const SHAPES = (process.env.REQ_SHAPES ?? 'create-master,create-restricted').split(',');

const counts = new Map<string, number>();
const BY_CALLER = process.env.REQ_BY_CALLER === '1';
if (BY_CALLER) Error.stackTraceLimit = 40;
/** With REQ_BY_CALLER=1: the target and the first function of ours up the stack outside the store and the HTTP client. */
function callerOf(): string {
  const frames = (new Error().stack ?? '').split('\n').slice(2);
  const ours = frames.find(
    (f) =>
      /\/(shared|functions|infra)\//.test(f) &&
      !/shared\/(aws-http|store\/(clients|query|document|batch|transact|conditional|dynamo[^/]*|dynamodb-http|commands))\.ts/.test(f),
  );
  return (
    ours
      ?.trim()
      .replace(/^at /, '')
      .replace(/\(.*\/((shared|functions|infra)\/[^:]+):(\d+):\d+\)/, '($1:$3)') ?? '?'
  );
}
/**
 * With REQ_PROMISES=1: the promises the process creates per call (an async_hooks init hook),
 * what the log context's AsyncLocalStorage pays a hook call for on Node 20 (README "Performance").
 */
let promises = 0;
if (process.env.REQ_PROMISES === '1')
  createHook({
    init: (_id, type) => {
      if (type === 'PROMISE') promises++;
    },
  }).enable();
const send = AwsHttp.prototype.send;
AwsHttp.prototype.send = function (this: AwsHttp, req: AwsRequest, errorOf) {
  let target = req.headers['X-Amz-Target'] ?? `${req.method} ${req.path.split('/').slice(0, -1).join('/')}`;
  if (BY_CALLER) target = `${target} ← ${callerOf()}`;
  counts.set(target, (counts.get(target) ?? 0) + 1);
  if (target.endsWith('.TransactWriteItems')) {
    // A compaction deletes each segment it folds (`~s…` sort keys) in its transaction; a series write puts none there.
    const folded = (String(req.body ?? '').match(/"sk":\{"S":"~s/g) ?? []).length;
    counts.set('~segments folded', (counts.get('~segments folded') ?? 0) + folded);
  }
  const answer = send.call(this, req, errorOf);
  count('~bytes sent', typeof req.body === 'string' ? Buffer.byteLength(req.body) : (req.body?.length ?? 0));
  void answer.then(
    (a) => count('~bytes received', typeof a.body === 'string' ? Buffer.byteLength(a.body) : 0),
    () => undefined,
  );
  if (target.startsWith('DynamoDB_')) void answer.then(countUnits, () => undefined);
  return answer;
};
const count = (name: string, n: number) => counts.set(name, (counts.get(name) ?? 0) + n);
/** Read/write units and Query items the answers report. */
function countUnits(answer: unknown): void {
  const body = (answer as { body?: unknown }).body;
  if (typeof body !== 'string' || body.length === 0) return;
  const json = JSON.parse(body) as { ConsumedCapacity?: unknown; Count?: number };
  const consumed = json.ConsumedCapacity;
  const units = [consumed ?? []].flat() as Array<{ CapacityUnits?: number }>;
  for (const u of units) counts.set('~capacity units', (counts.get('~capacity units') ?? 0) + (u.CapacityUnits ?? 0));
  if (typeof json.Count === 'number') counts.set('~items of Queries', (counts.get('~items of Queries') ?? 0) + json.Count);
}
const snapshot = () => new Map([...counts, ['(promises created)', promises]]);

const call = keepAliveClient(CONCURRENCY * 2);

async function loop(n: number, make: (i: number) => Promise<{ status: number }>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        const r = await make(next++);
        if (r.status >= 300) throw new Error(`status ${r.status}`);
      }
    }),
  );
}

function table(title: string, during: Map<string, number>, idle: Map<string, number>, calls: number): string {
  const names = [...new Set([...during.keys(), ...idle.keys()])].sort();
  const rows = names.map((n) => {
    const d = during.get(n) ?? 0;
    const i = idle.get(n) ?? 0;
    return `| ${n} | ${(d / calls).toFixed(2)} | ${(i / calls).toFixed(2)} |`;
  });
  const requests = (m: Map<string, number>) =>
    [...m].filter(([k]) => !k.startsWith('(') && !k.startsWith('~')).reduce((a, [, b]) => a + b, 0);
  const total = requests(during);
  const idleTotal = requests(idle);
  return [
    `### ${title}`,
    '',
    '| request | per call, counted during the calls | of which the idle rate alone, per call |',
    '|---|---:|---:|',
    ...rows,
    `| **all** | **${(total / calls).toFixed(2)}** | ${(idleTotal / calls).toFixed(2)} |`,
    '',
  ].join('\n');
}

interface Shape {
  token: string;
  make: (i: number) => Promise<{ status: number }>;
  /** Creates what the shape writes to, before the idle-free part of the run. */
  prepare?: () => Promise<void>;
}

/** As test/bench/call-loop.ts's series-tool shapes: two holders without `time`, written in turn. */
function seriesTool(base: string, username: string, token: string, n: number): Shape {
  const holders: Array<{ id: string; next: number }> = [];
  const start = Math.floor(Date.now() / 1000);
  return {
    token,
    prepare: async () => {
      for (let k = 0; k < 2; k++) {
        const made = await call(base, 'POST', `/${username}/events`, token, { type: 'series:mass/kg', streamIds: ['parent0'] });
        holders.push({ id: made.json.event.id, next: 0 });
      }
    },
    make: (i) => {
      const holder = holders[i % 2]!;
      const from = start + holder.next;
      holder.next += 2 * n;
      const points = Array.from({ length: n }, (_, k) => [from + k, +(Math.random() * 100).toFixed(2)]);
      return call(base, 'POST', `/${username}/events/${holder.id}/series`, token, {
        format: 'flatJSON',
        fields: ['deltaTime', 'value'],
        points,
      });
    },
  };
}

const diff = (after: Map<string, number>, before: Map<string, number>) =>
  new Map([...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)] as [string, number]).filter(([, v]) => v > 0));

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  process.env.LOG_LEVEL = 'silent';
  const { startLocalRuntime } = await import('../../infra/local/runtime');
  const runtime = await startLocalRuntime({ port: 0, adminKey: 'req-admin-key' });
  try {
    const base = runtime.url;
    const { username, master } = await registerBenchUser(call, base, 'req');
    const leaves: string[] = [];
    for (let i = 0; i < 5; i++) {
      await call(base, 'POST', `/${username}/streams`, master, { id: `parent${i}`, name: `Parent ${i}` });
      for (let j = 0; j < 3; j++) {
        leaves.push(
          (
            await call(base, 'POST', `/${username}/streams`, master, {
              id: `leaf${i}-${j}`,
              name: `Leaf ${i} ${j}`,
              parentId: `parent${i}`,
            })
          ).json.stream.id,
        );
      }
    }
    const access = await call(base, 'POST', `/${username}/accesses`, master, {
      type: 'shared',
      name: 'req-restricted',
      permissions: leaves.slice(0, 10).map((streamId) => ({ streamId, level: 'contribute' })),
    });
    const restricted = access.json.access.token as string;
    await loop(200, (i) =>
      call(base, 'POST', `/${username}/events`, master, { type: 'note/txt', streamIds: [leaves[i % 10]], content: 'warm' }),
    );
    await sleep(2000);

    const idle0 = snapshot();
    const t0 = Date.now();
    await sleep(IDLE_S * 1000);
    const idle = diff(snapshot(), idle0);
    const idleSeconds = (Date.now() - t0) / 1000;
    const idleRequests = [...idle].filter(([n]) => !n.startsWith('(') && !n.startsWith('~')).reduce((a, [, v]) => a + v, 0);
    process.stdout.write(`idle: ${idleRequests / idleSeconds} requests/s\n\n`);

    const reads = SHAPES.some((s) => s.startsWith('get-'));
    if (reads) {
      // Around the restricted leaves as in the reference tool's account: the other streams hold most events.
      await loop(2000, (i) =>
        call(base, 'POST', `/${username}/events`, master, {
          type: 'note/txt',
          streamIds: [i % 5 === 0 ? leaves[i % 10] : leaves[10 + (i % 5)]],
          content: `seed ${i}`,
          time: Date.now() / 1000 - (i % 40) * 86_400,
        }),
      );
      // Kept answers are checked against the changes of the margin before them: the seeding's
      // thousands would overflow every check until they are older than that.
      await sleep((CHANGE_MARGIN_S + 1) * 1000);
    }
    const seedTime = Date.now() / 1000;
    const range = `fromTime=${seedTime - 30 * 86_400}&toTime=${seedTime}&limit=100`;
    const shapes: Record<string, Shape> = {
      'create-master': {
        token: master,
        make: (i) =>
          call(base, 'POST', `/${username}/events`, master, { type: 'note/txt', streamIds: [leaves[i % 10]], content: `c ${i}` }),
      },
      'create-restricted': {
        token: restricted,
        make: (i) =>
          call(base, 'POST', `/${username}/events`, restricted, { type: 'note/txt', streamIds: [leaves[i % 10]], content: `c ${i}` }),
      },
      'series-tool-1000': seriesTool(base, username, master, 1000),
      'get-range-restricted': { token: restricted, make: () => call(base, 'GET', `/${username}/events?${range}`, restricted) },
      'get-range-master': { token: master, make: () => call(base, 'GET', `/${username}/events?${range}`, master) },
      'get-parent': { token: master, make: () => call(base, 'GET', `/${username}/events?streams[]=parent0&limit=100`, master) },
      'get-newest': { token: master, make: () => call(base, 'GET', `/${username}/events?limit=100`, master) },
    };
    for (const name of SHAPES.filter((n) => n.startsWith('series-tool-'))) await shapes[name]!.prepare?.();
    const runs = SHAPES.flatMap((name) =>
      name.startsWith('get-')
        ? [
            { name: `${name}, EVENTS_ANSWER_CACHE=off`, shape: shapes[name]!, cache: 'off' },
            { name: `${name}, EVENTS_ANSWER_CACHE=on`, shape: shapes[name]!, cache: 'on' },
          ]
        : [{ name, shape: shapes[name]!, cache: 'on' }],
    );
    for (const { name, shape, cache } of runs) {
      process.env.EVENTS_ANSWER_CACHE = cache;
      const before = snapshot();
      const start = Date.now();
      await loop(CALLS, shape.make);
      const seconds = (Date.now() - start) / 1000;
      const during = diff(snapshot(), before);
      const idleShare = new Map([...idle].map(([k, v]) => [k, (v / idleSeconds) * seconds] as [string, number]));
      process.stdout.write(
        `${table(`${name}: ${CALLS} calls in ${seconds.toFixed(1)} s, concurrency ${CONCURRENCY}, load ${loadavg()[0]!.toFixed(1)}`, during, idleShare, CALLS)}\n`,
      );
      await sleep(2000);
    }
  } finally {
    call.close();
    await runtime.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
