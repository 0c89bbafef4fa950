/**
 * `npm run bench`: what each data-API call costs at 1,000 and at 100,000 events.
 *
 * For each size it seeds one account (a tree of 50 streams, events one minute apart
 * spread over them, some period events), then calls the API over HTTP through the local
 * runtime and records, per call, the DynamoDB requests and consumed capacity units
 * (ReturnConsumedCapacity on every request) and the warm latency. Goal (issue 3): every
 * read at 100 k costs within 1.2× of the same read at 1 k.
 *
 * Options: BENCH_SIZES=1000,100000 (default), BENCH_RUNS=15 (latency samples per call).
 */
import { startLocalRuntime } from '../../infra/local/runtime';
import { dynamo } from '../../shared/store/clients';
import { batchPut } from '../../shared/store/batch';
import { newEventItems } from '../../shared/store/events/items';
import { raiseMaxDuration } from '../../shared/store/streams';
import { createStream } from '../../shared/store/streams';
import { StreamTree } from '../../shared/domain/streams/tree';
import { placementFor } from '../../shared/domain/events/write-checks';
import { newId } from '../../shared/ids';
import type { StoredStream } from '../../shared/model/streams';
import type { StoredEvent } from '../../shared/model/events';

const SIZES = (process.env.BENCH_SIZES ?? '1000,100000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const SEED_CONCURRENCY = 8;
const MINUTE = 60;
const T0 = 1_700_000_000;

interface Meter {
  requests: number;
  capacity: number;
}
const meter: Meter = { requests: 0, capacity: 0 };

/** Counts every DynamoDB request made in this process (the handlers run in it) and its capacity. */
function instrument(): void {
  dynamo().middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as Record<string, unknown>;
      input.ReturnConsumedCapacity = 'TOTAL';
      const out = await next(args);
      meter.requests++;
      const consumed = (out.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
      for (const c of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
        meter.capacity += (c as { CapacityUnits?: number }).CapacityUnits ?? 0;
      }
      return out;
    },
    { step: 'initialize', name: 'benchCapacityMeter', priority: 'high' },
  );
}

async function seed(username: string, count: number): Promise<{ roots: string[]; leaves: string[]; tree: StreamTree }> {
  const now = Date.now() / 1000;
  const streams: StoredStream[] = [];
  const add = (id: string, parentId: string | null) =>
    streams.push({ id, name: id, parentId, created: now, createdBy: 'bench', modified: now, modifiedBy: 'bench' });
  const roots: string[] = [];
  for (let r = 0; r < 5; r++) {
    const root = `root-${r}`;
    roots.push(root);
    add(root, null);
    for (let c = 0; c < 3; c++) {
      const child = `${root}-c${c}`;
      add(child, root);
      for (let g = 0; g < 2; g++) add(`${child}-g${g}`, child);
    }
  }
  for (const s of streams) await createStream(username, s);
  const tree = new StreamTree(streams);
  const ids = streams.map((s) => s.id);
  const leaves = ids.filter((id) => tree.children(id).length === 0);
  // Bulk load: the same items events.create writes, through BatchWriteItem (no transaction).
  const BATCH_EVENTS = 100;
  let next = 0;
  const worker = async () => {
    for (;;) {
      const start = next;
      next += BATCH_EVENTS;
      if (start >= count) return;
      const items: Array<Record<string, unknown>> = [];
      for (let i = start; i < Math.min(count, start + BATCH_EVENTS); i++) {
        const streamIds = [ids[i % ids.length]!];
        const event: StoredEvent = {
          id: newId(),
          streamIds,
          time: T0 + i * MINUTE,
          type: i % 10 === 0 ? 'activity/plain' : 'mass/kg',
          created: now,
          createdBy: 'bench',
          modified: now,
          modifiedBy: 'bench',
        };
        if (i % 10 === 0) event.duration = 30 * MINUTE;
        else event.content = 60 + (i % 40);
        items.push(...newEventItems(username, event, placementFor(tree, streamIds)));
      }
      await batchPut(items);
      if (Math.floor(start / 10_000) !== Math.floor((start + BATCH_EVENTS) / 10_000)) process.stderr.write(`  seeded ${start + BATCH_EVENTS}\n`);
    }
  };
  await raiseMaxDuration(username, 30 * MINUTE);
  await Promise.all(Array.from({ length: SEED_CONCURRENCY }, worker));
  return { roots, leaves, tree };
}

interface Measure {
  requests: number;
  capacity: number;
  p50ms: number;
  count: number;
}

async function measure(fn: () => Promise<number>): Promise<Measure> {
  await fn(); // warm
  const before = { ...meter };
  const count = await fn();
  const cost = { requests: meter.requests - before.requests, capacity: meter.capacity - before.capacity };
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { ...cost, p50ms: times[Math.floor(times.length / 2)]!, count };
}

async function main(): Promise<void> {
  process.env.LOG_LEVEL = 'silent';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const runtime = await startLocalRuntime({ port: 0 });
  instrument();
  const results: Record<string, Record<number, Measure>> = {};
  try {
    for (const size of SIZES) {
      const username = `bench-${size}-${Math.random().toString(36).slice(2, 7)}`;
      const reg = await fetch(`${runtime.url}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password: 'bench-password', email: `${username}@example.com`, appId: 'bench-app' }),
      });
      const token = new URL(((await reg.json()) as { apiEndpoint: string }).apiEndpoint).username;
      const started = Date.now();
      process.stderr.write(`seeding ${size} events…\n`);
      const { roots } = await seed(username, size);
      process.stderr.write(`  done in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);

      const api = async (verb: string, path: string, body?: unknown) => {
        const res = await fetch(`${runtime.url}/${username}${path}`, {
          method: verb,
          headers: { authorization: token, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const json = (await res.json()) as Record<string, unknown>;
        if (res.status >= 400) throw new Error(`${verb} ${path}: ${res.status} ${JSON.stringify(json)}`);
        return json;
      };
      const events = async (query: string) => ((await api('GET', `/events?${query}`)).events as unknown[]).length;
      const lastTime = T0 + (size - 1) * MINUTE;
      const from = lastTime - 150 * MINUTE;
      const to = from + 99 * MINUTE;
      const anchor = Date.now() / 1000;
      const newest = (await api('GET', '/events?limit=10')).events as Array<{ id: string }>;
      for (const e of newest) await api('PUT', `/events/${e.id}`, { description: 'changed' });

      const calls: Array<[string, () => Promise<number>]> = [
        ['events.get newest 20', () => events('')],
        ['events.get stream subtree (10 streams), newest 20', () => events(`streams=${roots[1]}`)],
        ['events.get time range (100 events)', () => events(`fromTime=${from}&toTime=${to}`)],
        ['events.get modifiedSince (10 changes)', () => events(`modifiedSince=${anchor}&limit=1000`)],
        [
          'events.create',
          async () => {
            await api('POST', '/events', { streamIds: [`${roots[2]}-c1-g0`], type: 'mass/kg', content: 72 });
            return 1;
          },
        ],
        ['streams.get', async () => ((await api('GET', '/streams')).streams as unknown[]).length],
      ];
      for (const [name, fn] of calls) {
        results[name] ??= {};
        results[name][size] = await measure(fn);
      }
    }
  } finally {
    await runtime.stop();
  }

  const [small, large] = [SIZES[0]!, SIZES[SIZES.length - 1]!];
  const lines = [
    `| call | items | requests @${small} | RCU/WCU @${small} | requests @${large} | RCU/WCU @${large} | ratio | p50 ms @${small} | p50 ms @${large} |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [name, bySize] of Object.entries(results)) {
    const a = bySize[small]!;
    const b = bySize[large]!;
    const ratio = a.capacity > 0 ? (b.capacity / a.capacity).toFixed(2) : 'n/a';
    lines.push(
      `| ${name} | ${b.count} | ${a.requests} | ${a.capacity.toFixed(1)} | ${b.requests} | ${b.capacity.toFixed(1)} | ${ratio} | ${a.p50ms.toFixed(1)} | ${b.p50ms.toFixed(1)} |`,
    );
  }
  console.log(lines.join('\n'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
