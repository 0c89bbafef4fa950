/**
 * `npm run bench:bundles`: size and module init time of every synthesized function bundle
 * (the cdk.out of `npm run test:bundled`, synthesized here if missing), each function listed,
 * worst first, against the budget (README "What is checked before a deploy"); exit 1 when
 * one is over it.
 *
 * Size: what one call may load. An asset is built in chunks (infra/bundling/function-code.ts):
 * its entry with the chunks it imports statically (what every cold start loads) plus the
 * largest set of chunks one `import()` adds (one method's first call in callBatch, the S3
 * client in a method); the whole asset is printed beside it. Deterministic: over MAX_BYTES fails.
 *
 * Init: the CPU time of the `import()` of the bundle in a fresh Node.js process, as a cold
 * Lambda container does (Node.js's own start-up is not in it: measured apart, a process that
 * imports nothing). CPU, not wall time: on a shared machine the wall time mostly measures the
 * wait for a core. It counts Node.js's helper threads too (compilation, GC).
 *
 * The floor: a bundle built like the functions that only creates the DynamoDB document client
 * (./floor-entry.ts): what the SDK costs before any code of ours (Node.js's https, tls,
 * crypto and stream modules, the SDK core). Each function is imported RUNS times, each time
 * beside an import of the floor (the two in turn, the order alternating), and judged on the
 * median of its CPU over the floor's in the same pair: a busy machine slows both alike, so the
 * ratio holds where milliseconds do not. Two rules:
 * - relative (always, what `.ci/run` enforces with `--ci`): the ratio at most MAX_RATIO. A
 *   function over it is measured again, RECHECK_RUNS pairs, and fails only if still over;
 * - absolute (without `--ci`, for a quiet machine): at most MAX_INIT_MS of init CPU.
 * The functions of KNOWN_OVER are held to their own ceilings instead, printed with the reason.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFunction } from '../../infra/bundling/function-code';
import { readAssembly } from '../../infra/local/bundles';
import { synthesizeBundles } from '../bundled/assembly';

const MAX_BYTES = 500 * 1024;
const MAX_INIT_MS = 100;
// 100 ms over the floor's 32–34 ms on the quiet 2-core machine (README, bench:bundles), rounded down.
const MAX_RATIO = Number(process.env.BENCH_MAX_RATIO ?? 3);
/**
 * Functions known to be over the budget, each with the ceiling it may not pass (what it
 * measured, plus the run-to-run spread of the ratio on a loaded machine) and why: a ratchet,
 * so that they cannot grow while the README's "Not done yet" says what is left. Lower a
 * ceiling, or drop the entry, when the function gets within the budget.
 */
const KNOWN_OVER: Record<string, { bytes?: number; ratio?: number; why: string }> = {
  // Empty: every function is held to the budget. Fn-ws-message left it when its `@connections`
  // client stopped loading the AWS SDK (shared/adapters/socket-connections-api.ts).
};
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const RECHECK_RUNS = 3 * RUNS;
/** `--ci`: the rules that hold on a loaded machine only (size, and init relative to the floor). */
const CI = process.argv.includes('--ci');

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

interface Probe {
  wall: number;
  cpu: number;
  /** The whole child process, start-up and exit included, from the parent's side. */
  process: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** One import of `file` in a fresh process (`''`: no import, Node.js's own start-up and exit). */
function probe(file: string): Probe {
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
  return { ...(JSON.parse(out) as Omit<Probe, 'process'>), process: performance.now() - started };
}

interface Init {
  /** Medians of the function's imports. */
  cpu: number;
  wall: number;
  /** Median CPU of the floor's imports paired with them. */
  floor: number;
  /** Median of the function's CPU over the floor's, pair by pair. */
  ratio: number;
}

/** `runs` imports of `file`, each paired with one of the floor's, the order alternating. */
function pairedInit(file: string, floorFile: string, runs: number): Init {
  const fn: Probe[] = [];
  const floor: Probe[] = [];
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      floor.push(probe(floorFile));
      fn.push(probe(file));
    } else {
      fn.push(probe(file));
      floor.push(probe(floorFile));
    }
  }
  return {
    cpu: median(fn.map((p) => p.cpu)),
    wall: median(fn.map((p) => p.wall)),
    floor: median(floor.map((p) => p.cpu)),
    ratio: median(fn.map((p, i) => p.cpu / floor[i]!.cpu)),
  };
}

// esbuild's ESM output: `import{a as b}from"./chunk-X.mjs"`, `import"./chunk-X.mjs"`, `import("./chunk-X.mjs")`.
const STATIC_IMPORT = /\bimport\s*(?:[\w$\s{},*]*?\bfrom\s*)?["'](\.\/[^"']+\.mjs)["']/g;
const DYNAMIC_IMPORT = /\bimport\(\s*["'](\.\/[^"']+\.mjs)["']\s*\)/g;

/** Size of what a call may load: entry + static imports (+ the largest `import()` closure), and the whole asset. */
function sizes(file: string): { bytes: number; initBytes: number; initFiles: number; assetBytes: number; chunks: number } {
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
  return { bytes, initBytes, initFiles: init.size, assetBytes: bytesOf(files), chunks: files.length - 1 };
}

/** ./floor-entry.ts built as a function is (infra/bundling/function-code.ts), in a temp folder. */
function floorBundle(): { file: string; bytes: number; dispose: () => void } {
  const outdir = mkdtempSync(join(tmpdir(), 'pryv-bundle-floor-'));
  buildFunction(fileURLToPath(new URL('./floor-entry.ts', import.meta.url)), outdir, { sourceMaps: false, tracing: false });
  const file = join(outdir, 'index.mjs');
  return { file, bytes: statSync(file).size, dispose: () => rmSync(outdir, { recursive: true, force: true }) };
}

const assembly = readAssembly(synthesizeBundles({ reuse: true }));
const boot = median([probe(''), probe(''), probe('')].map((p) => p.process));
const floorFile = floorBundle();
const rows = [...assembly.functions.values()].map((fn) => {
  let init = pairedInit(fn.file, floorFile.file, RUNS);
  // Over the line once may be a burst of load on the other imports: it fails only if a longer measure agrees.
  if (init.ratio > (KNOWN_OVER[fn.id]?.ratio ?? MAX_RATIO)) init = pairedInit(fn.file, floorFile.file, RECHECK_RUNS);
  return { id: fn.id, ...sizes(fn.file), init };
});
floorFile.dispose();
rows.sort((a, b) => b.init.ratio - a.init.ratio || b.bytes - a.bytes);

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
const ms = (value: number) => `${value.toFixed(0)} ms`;
const x = (value: number) => `×${value.toFixed(2)}`;
type Row = (typeof rows)[number];
const overSize = (row: Row) => row.bytes > MAX_BYTES;
const overRatio = (row: Row) => row.init.ratio > MAX_RATIO;
const overAbsolute = (row: Row) => row.init.cpu > MAX_INIT_MS;
/** Over the budget, and over the ceiling of a known exception too (or not one). */
const failing = (row: Row) => {
  const known = KNOWN_OVER[row.id];
  return (
    (overSize(row) && row.bytes > (known?.bytes ?? MAX_BYTES)) ||
    (overRatio(row) && row.init.ratio > (known?.ratio ?? MAX_RATIO)) ||
    (!CI && overAbsolute(row) && !known)
  );
};
console.log(
  `${'function'.padEnd(36)} ${'size'.padStart(8)} ${'init cpu'.padStart(9)} ${'floor'.padStart(6)} ${'ratio'.padStart(6)} ${'wall'.padStart(8)}`,
);
for (const row of rows) {
  const flags = `${overSize(row) ? ' over size' : ''}${overRatio(row) ? ' over ratio' : ''}${overAbsolute(row) ? ` over ${MAX_INIT_MS} ms` : ''}`;
  const split =
    row.chunks > 0
      ? ` (${row.chunks} chunks, ${row.initFiles} files at init: ${kb(row.initBytes)} at init, the largest call path ${kb(row.bytes)}, ${kb(row.assetBytes)} in all)`
      : '';
  console.log(
    `${row.id.padEnd(36)} ${kb(row.bytes).padStart(8)} ${ms(row.init.cpu).padStart(9)} ${ms(row.init.floor).padStart(6)} ${x(row.init.ratio).padStart(6)} ${ms(row.init.wall).padStart(8)}${flags}${split}`,
  );
}
const worst = (values: number[], n: number) => [...values].sort((a, b) => b - a).slice(0, n);
const sizesAll = rows.map((r) => r.bytes);
const cpus = rows.map((r) => r.init.cpu);
const ratios = rows.map((r) => r.init.ratio);
const floors = rows.map((r) => r.init.floor);
const largest = rows.reduce((a, b) => (b.bytes > a.bytes ? b : a));
console.log(
  `\n${rows.length} bundles: size median ${kb(median(sizesAll))}, worst 5 ${worst(sizesAll, 5).map(kb).join(', ')} (largest ${largest.id}), ` +
    `${(rows.reduce((a, r) => a + r.assetBytes, 0) / 1024 / 1024).toFixed(1)} MB of code in all; ` +
    `init CPU median ${ms(median(cpus))}, worst 5 ${worst(cpus, 5).map(ms).join(', ')}, ` +
    `wall median ${ms(median(rows.map((r) => r.init.wall)))}; Node.js start-up and exit without an import (not counted) ${ms(boot)}; ` +
    `${RUNS} paired imports each (${RECHECK_RUNS} for a second look)`,
);
console.log(
  `Floor (the DynamoDB client alone, ${kb(floorFile.bytes)}): init CPU median ${ms(median(floors))} (${ms(Math.min(...floors))}–${ms(Math.max(...floors))} over the run); ` +
    `ratio to it: median ${x(median(ratios))}, worst 5 ${worst(ratios, 5).map(x).join(', ')} (slowest ${rows[0]!.id}); ` +
    `${rows.filter((r) => !overRatio(r)).length} of ${rows.length} within ${x(MAX_RATIO)}, ` +
    `${rows.filter((r) => !overAbsolute(r)).length} within ${MAX_INIT_MS} ms${CI ? ' (not enforced with --ci)' : ''}; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
);
for (const [id, known] of Object.entries(KNOWN_OVER)) {
  const row = rows.find((r) => r.id === id);
  if (row && (overSize(row) || overRatio(row)))
    console.log(
      `Known over budget: ${id} (${kb(row.bytes)}, ${x(row.init.ratio)}; ceiling ${known.bytes ? kb(known.bytes) : kb(MAX_BYTES)}, ${x(known.ratio ?? MAX_RATIO)}): ${known.why}`,
    );
  else if (row) console.log(`${id} is within the budget now: drop it from KNOWN_OVER`);
}
const over = rows.filter(failing);
if (over.length > 0) {
  console.log(
    `Over budget (${kb(MAX_BYTES)}; init ${x(MAX_RATIO)} the floor${CI ? '' : ` and ${MAX_INIT_MS} ms`}): ${over.map((r) => r.id).join(', ')}`,
  );
  process.exitCode = 1;
}
