/**
 * Server CPU per call of a loop of one call shape, the way the side by side counts it: the
 * local runtime (`infra/local/start.ts --in-memory`) in a process of its own, its CPU time
 * (user + system, from /proc, without the DynamoDB Local JVM) over the calls, divided by
 * the calls. Several source trees (the repository and copies of older commits) can be
 * measured alternately in one run, each with its own server, all started before the first
 * measure and all idle but the one measured.
 *
 *   npx tsx test/bench/call-loop.ts [tree…]        (default: this repository)
 *   LOOP_SHAPES=create,create-restricted,get-parent,get-newest,get-range-restricted  LOOP_CALLS=1500  LOOP_ROUNDS=3  LOOP_CONCURRENCY=10
 *   get-range-restricted asks a new range each call (it ends at the call's time): a first read
 *   every time; get-range-restricted-fixed and get-range-master-fixed ask the same range every
 *   call, as the reference tool does (repeated reads: kept answers, checked against changes)
 *   HF series shapes: series-add-10, series-add-100, series-add-1000 (appends of that many points
 *   to a holder of the shape's own, the next times each call), series-get-10000 (a window of
 *   10,000 points out of a holder seeded with 100,000 when the shape is asked for);
 *   series-tool-1000 writes as the reference tool's series-write-batch1000 does
 *   (open-pryv/tools/performance/scenarios/series-write.js): two holders taken in turn,
 *   `deltaTime` whole epoch seconds from now on (call k: now + k × 1000 + i), values random with
 *   two decimals
 *
 * Beside each figure, the CPU per call of the server's DynamoDB Local JVM (all its threads, from
 * /proc of the `java` process under the server's process tree) over the same window.
 * `LOOP_ENV_<i>='NAME=value'` sets one environment variable for the i-th tree's server only
 * (0-based), e.g. `LOOP_ENV_1='DYNAMODB_JVM_OPTIONS=-XX:+UseSerialGC'` with the same tree twice
 * to compare JVM options.
 *
 * Every server gets the same account: 20 root streams and 5 parents of 3 children each, a shared
 * access on 10 of the leaves (contribute), 2,000 events. The idle rate of each server (its
 * background polling) is measured before the calls and printed beside the figures, not
 * subtracted (the side by side does not subtract it either).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { freePorts } from '../../infra/local/ports';
import { keepAliveClient, registerBenchUser } from './keepalive-client';
import { descendants, readProcs } from './procs';

const TREES = process.argv.slice(2).length > 0 ? process.argv.slice(2).map((t) => resolve(t)) : [process.cwd()];
const SHAPES = (process.env.LOOP_SHAPES ?? 'create,create-restricted,get-parent,get-newest').split(',');
const CALLS = Number(process.env.LOOP_CALLS ?? 1500);
const ROUNDS = Number(process.env.LOOP_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.LOOP_CONCURRENCY ?? 10);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TICK_MS = 1000 / 100; // USER_HZ

function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** The `java` process under `root` in the process tree (the runtime's DynamoDB Local). */
function jvmUnder(root: number): number | undefined {
  const procs = readProcs();
  for (const pid of descendants([root], procs)) if (pid !== root && procs.get(pid)?.comm === 'java') return pid;
  return undefined;
}

function jvmCpuMs(s: Server): number {
  s.jvm ??= jvmUnder(s.process.pid!);
  if (s.jvm === undefined) throw new Error(`no DynamoDB Local JVM under the server of ${s.tree}`);
  return cpuMsOf(s.jvm);
}

const call = keepAliveClient(CONCURRENCY * 2);

interface Server {
  tree: string;
  base: string;
  process: ChildProcess;
  username: string;
  master: string;
  restricted: string;
  leaves: string[];
  parents: string[];
  roots: string[];
  /** When the seeding ended (Unix seconds): the fixed 30-day range ends there, as the reference tool's. */
  seedTime?: number;
  /** Its DynamoDB Local JVM (found on first use). */
  jvm?: number;
  /** HF series holders by shape, and the next point index of each (appends continue across loops). */
  series: Map<string, { id: string; next: number }>;
}

async function startServer(tree: string, index: number): Promise<Server> {
  const [port, dynamoPort] = await freePorts(2);
  const own = process.env[`LOOP_ENV_${index}`];
  const ownEnv = own ? { [own.slice(0, own.indexOf('='))]: own.slice(own.indexOf('=') + 1) } : {};
  const child = spawn(process.execPath, ['--import', 'tsx', 'infra/local/start.ts', '--in-memory'], {
    cwd: tree,
    env: {
      ...process.env,
      ...ownEnv,
      PORT: String(port),
      DYNAMODB_PORT: String(dynamoPort),
      ADMIN_KEY: 'loop-admin-key',
      LOG_LEVEL: 'silent',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
    detached: true,
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`server of ${tree} exited`);
    if (
      await call(base, 'GET', '/reg/service/info').then(
        (r) => r.status === 200,
        () => false,
      )
    )
      break;
    if (i > 900) throw new Error('server did not start');
    await sleep(200);
  }
  const { username, master } = await registerBenchUser(call, base, 'loop');
  const roots: string[] = [];
  const parents: string[] = [];
  const leaves: string[] = [];
  for (let i = 0; i < 20; i++)
    roots.push((await call(base, 'POST', `/${username}/streams`, master, { id: `root${i}`, name: `Root ${i}` })).json.stream.id);
  for (let i = 0; i < 5; i++) {
    parents.push((await call(base, 'POST', `/${username}/streams`, master, { id: `parent${i}`, name: `Parent ${i}` })).json.stream.id);
    for (let j = 0; j < 3; j++) {
      leaves.push(
        (await call(base, 'POST', `/${username}/streams`, master, { id: `leaf${i}-${j}`, name: `Leaf ${i} ${j}`, parentId: `parent${i}` }))
          .json.stream.id,
      );
    }
  }
  const access = await call(base, 'POST', `/${username}/accesses`, master, {
    type: 'shared',
    name: 'loop-restricted',
    permissions: leaves.slice(0, 10).map((streamId) => ({ streamId, level: 'contribute' })),
  });
  const server: Server = {
    tree,
    base,
    process: child,
    username,
    master,
    restricted: access.json.access.token,
    leaves,
    parents,
    roots,
    series: new Map(),
  };
  for (const name of SHAPES.filter((n) => n.startsWith('series-')).flatMap((n) => (n.startsWith('series-tool-') ? [n, `${n}#2`] : [n]))) {
    // The reference tool's holders have no `time`: their creation time (the other shapes': 0).
    const made = await call(base, 'POST', `/${username}/events`, master, {
      type: 'series:mass/kg',
      streamIds: [roots[0]],
      ...(name.startsWith('series-tool-') ? {} : { time: 0 }),
    });
    server.series.set(name, { id: made.json.event.id, next: 0 });
    if (name.startsWith('series-get-')) {
      for (let i = 0; i < SERIES_READ_POINTS; i += 1000) {
        const r = await call(base, 'POST', `/${username}/events/${made.json.event.id}/series`, master, seriesBody(i, 1000));
        if (r.status !== 200) throw new Error(`series seed: ${r.status}`);
      }
    }
  }
  const all = [...roots, ...leaves];
  await runLoop(server, 'seed', 2000, (i) => ({
    verb: 'POST',
    path: `/${username}/events`,
    token: master,
    body: { type: 'note/txt', streamIds: [all[i % all.length]], content: `seed ${i}` },
  }));
  server.seedTime = Date.now() / 1000;
  return server;
}

/** Points of the holder the series-get shapes read, 100 Hz. */
const SERIES_READ_POINTS = 100_000;
const seriesBody = (from: number, n: number) => ({
  format: 'flatJSON',
  fields: ['deltaTime', 'value'],
  points: Array.from({ length: n }, (_, k) => [(from + k) * 0.01, 60 + Math.sin((from + k) / 50) * 10]),
});

type Shape = (i: number) => { verb: string; path: string; token: string; body?: unknown };
function shapeOf(s: Server, name: string): Shape {
  const series = s.series.get(name);
  if (series && name.startsWith('series-add-')) {
    const n = Number(name.slice('series-add-'.length));
    return () => {
      const from = series.next;
      series.next += n;
      return { verb: 'POST', path: `/${s.username}/events/${series.id}/series`, token: s.master, body: seriesBody(from, n) };
    };
  }
  if (series && name.startsWith('series-tool-')) {
    // The reference tool's holders: two per user (it takes `idx % 2`), written in turn.
    const n = Number(name.slice('series-tool-'.length));
    const second = s.series.get(`${name}#2`)!;
    const start = Math.floor(Date.now() / 1000);
    return (i) => {
      const holder = i % 2 === 0 ? series : second;
      const from = start + holder.next;
      holder.next += 2 * n;
      const points = Array.from({ length: n }, (_, k) => [from + k, +(Math.random() * 100).toFixed(2)]);
      return {
        verb: 'POST',
        path: `/${s.username}/events/${holder.id}/series`,
        token: s.master,
        body: { format: 'flatJSON', fields: ['deltaTime', 'value'], points },
      };
    };
  }
  if (series && name.startsWith('series-get-')) {
    const n = Number(name.slice('series-get-'.length));
    return (i) => {
      const first = ((i * 7919) % (SERIES_READ_POINTS / n)) * n;
      const query = `fromDeltaTime=${first * 0.01}&toDeltaTime=${(first + n - 1) * 0.01 + 0.005}`;
      return { verb: 'GET', path: `/${s.username}/events/${series.id}/series?${query}`, token: s.master };
    };
  }
  switch (name) {
    case 'create':
      return (i) => ({
        verb: 'POST',
        path: `/${s.username}/events`,
        token: s.master,
        body: { type: 'note/txt', streamIds: [s.roots[i % s.roots.length]], content: `loop ${i}` },
      });
    case 'create-restricted':
      return (i) => ({
        verb: 'POST',
        path: `/${s.username}/events`,
        token: s.restricted,
        body: { type: 'note/txt', streamIds: [s.leaves[i % 10]], content: `loop ${i}` },
      });
    case 'get-parent':
      return (i) => ({
        verb: 'GET',
        path: `/${s.username}/events?streams[]=${s.parents[i % s.parents.length]}&limit=100`,
        token: s.master,
      });
    case 'get-newest':
      return () => ({ verb: 'GET', path: `/${s.username}/events?limit=100`, token: s.master });
    case 'get-range-restricted':
      // The reference tool's time-range read: the last 30 days, limit 100, with the restricted token.
      return () => {
        const now = Date.now() / 1000;
        return { verb: 'GET', path: `/${s.username}/events?fromTime=${now - 30 * 86_400}&toTime=${now}&limit=100`, token: s.restricted };
      };
    case 'get-range-restricted-fixed':
    case 'get-range-master-fixed': {
      // The reference tool's time-range read: the same query every call, the 30 days before the seed time.
      const token = name === 'get-range-master-fixed' ? s.master : s.restricted;
      const path = `/${s.username}/events?fromTime=${s.seedTime! - 30 * 86_400}&toTime=${s.seedTime}&limit=100`;
      return () => ({ verb: 'GET', path, token });
    }
    default:
      throw new Error(`unknown shape ${name}`);
  }
}

async function runLoop(s: Server, _name: string, calls: number, shape: Shape): Promise<number> {
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < calls) {
        const c = shape(next++);
        const r = await call(s.base, c.verb, c.path, c.token, c.body);
        if (r.status >= 400) failed++;
      }
    }),
  );
  if (failed > 0) throw new Error(`${failed} calls failed`);
  return calls;
}

/** Waits until the server's CPU use falls to its idle rate; returns that rate (ms per s). */
async function idleRate(s: Server): Promise<number> {
  let last = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 20; i++) {
    const a = cpuMsOf(s.process.pid!);
    await sleep(2000);
    const rate = (cpuMsOf(s.process.pid!) - a) / 2;
    if (rate < 60 && Math.abs(rate - last) < 15) return rate;
    last = rate;
  }
  return last;
}

async function measure(s: Server, name: string): Promise<{ perCall: number; jvmPerCall: number; idle: number; seconds: number }> {
  const idle = await idleRate(s);
  await runLoop(s, name, 200, shapeOf(s, name)); // warm up this shape
  await sleep(1000);
  const before = cpuMsOf(s.process.pid!);
  const jvmBefore = jvmCpuMs(s);
  const t0 = Date.now();
  await runLoop(s, name, CALLS, shapeOf(s, name));
  // the work the calls caused (the change fan-out) counts: wait until the server is idle again
  await sleep(1500);
  const used = cpuMsOf(s.process.pid!) - before;
  const jvmUsed = jvmCpuMs(s) - jvmBefore;
  return { perCall: used / CALLS, jvmPerCall: jvmUsed / CALLS, idle, seconds: (Date.now() - t0) / 1000 };
}

async function main(): Promise<void> {
  const servers: Server[] = [];
  const stopAll = () => {
    for (const s of servers) if (s.process.exitCode === null && s.process.pid) process.kill(-s.process.pid, 'SIGINT');
  };
  process.on('SIGINT', () => {
    stopAll();
    process.exit(1);
  });
  try {
    for (const [i, tree] of TREES.entries()) servers.push(await startServer(tree, i));
    const label = (s: Server) => {
      const i = servers.indexOf(s);
      return process.env[`LOOP_ENV_${i}`] || TREES.indexOf(s.tree) !== i ? `${s.tree}#${i}` : s.tree;
    };
    const results = new Map<string, number[]>();
    const jvmResults = new Map<string, number[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of SHAPES) {
        const order = round % 2 === 0 ? servers : [...servers].reverse();
        for (const s of order) {
          const load = loadavg()[0]!.toFixed(1);
          const m = await measure(s, name);
          const key = `${name} ${label(s)}`;
          results.set(key, [...(results.get(key) ?? []), m.perCall]);
          jvmResults.set(key, [...(jvmResults.get(key) ?? []), m.jvmPerCall]);
          process.stdout.write(
            `round ${round + 1} ${name.padEnd(18)} ${label(s).padEnd(28)} ${m.perCall.toFixed(2)} ms/call, JVM ${m.jvmPerCall.toFixed(2)}  (idle ${m.idle.toFixed(0)} ms/s, ${(CALLS / m.seconds).toFixed(0)} calls/s, load ${load})\n`,
          );
        }
      }
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    process.stdout.write("\nmedian server CPU ms per call; the JVM's:\n");
    for (const [key, values] of results) {
      const jvm = jvmResults.get(key)!;
      process.stdout.write(
        `  ${key}: ${median(values).toFixed(2)} (${values.map((v) => v.toFixed(2)).join(', ')}); JVM ${median(jvm).toFixed(2)} (${jvm.map((v) => v.toFixed(2)).join(', ')})\n`,
      );
    }
  } finally {
    stopAll();
    await sleep(500);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
