/**
 * `npm run bench`: what each API call costs, per call shape, token and account shape.
 *
 * Starts the local runtime in this process, seeds accounts shaped like the reference
 * server's benchmark tool (70 streams, most of them flat roots, a few trees up to four
 * levels; a shared access on 10 leaf streams; events over the last year), then calls the
 * API over HTTP through the local gateway and records, for every call:
 *   - its DynamoDB requests, with consumed capacity (ReturnConsumedCapacity on each), items
 *     read (Query ScannedCount, GetItem/BatchGet items) and items written (meter.ts);
 *   - the items its answer holds, hence items read per item returned;
 *   - the CPU time of this process during the call (process.cpuUsage), minus the idle
 *     background rate (webhook worker polling) times the call's duration. DynamoDB Local
 *     (a JVM child) and s3rver's own work are not in it; the bench's HTTP client and the
 *     local gateway are: the `floor` row (a call that reaches no handler code) shows them;
 *   - its latency (p50 over the measured calls).
 * CPU is shown as the median over the measured calls (other work on the machine shows as
 * outliers) and the mean (which carries the garbage collections).
 * Stream writes add streams as they are measured (about 40 per account and stream count),
 * after the reads of that count.
 * The stream consumer (change fan-out) is stopped: in AWS it is another Lambda, and here
 * it would charge its work to whatever call runs next.
 *
 * Each account is measured at 70 streams, then grown (roots, one in ten nested; no events
 * in them) to each further count of BENCH_STREAMS and measured again: same events, only
 * the tree's size differs. Output: markdown tables on stdout, and JSON + markdown under
 * test-artifacts/bench/.
 *
 * Options (environment):
 *   BENCH_SIZES=1000,100000   events per account (one account per size)
 *   BENCH_STREAMS=70,1000     stream counts to measure each account at (first must be 70)
 *   BENCH_RUNS=15             measured calls per shape (after BENCH_WARMUP=4 unmeasured, and once
 *                             BENCH_JIT_WARMUP=30 calls of every shape on a throw-away account)
 *   BENCH_QUICK=1             smoke run (about a minute): 1,000 events, 70 and 300 streams, 2 runs
 *   BENCH_SERIES=0 / only     skip the HF series shapes / measure only them
 *   BENCH_SERIES_POINTS=100000  points of the holder the series reads read (10,000 when quick)
 *   BENCH_ALTERNATE=1         one account per stream count (seeded alike, each grown to its count
 *                             before any measure), every shape's calls alternating between them
 *                             (order swapped each call), with both tokens: the stream counts and
 *                             tokens compared under the same load and after the same writes, not
 *                             one phase after the other
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLocalRuntime } from '../../infra/local/runtime';
import { SETTLED_AFTER_MS } from '../../shared/store/series/chunks';
import { attributeGatewayRequests, CALL_HEADER, instrument, type RequestRecord, takeCall } from './meter';
import { growTree, type SeededAccount, seedAccount } from './seed';

const QUICK = process.env.BENCH_QUICK === '1';
const list = (value: string) => value.split(',').map((v) => Number(v.trim()));
const SIZES = list(process.env.BENCH_SIZES ?? (QUICK ? '1000' : '1000,100000'));
const STREAM_COUNTS = list(process.env.BENCH_STREAMS ?? (QUICK ? '70,300' : '70,1000'));
const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 2 : 15));
const WARMUP = Number(process.env.BENCH_WARMUP ?? (QUICK ? 1 : 4));
/** Calls of every shape on a throw-away account before any measurement, so the JIT has settled. */
const JIT_WARMUP = Number(process.env.BENCH_JIT_WARMUP ?? (QUICK ? 2 : 30));
const ALTERNATE = process.env.BENCH_ALTERNATE === '1';
const DAY = 24 * 3600;
const LIMIT = 100; // the reference tool's page for its events.get scenarios

if (STREAM_COUNTS[0] !== 70 || STREAM_COUNTS.some((n, i) => !(n >= (STREAM_COUNTS[i - 1] ?? 0)))) {
  throw new Error('BENCH_STREAMS: ascending counts starting at 70 (the seeded tree), e.g. 70,1000');
}
if (SIZES.some((n) => !Number.isInteger(n) || n < 100) || !(RUNS >= 1)) throw new Error('BENCH_SIZES: integers ≥ 100; BENCH_RUNS ≥ 1');

interface CallOutcome {
  status: number;
  json: Record<string, unknown>;
  ms: number;
  cpuMs: number;
  requests: RequestRecord[];
}

/** One measured call shape: `run(i)` makes the i-th call and says how many items its answer holds. */
interface Shape {
  name: string;
  token: 'master' | 'restricted' | '-';
  run: (i: number) => Promise<{ outcome: CallOutcome; returned: number }>;
  runs?: number;
}

interface Row {
  name: string;
  token: string;
  calls: number;
  returned: number;
  requests: number;
  rcu: number;
  wcu: number;
  itemsRead: number;
  itemsWritten: number;
  /** Items read per item returned (reads), over all measured calls. */
  readPerReturned: number | null;
  /** CPU ms per call: median, and mean (which carries the garbage collections). */
  cpuMs: number;
  cpuMeanMs: number;
  p50ms: number;
  /** The last measured call's requests, grouped by label. */
  requestList: Array<{ label: string; count: number; rcu: number; wcu: number; itemsRead: number; itemsWritten: number }>;
}

interface Phase {
  /** A heading other than `{events} events, {streams} streams` (the HF series phase). */
  title?: string;
  events: number;
  streams: number;
  /** Background CPU ms per second of this process while idle, subtracted from each call. */
  idleCpuMsPerS: number;
  rows: Row[];
}

let idleCpuPerMs = 0; // background CPU ms per wall ms, measured with nothing to do
let callSeq = 0;

async function callApi(base: string, verb: string, path: string, token: string, body?: unknown): Promise<CallOutcome> {
  const id = `c${++callSeq}`;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const res = await fetch(`${base}${path}`, {
    method: verb,
    headers: { authorization: token, 'content-type': 'application/json', [CALL_HEADER]: id },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { status: res.status, json, ms, cpuMs: (cpu.user + cpu.system) / 1000 - idleCpuPerMs * ms, requests: takeCall(id) };
}

function ok(o: CallOutcome, what: string): CallOutcome {
  if (o.status >= 400) throw new Error(`${what}: ${o.status} ${JSON.stringify(o.json).slice(0, 300)}`);
  return o;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function measure(shape: Shape): Promise<Row> {
  return (await measureAlternately([shape]))[0]!;
}

/**
 * Rows of the same shape on several accounts, their calls taken in turn (the order swapped
 * every call, so that neither side is always the one after the other's call): what differs
 * between them is the account, not the load of the moment.
 */
async function measureAlternately(same: Shape[]): Promise<Row[]> {
  const runs = same[0]!.runs ?? RUNS;
  let i = 0;
  for (let w = 0; w < WARMUP; w++, i++) for (const shape of same) await shape.run(i);
  const results: Array<Array<{ outcome: CallOutcome; returned: number }>> = same.map(() => []);
  for (let r = 0; r < runs; r++, i++) {
    const order = same.map((_, k) => k);
    if (r % 2 === 1) order.reverse();
    for (const k of order) results[k]!.push(await same[k]!.run(i));
  }
  return same.map((shape, k) => row(shape, runs, results[k]!));
}

function row(shape: Shape, runs: number, results: Array<{ outcome: CallOutcome; returned: number }>): Row {
  const sum = (f: (x: { outcome: CallOutcome; returned: number }) => number) => results.reduce((s, x) => s + f(x), 0);
  const reqSum = (f: (r: RequestRecord) => number) => sum((x) => x.outcome.requests.reduce((s, r) => s + f(r), 0));
  const returned = sum((x) => x.returned);
  const itemsRead = reqSum((r) => r.itemsRead);
  const last = results[results.length - 1]!.outcome.requests;
  const grouped = new Map<string, Row['requestList'][number]>();
  for (const r of last) {
    const g = grouped.get(r.label) ?? { label: r.label, count: 0, rcu: 0, wcu: 0, itemsRead: 0, itemsWritten: 0 };
    g.count++;
    g.rcu += r.rcu;
    g.wcu += r.wcu;
    g.itemsRead += r.itemsRead;
    g.itemsWritten += r.itemsWritten;
    grouped.set(r.label, g);
  }
  const reads = shape.name.startsWith('events.get') || shape.name.startsWith('streams.get');
  return {
    name: shape.name,
    token: shape.token,
    calls: runs,
    returned: returned / runs,
    requests: reqSum(() => 1) / runs,
    rcu: reqSum((r) => r.rcu) / runs,
    wcu: reqSum((r) => r.wcu) / runs,
    itemsRead: itemsRead / runs,
    itemsWritten: reqSum((r) => r.itemsWritten) / runs,
    readPerReturned: reads && returned > 0 ? itemsRead / returned : null,
    cpuMs: median(results.map((x) => x.outcome.cpuMs)),
    cpuMeanMs: sum((x) => x.outcome.cpuMs) / runs,
    p50ms: median(results.map((x) => x.outcome.ms)),
    requestList: [...grouped.values()],
  };
}

interface Account {
  username: string;
  master: string;
  restricted: string;
  seeded: SeededAccount;
}

async function createAccount(base: string, events: number): Promise<Account> {
  const username = `bench${events}x${Math.random().toString(36).slice(2, 7)}`;
  const reg = await fetch(`${base}/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'bench-password', email: `${username}@example.com`, appId: 'bench-app' }),
  });
  if (reg.status >= 400) throw new Error(`registration: ${reg.status} ${await reg.text()}`);
  const master = new URL(((await reg.json()) as { apiEndpoint: string }).apiEndpoint).username;
  const started = Date.now();
  process.stderr.write(`seeding ${events} events…\n`);
  const seeded = await seedAccount(username, events);
  process.stderr.write(`  done in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  const access = ok(
    await callApi(base, 'POST', `/${username}/accesses`, master, {
      type: 'shared',
      name: 'bench-restricted',
      permissions: seeded.restricted.map((streamId) => ({ streamId, level: 'contribute' })),
    }),
    'accesses.create',
  );
  const restricted = (access.json.access as { token: string }).token;
  return { username, master, restricted, seeded };
}

/** Changes 20 events after `anchor`: 10 the restricted token can read, 10 it cannot. */
async function changeSome(base: string, a: Account): Promise<number> {
  const anchor = Date.now() / 1000;
  await new Promise((r) => setTimeout(r, 20));
  const readable = ok(await callApi(base, 'GET', `/${a.username}/events?limit=10`, a.restricted), 'events.get').json.events as Array<{
    id: string;
  }>;
  const hidden = ok(await callApi(base, 'GET', `/${a.username}/events?limit=10&streams[]=${a.seeded.others[0]}`, a.master), 'events.get')
    .json.events as Array<{ id: string }>;
  for (const e of [...readable, ...hidden])
    ok(await callApi(base, 'PUT', `/${a.username}/events/${e.id}`, a.master, { description: 'changed' }), 'events.update');
  return anchor;
}

function shapes(base: string, a: Account, tag: string, anchor: number): Shape[] {
  const u = a.username;
  const s = a.seeded;
  const tokens = { master: a.master, restricted: a.restricted } as const;
  const count = (key: string) => (o: CallOutcome) => ({ outcome: o, returned: (o.json[key] as unknown[] | undefined)?.length ?? 0 });
  const countTree = (o: CallOutcome) => {
    let n = 0;
    const walk = (xs: Array<{ children?: unknown[] }>) => {
      for (const x of xs) {
        n++;
        walk((x.children ?? []) as Array<{ children?: unknown[] }>);
      }
    };
    walk((o.json.streams ?? []) as Array<{ children?: unknown[] }>);
    return { outcome: o, returned: n };
  };
  const get =
    (token: 'master' | 'restricted', query: string, key = 'events') =>
    async () =>
      count(key)(ok(await callApi(base, 'GET', `/${u}/${query}`, tokens[token]), query));
  const from = s.lastTime - 30 * DAY;
  const out: Shape[] = [];
  for (const token of ['master', 'restricted'] as const) {
    const parent = token === 'master' ? s.parents[0]! : s.restricted[0]!;
    out.push(
      { name: `events.get newest ${LIMIT}`, token, run: get(token, `events?limit=${LIMIT}`) },
      // Without a limit: Pryv's default page (20), what most apps' first read asks.
      { name: 'events.get newest (default limit 20)', token, run: get(token, 'events') },
      { name: `events.get stream parent, limit ${LIMIT}`, token, run: get(token, `events?streams[]=${parent}&limit=${LIMIT}`) },
      // A leaf both tokens can read (the restricted token's "stream parent" is a permitted leaf too,
      // as the access holds no parent): the same Query for both, so the ratio is the permission work.
      {
        name: `events.get one permitted stream, limit ${LIMIT}`,
        token,
        run: get(token, `events?streams[]=${s.restricted[1]!}&limit=${LIMIT}`),
      },
      {
        name: `events.get time range 30 d, limit ${LIMIT}`,
        token,
        run: get(token, `events?fromTime=${from}&toTime=${s.lastTime + DAY}&limit=${LIMIT}`),
      },
      { name: 'events.get modifiedSince (20 changes)', token, run: get(token, `events?modifiedSince=${anchor}&limit=${LIMIT}`) },
      // Content queries (seed.ts: every third event's content is 50 + i % 50, the others text):
      // no index serves them, so items read grow with how rare a match is.
      {
        name: `events.get content selective (1 in 150), limit ${LIMIT}`,
        token,
        run: get(token, `events?content=${encodeURIComponent(JSON.stringify([{ path: '$', eq: 50 }]))}&limit=${LIMIT}`),
      },
      {
        name: `events.get content unselective (1 in 3), limit ${LIMIT}`,
        token,
        run: get(token, `events?content=${encodeURIComponent(JSON.stringify([{ path: '$', gte: 0 }]))}&limit=${LIMIT}`),
      },
      {
        name: 'streams.get',
        token,
        run: async () => countTree(ok(await callApi(base, 'GET', `/${u}/streams`, tokens[token]), 'streams.get')),
      },
    );
  }
  const create = (token: 'master' | 'restricted', i: number) => {
    const targets = token === 'master' ? s.others : s.restricted;
    return callApi(base, 'POST', `/${u}/events`, tokens[token], {
      type: 'note/txt',
      streamIds: [targets[i % targets.length]!],
      content: `Bench ${tag} ${i}`,
    });
  };
  const streamCreate = (i: number, nested: boolean, kind: string) =>
    callApi(base, 'POST', `/${u}/streams`, a.master, {
      id: `b-${kind}-${tag}-${i}`,
      name: `Bench ${kind} ${tag} ${i}`,
      ...(nested ? { parentId: s.parents[i % s.parents.length] } : {}),
    });
  const rename = (i: number, kind: string) =>
    callApi(base, 'PUT', `/${u}/streams/${s.leaves[i % s.leaves.length]}`, a.master, { name: `Renamed ${kind} ${tag} ${i}` });
  for (const token of ['master', 'restricted'] as const) {
    out.push({ name: 'events.create', token, run: async (i) => ({ outcome: ok(await create(token, i), 'events.create'), returned: 1 }) });
  }
  out.push(
    {
      name: 'streams.create flat',
      token: 'master',
      run: async (i) => ({ outcome: ok(await streamCreate(i, false, 'flat'), 'streams.create'), returned: 1 }),
    },
    {
      name: 'streams.create nested',
      token: 'master',
      run: async (i) => ({ outcome: ok(await streamCreate(i, true, 'nested'), 'streams.create'), returned: 1 }),
    },
    {
      name: 'streams.update (rename)',
      token: 'master',
      run: async (i) => ({ outcome: ok(await rename(i, 'u'), 'streams.update'), returned: 1 }),
    },
    {
      // The reference tool's mix: 60 % events.get (50), 30 % events.create, 5 % streams.create, 5 % streams.update.
      name: 'mixed workload (per call)',
      token: 'master',
      runs: QUICK ? 20 : Math.max(20, Math.ceil(RUNS / 10) * 20),
      run: async (i) => {
        const slot = i % 20;
        if (slot < 12) return count('events')(ok(await callApi(base, 'GET', `/${u}/events?limit=50`, a.master), 'events.get'));
        if (slot < 18) return { outcome: ok(await create('master', i), 'events.create'), returned: 1 };
        if (slot === 18) return { outcome: ok(await streamCreate(i, false, 'mixed'), 'streams.create'), returned: 1 };
        return { outcome: ok(await rename(i, 'mixed'), 'streams.update'), returned: 1 };
      },
    },
  );
  return out;
}

/** HF series points per holder for the read shapes, and the write batch sizes (Pryv API reference §2.2.7). */
const SERIES_POINTS = Number(process.env.BENCH_SERIES_POINTS ?? (QUICK ? 10_000 : 100_000));
const SERIES_BATCHES = [10, 100, 1000];
const SERIES_STEP = 0.01; // seconds between points: 100 Hz

/**
 * HF series shapes: appends of 10, 100 and 1,000 points (each call the next points of its own
 * holder), and reads of 1 k, 10 k and all points out of one holder of SERIES_POINTS points
 * (the smaller ranges moving through it, so their cost shows it does not grow with the points
 * outside the range).
 */
async function seriesShapes(base: string, a: Account, tag: string): Promise<Shape[]> {
  const u = a.username;
  const holder = async () =>
    (
      ok(
        await callApi(base, 'POST', `/${u}/events`, a.master, {
          streamIds: [a.seeded.others[0]],
          type: 'series:mass/kg',
          time: 1_700_000_000,
        }),
        'events.create',
      ).json.event as { id: string }
    ).id;
  const rows = (from: number, n: number) =>
    Array.from({ length: n }, (_, k) => [(from + k) * SERIES_STEP, 60 + Math.sin((from + k) / 50) * 10]);
  const reads = await holder();
  process.stderr.write(`seeding a series of ${SERIES_POINTS} points…\n`);
  // The read shapes measure points at rest: chunks written within SETTLED_AFTER_MS are read
  // strongly consistent (twice the units), so they wait until the seed has settled.
  let settled: Promise<void> | undefined;
  const atRest = () => {
    settled ??= new Promise((resolve) => setTimeout(resolve, Math.max(0, seededAt + SETTLED_AFTER_MS + 1000 - Date.now())));
    return settled;
  };
  for (let i = 0; i < SERIES_POINTS; i += 1000) {
    ok(
      await callApi(base, 'POST', `/${u}/events/${reads}/series`, a.master, {
        format: 'flatJSON',
        fields: ['deltaTime', 'value'],
        points: rows(i, Math.min(1000, SERIES_POINTS - i)),
      }),
      'series.add',
    );
  }
  const seededAt = Date.now();
  const out: Shape[] = [];
  const readAll = async () => {
    const o = ok(await callApi(base, 'GET', `/${u}/events/${reads}/series?fromDeltaTime=0`, a.master), `series.get ${tag}`);
    return { outcome: o, returned: (o.json.points as unknown[]).length };
  };
  // First, while the seed's writes are recent: every chunk is read strongly consistent.
  out.push({
    name: `series.get ${SERIES_POINTS.toLocaleString('en')} points just written (within ${SETTLED_AFTER_MS / 1000} s)`,
    token: 'master',
    runs: Math.min(RUNS, 5),
    run: readAll,
  });
  for (const n of SERIES_BATCHES) {
    const writes = await holder();
    out.push({
      name: `series.add ${n} points (append)`,
      token: 'master',
      run: async (i) => ({
        outcome: ok(
          await callApi(base, 'POST', `/${u}/events/${writes}/series`, a.master, {
            format: 'flatJSON',
            fields: ['deltaTime', 'value'],
            points: rows(i * n, n),
          }),
          'series.add',
        ),
        returned: 0,
      }),
    });
  }
  for (const n of [1000, 10_000, SERIES_POINTS].filter((n, i, all) => n <= SERIES_POINTS && all.indexOf(n) === i)) {
    out.push({
      name: `series.get ${n.toLocaleString('en')} of ${SERIES_POINTS.toLocaleString('en')} points`,
      token: 'master',
      run: async (i) => {
        await atRest();
        const first = n === SERIES_POINTS ? 0 : ((i * 7919) % (SERIES_POINTS / n)) * n; // a different window each call
        const query = `fromDeltaTime=${first * SERIES_STEP}&toDeltaTime=${(first + n - 1) * SERIES_STEP + SERIES_STEP / 2}`;
        const o = ok(await callApi(base, 'GET', `/${u}/events/${reads}/series?${query}`, a.master), `series.get ${tag}`);
        return { outcome: o, returned: (o.json.points as unknown[]).length };
      },
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Output

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);

function phaseTable(p: Phase, floor: Row): string {
  const lines = [
    `#### ${p.title ?? `${p.events.toLocaleString('en')} events, ${p.streams.toLocaleString('en')} streams`}`,
    '',
    '| call | token | items returned | requests | RCU | WCU | items read | items written | read ÷ returned | CPU ms p50 | CPU ms mean | p50 ms |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of [...p.rows, floor]) {
    lines.push(
      `| ${r.name} | ${r.token} | ${f1(r.returned)} | ${f1(r.requests)} | ${f1(r.rcu)} | ${f1(r.wcu)} | ${f1(r.itemsRead)} | ${f1(r.itemsWritten)} | ${r.readPerReturned === null ? '–' : f2(r.readPerReturned)} | ${f2(r.cpuMs)} | ${f2(r.cpuMeanMs)} | ${f1(r.p50ms)} |`,
    );
  }
  return lines.join('\n');
}

function requestLists(p: Phase): string {
  const lines = [
    `#### DynamoDB requests of one call (${p.title ?? `${p.events.toLocaleString('en')} events, ${p.streams.toLocaleString('en')} streams`})`,
    '',
  ];
  lines.push('| call | token | request | × | RCU | WCU | items read | items written |', '|---|---|---|---:|---:|---:|---:|---:|');
  for (const r of p.rows) {
    if (r.name.startsWith('mixed')) continue;
    r.requestList.forEach((q, i) => {
      lines.push(
        `| ${i === 0 ? r.name : ''} | ${i === 0 ? r.token : ''} | \`${q.label}\` | ${q.count} | ${f1(q.rcu)} | ${f1(q.wcu)} | ${q.itemsRead} | ${q.itemsWritten} |`,
      );
    });
  }
  return lines.join('\n');
}

/** The issue's targets, from the rows: restricted vs master, 1,000 vs 70 streams, 100 k vs 1 k events. */
function comparisons(phases: Phase[]): string {
  if (phases.length === 0) return ''; // BENCH_SERIES=only
  const key = (r: Row) => `${r.name}\u0000${r.token}`;
  const find = (events: number, streams: number) => phases.find((p) => p.events === events && p.streams === streams);
  const lines: string[] = [];
  const firstSize = SIZES[0]!;
  const lastSize = SIZES[SIZES.length - 1]!;
  const small = STREAM_COUNTS[0]!;
  const big = STREAM_COUNTS[STREAM_COUNTS.length - 1]!;
  lines.push(
    '#### Restricted token ÷ master token (same read; target ≤ 1.2)',
    '',
    `| read | ${phases.map((p) => `CPU @${p.events / 1000}k/${p.streams}`).join(' | ')} | ${phases.map((p) => `items read @${p.events / 1000}k/${p.streams}`).join(' | ')} |`,
    `|---|${phases.map(() => '---:').join('|')}|${phases.map(() => '---:').join('|')}|`,
  );
  for (const r of phases[0]!.rows.filter(
    (x) => x.token === 'master' && (x.name.startsWith('events.get') || x.name.startsWith('events.create')),
  )) {
    const cells = (metric: (x: Row) => number) =>
      phases.map((p) => {
        const m = p.rows.find((x) => x.name === r.name && x.token === 'master')!;
        const q = p.rows.find((x) => x.name === r.name && x.token === 'restricted')!;
        return metric(m) > 0 ? f2(metric(q) / metric(m)) : '–';
      });
    lines.push(`| ${r.name} | ${cells((x) => x.cpuMs).join(' | ')} | ${cells((x) => x.itemsRead).join(' | ')} |`);
  }
  if (big !== small) {
    lines.push('', `#### ${big.toLocaleString('en')} streams ÷ ${small} streams (same account and events; target ≤ 1.2)`, '');
    lines.push(
      `| call | token | ${SIZES.map((n) => `CPU @${n / 1000}k`).join(' | ')} | ${SIZES.map((n) => `RCU @${n / 1000}k`).join(' | ')} |`,
    );
    lines.push(`|---|---|${SIZES.map(() => '---:').join('|')}|${SIZES.map(() => '---:').join('|')}|`);
    for (const r of find(firstSize, small)!.rows) {
      const cells = (metric: (x: Row) => number) =>
        SIZES.map((n) => {
          const a = find(n, small)?.rows.find((x) => key(x) === key(r));
          const b = find(n, big)?.rows.find((x) => key(x) === key(r));
          return a && b && metric(a) > 0 ? f2(metric(b) / metric(a)) : '–';
        });
      lines.push(`| ${r.name} | ${r.token} | ${cells((x) => x.cpuMs).join(' | ')} | ${cells((x) => x.rcu).join(' | ')} |`);
    }
  }
  if (lastSize !== firstSize) {
    lines.push(
      '',
      `#### ${lastSize.toLocaleString('en')} events ÷ ${firstSize.toLocaleString('en')} events (same shape; target ≤ 1.2)`,
      '',
    );
    lines.push(
      `| call | token | ${STREAM_COUNTS.map((n) => `RCU @${n} streams`).join(' | ')} | ${STREAM_COUNTS.map((n) => `CPU @${n} streams`).join(' | ')} |`,
    );
    lines.push(`|---|---|${STREAM_COUNTS.map(() => '---:').join('|')}|${STREAM_COUNTS.map(() => '---:').join('|')}|`);
    for (const r of find(firstSize, small)!.rows) {
      const cells = (metric: (x: Row) => number) =>
        STREAM_COUNTS.map((n) => {
          const a = find(firstSize, n)?.rows.find((x) => key(x) === key(r));
          const b = find(lastSize, n)?.rows.find((x) => key(x) === key(r));
          return a && b && metric(a) > 0 ? f2(metric(b) / metric(a)) : '–';
        });
      lines.push(`| ${r.name} | ${r.token} | ${cells((x) => x.rcu).join(' | ')} | ${cells((x) => x.cpuMs).join(' | ')} |`);
    }
  }
  return lines.join('\n');
}

/** This process's CPU ms per wall ms over `ms`. */
async function cpuRate(ms: number): Promise<number> {
  const from = process.cpuUsage();
  const t = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1000 / (performance.now() - t);
}

/**
 * Waits until the background work in this process settles, and returns its idle rate: the
 * export worker (a second reader of the table's stream, which the runtime keeps running)
 * reads every record the seeding wrote, hundreds of thousands at 100 k events. What stays
 * (the webhook worker's and export worker's polling) is subtracted from every call's CPU.
 */
async function quiet(): Promise<number> {
  const deadline = Date.now() + 10 * 60_000;
  let rate = await cpuRate(1000);
  while (Date.now() < deadline) {
    const next = await cpuRate(1000);
    if (next < 0.08 && Math.abs(next - rate) < 0.02) break;
    rate = next;
  }
  return cpuRate(QUICK ? 1000 : 3000);
}

async function main(): Promise<void> {
  process.env.LOG_LEVEL = 'silent';
  // The bench measures what each read plan costs: repeated reads would be answered from the
  // answers kept (shared/domain/events/answer-cache.ts) unless BENCH_ANSWER_CACHE=on asks for that.
  process.env.EVENTS_ANSWER_CACHE = process.env.BENCH_ANSWER_CACHE === 'on' ? 'on' : 'off';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const started = Date.now();
  const runtime = await startLocalRuntime({ port: 0 });
  const phases: Phase[] = [];
  let seriesPhase: Phase | undefined; // apart from `phases`: the comparisons are between event phases
  let floor: Row | undefined;
  try {
    await runtime.streamConsumer.stop();
    instrument();
    attributeGatewayRequests(runtime.gateway.server);
    const base = runtime.url;
    const floorShape: Shape = {
      name: 'floor: unrouted path (client + gateway, no handler work)',
      token: '-',
      run: async () => ({ outcome: await callApi(base, 'GET', '/bench/no/such/route/here', ''), returned: 0 }),
    };
    const seriesOnly = process.env.BENCH_SERIES === 'only';
    if (JIT_WARMUP > 0 && !seriesOnly) {
      process.stderr.write(`warming up (${JIT_WARMUP} calls per shape)…\n`);
      const scratch = await createAccount(base, 500);
      const anchor = await changeSome(base, scratch);
      for (const shape of shapes(base, scratch, 'warm', anchor)) for (let i = 0; i < JIT_WARMUP; i++) await shape.run(i);
    }

    for (const events of seriesOnly || !ALTERNATE ? [] : SIZES) {
      const accounts: Account[] = [];
      for (const streams of STREAM_COUNTS) {
        const account = await createAccount(base, events);
        if (streams > account.seeded.streams.length) await growTree(account.username, account.seeded, streams);
        accounts.push(account);
      }
      const lists: Shape[][] = [];
      for (const [k, account] of accounts.entries()) {
        lists.push(shapes(base, account, `${events}-${STREAM_COUNTS[k]}`, await changeSome(base, account)));
      }
      idleCpuPerMs = await quiet();
      floor ??= await measure(floorShape);
      process.stderr.write(`measuring ${events} events at ${STREAM_COUNTS.join(' and ')} streams, alternately…\n`);
      // A shape's calls on every account and with both tokens taken in turn: the restricted ÷
      // master and stream-count ratios come from calls made under the same load.
      const rows: Row[][] = lists.map((l) => new Array<Row>(l.length));
      const names = [...new Set(lists[0]!.map((x) => x.name))];
      for (const name of names) {
        const group = lists.flatMap((l, k) => l.flatMap((x, j) => (x.name === name ? [{ k, j, x }] : [])));
        const measured = await measureAlternately(group.map((g) => g.x));
        group.forEach((g, n) => {
          rows[g.k]![g.j] = measured[n]!;
        });
      }
      for (const [k, streams] of STREAM_COUNTS.entries()) {
        phases.push({ events, streams, idleCpuMsPerS: idleCpuPerMs * 1000, rows: rows[k]! });
        process.stdout.write(`${phaseTable(phases[phases.length - 1]!, floor)}\n\n`);
      }
    }
    for (const events of seriesOnly || ALTERNATE ? [] : SIZES) {
      const account = await createAccount(base, events);
      for (const streams of STREAM_COUNTS) {
        if (streams > account.seeded.streams.length) {
          const t = Date.now();
          await growTree(account.username, account.seeded, streams);
          process.stderr.write(`grew the tree to ${streams} streams in ${((Date.now() - t) / 1000).toFixed(0)} s\n`);
        }
        const anchor = await changeSome(base, account);
        idleCpuPerMs = await quiet();
        floor ??= await measure(floorShape);
        process.stderr.write(`measuring ${events} events, ${streams} streams (idle ${f1(idleCpuPerMs * 1000)} ms/s)…\n`);
        const rows: Row[] = [];
        for (const shape of shapes(base, account, `${events}-${streams}`, anchor)) rows.push(await measure(shape));
        phases.push({ events, streams, idleCpuMsPerS: idleCpuPerMs * 1000, rows });
        process.stdout.write(`${phaseTable(phases[phases.length - 1]!, floor)}\n\n`);
      }
    }
    if (process.env.BENCH_SERIES !== '0') {
      const account = await createAccount(base, 100);
      const series = await seriesShapes(base, account, 'series');
      idleCpuPerMs = await quiet();
      floor ??= await measure(floorShape);
      process.stderr.write('measuring HF series…\n');
      const rows: Row[] = [];
      for (const shape of series) rows.push(await measure(shape));
      seriesPhase = {
        title: `HF series (${SERIES_POINTS.toLocaleString('en')}-point holder)`,
        events: 100,
        streams: 70,
        idleCpuMsPerS: idleCpuPerMs * 1000,
        rows,
      };
      process.stdout.write(`${phaseTable(seriesPhase, floor!)}\n\n`);
    }
  } finally {
    await runtime.stop();
  }

  const header = [
    `### npm run bench — ${new Date().toISOString().slice(0, 10)}`,
    '',
    `Sizes ${SIZES.join(', ')} events; streams ${STREAM_COUNTS.join(', ')}; ${RUNS} measured calls per shape after ${WARMUP} warm-up` +
      ` (mixed workload: 20-call cycles). Idle background CPU subtracted: ${phases.map((p) => f1(p.idleCpuMsPerS)).join(', ')} ms per s. Total ${((Date.now() - started) / 1000).toFixed(0)} s.`,
  ].join('\n');
  const all = seriesPhase ? [...phases, seriesPhase] : phases;
  const md = [header, ...all.map((p) => phaseTable(p, floor!)), comparisons(phases), ...all.map(requestLists)].join('\n\n');
  const dir = join(process.cwd(), 'test-artifacts', 'bench');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  writeFileSync(join(dir, `bench-${stamp}.md`), `${md}\n`);
  writeFileSync(
    join(dir, `bench-${stamp}.json`),
    `${JSON.stringify({ date: new Date().toISOString(), sizes: SIZES, streams: STREAM_COUNTS, runs: RUNS, warmup: WARMUP, floor, phases, series: seriesPhase }, null, 2)}\n`,
  );
  process.stdout.write(
    `${comparisons(phases)}\n\n${all.map(requestLists).join('\n\n')}\n\nwritten: test-artifacts/bench/bench-${stamp}.{md,json}\n`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
