/**
 * `npm run bench:bundles`: size and module init time of every synthesized function bundle
 * (the cdk.out of `npm run test:bundled`, synthesized here if missing). Each bundle is
 * imported in a fresh Node.js process, as a cold Lambda container does; the time is the
 * median of RUNS imports. Prints every function, worst first, and checks the budgets:
 * at most 500 KB of code and 100 ms of init per function (exit 1 when one is over; the init
 * budget as qualified by the floor, below).
 *
 * Size: what one call may load. A one-file asset is its `index.mjs`; an asset built in
 * chunks (every function whose code imports something on demand: infra/bundling/function-code.ts)
 * counts its entry with the chunks it imports statically (what every cold start loads) plus the
 * largest set of chunks one `import()` adds (one method's first call in callBatch, the S3 client
 * in a method); its whole asset is printed beside it. A call that takes two on-demand paths
 * loads more than that: the README says by how much.
 *
 * Init: from just before the `import()` to just after it, so Node.js's own start-up is not
 * in it (measured apart: a process that imports nothing). Both the wall time and the process's CPU time are taken;
 * the budget is checked on the CPU time, because on a shared machine (CI, other processes)
 * the wall time mostly measures the wait for a core. The CPU time counts Node.js's helper
 * threads too (compilation, GC): a little more than the import alone.
 *
 * The floor: a bundle built with the functions' settings that only creates the DynamoDB
 * document client (./floor-entry.ts), measured the same way in the same run. It is what the
 * SDK costs before any code of ours (Node.js's https, tls, crypto and stream modules, the SDK
 * core); each function's share is its init CPU minus the floor. The init budget is met by a
 * function whose init CPU is within MAX_INIT_MS, or whose share is within MAX_SHARE_MS (README
 * "What is checked before a deploy": why the floor is not ours to cut).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFunction } from '../../infra/bundling/function-code';
import { readAssembly } from '../../infra/local/bundles';
import { synthesizeBundles } from '../bundled/assembly';

const MAX_BYTES = 500 * 1024;
const MAX_INIT_MS = 100;
const MAX_SHARE_MS = Number(process.env.BENCH_MAX_SHARE_MS ?? 30);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

// In the child: the time from before the import to after it, with the environment a function
// has (a region), nothing sent anywhere (the handler is not called).
const PROBE = `
const cpu = process.cpuUsage();
const started = performance.now();
if (process.argv[1]) await import(process.argv[1]);
const wall = performance.now() - started;
const used = process.cpuUsage(cpu);
process.stdout.write(JSON.stringify({ wall, cpu: (used.user + used.system) / 1000 }));
`;

interface Init {
  wall: number;
  cpu: number;
  /** The whole child process, start-up and exit included, from the parent's side. */
  process: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Median wall and CPU time of RUNS imports of `file` in fresh processes (`''`: no import, Node.js's own start-up and exit). */
function initMs(file: string): Init {
  const runs: Init[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', PROBE, file], {
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        TABLE_NAME: 'bench',
        BUCKET_NAME: 'bench',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      encoding: 'utf8',
    });
    runs.push({ ...(JSON.parse(out) as Omit<Init, 'process'>), process: performance.now() - started });
  }
  return { wall: median(runs.map((r) => r.wall)), cpu: median(runs.map((r) => r.cpu)), process: median(runs.map((r) => r.process)) };
}

// esbuild's ESM output: `import{a as b}from"./chunk-X.mjs"`, `import"./chunk-X.mjs"`, `import("./chunk-X.mjs")`.
const STATIC_IMPORT = /\bimport\s*(?:[\w$\s{},*]*?\bfrom\s*)?["'](\.\/[^"']+\.mjs)["']/g;
const DYNAMIC_IMPORT = /\bimport\(\s*["'](\.\/[^"']+\.mjs)["']\s*\)/g;

/** Size of what a call may load: entry + static imports (+ the largest `import()` closure), and the whole asset. */
function sizes(file: string): { bytes: number; initBytes: number; assetBytes: number; chunks: number } {
  const dir = dirname(file);
  const text = new Map<string, string>();
  const read = (name: string) => {
    let t = text.get(name);
    if (t === undefined) {
      t = readFileSync(join(dir, name), 'utf8');
      text.set(name, t);
    }
    return t;
  };
  const refs = (name: string, pattern: RegExp) => [...read(name).matchAll(pattern)].map((m) => m[1]!.slice(2));
  const closure = (start: string[]) => {
    const seen = new Set<string>();
    const todo = [...start];
    while (todo.length > 0) {
      const name = todo.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      todo.push(...refs(name, STATIC_IMPORT));
    }
    return seen;
  };
  const bytesOf = (names: Iterable<string>) => [...names].reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
  const init = closure(['index.mjs']);
  const initBytes = bytesOf(init);
  let bytes = initBytes;
  // Every import() reachable from the entry, and from the chunks those load in turn.
  const seenTargets = new Set<string>();
  const targets = [...init].flatMap((name) => refs(name, DYNAMIC_IMPORT));
  while (targets.length > 0) {
    const target = targets.pop()!;
    if (seenTargets.has(target)) continue;
    seenTargets.add(target);
    const loaded = closure([...init, target]);
    bytes = Math.max(bytes, bytesOf(loaded));
    for (const name of loaded) targets.push(...refs(name, DYNAMIC_IMPORT));
  }
  const files = readdirSync(dir).filter((name) => name.endsWith('.mjs'));
  return { bytes, initBytes, assetBytes: bytesOf(files), chunks: files.length - 1 };
}

/** ./floor-entry.ts built as a function is (infra/bundling/function-code.ts), in a temp folder. */
function floorBundle(): { file: string; bytes: number; dispose: () => void } {
  const outdir = mkdtempSync(join(tmpdir(), 'pryv-bundle-floor-'));
  buildFunction(fileURLToPath(new URL('./floor-entry.ts', import.meta.url)), outdir, { sourceMaps: false, tracing: false });
  const file = join(outdir, 'index.mjs');
  return { file, bytes: statSync(file).size, dispose: () => rmSync(outdir, { recursive: true, force: true }) };
}

const assembly = readAssembly(synthesizeBundles({ reuse: true }));
const boot = initMs('');
const floorFile = floorBundle();
const floor = initMs(floorFile.file);
floorFile.dispose();
const rows = [...assembly.functions.values()].map((fn) => ({ id: fn.id, ...sizes(fn.file), init: initMs(fn.file) }));
rows.sort((a, b) => b.init.cpu - a.init.cpu || b.bytes - a.bytes);

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
const ms = (value: number) => `${value.toFixed(0)} ms`;
const share = (row: (typeof rows)[number]) => row.init.cpu - floor.cpu;
const overInit = (row: (typeof rows)[number]) => row.init.cpu > MAX_INIT_MS && share(row) > MAX_SHARE_MS;
console.log(`${'function'.padEnd(36)} ${'size'.padStart(8)} ${'init cpu'.padStart(9)} ${'share'.padStart(6)} ${'wall'.padStart(8)}`);
for (const row of rows) {
  const flags = `${row.bytes > MAX_BYTES ? ' over size' : ''}${overInit(row) ? ' over init' : ''}`;
  const split =
    row.chunks > 0
      ? ` (${row.chunks} chunks: ${kb(row.initBytes)} at init, the largest call path ${kb(row.bytes)}, ${kb(row.assetBytes)} in all)`
      : '';
  console.log(
    `${row.id.padEnd(36)} ${kb(row.bytes).padStart(8)} ${ms(row.init.cpu).padStart(9)} ${ms(share(row)).padStart(6)} ${ms(row.init.wall).padStart(8)}${flags}${split}`,
  );
}
const worst = (values: number[], n: number) => [...values].sort((a, b) => b - a).slice(0, n);
const sizesAll = rows.map((r) => r.bytes);
const cpus = rows.map((r) => r.init.cpu);
const largest = rows.reduce((a, b) => (b.bytes > a.bytes ? b : a));
const slowest = rows[0]!;
console.log(
  `\n${rows.length} bundles: size median ${kb(median(sizesAll))}, worst 5 ${worst(sizesAll, 5).map(kb).join(', ')} (largest ${largest.id}), ` +
    `${(rows.reduce((a, r) => a + r.assetBytes, 0) / 1024 / 1024).toFixed(1)} MB of code in all; ` +
    `init CPU median ${ms(median(cpus))}, worst 5 ${worst(cpus, 5).map(ms).join(', ')} (slowest ${slowest.id}), ` +
    `wall median ${ms(median(rows.map((r) => r.init.wall)))}; Node.js start-up and exit without an import (not counted) ${ms(boot.process)}; ${RUNS} imports each`,
);
const shares = rows.map(share);
console.log(
  `Floor (the DynamoDB client alone, ${kb(floorFile.bytes)}): init CPU ${ms(floor.cpu)}; our share above it: median ${ms(median(shares))}, ` +
    `worst 5 ${worst(shares, 5).map(ms).join(', ')}; ${rows.filter((r) => r.init.cpu <= MAX_INIT_MS).length} of ${rows.length} within ${MAX_INIT_MS} ms, ` +
    `${rows.filter((r) => share(r) <= MAX_SHARE_MS).length} within ${MAX_SHARE_MS} ms of the floor`,
);
const over = rows.filter((r) => r.bytes > MAX_BYTES || overInit(r));
if (over.length > 0) {
  console.log(
    `Over budget (${kb(MAX_BYTES)}; init ${MAX_INIT_MS} ms or ${MAX_SHARE_MS} ms above the floor): ${over.map((r) => r.id).join(', ')}`,
  );
  process.exitCode = 1;
}
