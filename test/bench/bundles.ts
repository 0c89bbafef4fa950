/**
 * `npm run bench:bundles`: size and module init time of every synthesized function bundle
 * (the cdk.out of `npm run test:bundled`, synthesized here if missing). Each bundle is
 * imported in a fresh Node.js process, as a cold Lambda container does; the time is the
 * median of RUNS imports. Prints every function, worst first, and checks the budgets:
 * at most 500 KB of code and 100 ms of init per function (exit 1 when one is over).
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { readAssembly } from '../../infra/local/bundles';
import { synthesizeBundles } from '../bundled/assembly';

const MAX_BYTES = 500 * 1024;
const MAX_INIT_MS = 100;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

// In the child: the time from before the import to after it, with the environment a function
// has (a region), nothing sent anywhere (the handler is not called).
const PROBE = `
const started = performance.now();
await import(process.argv[1]);
process.stdout.write(String(performance.now() - started));
`;

function initMs(file: string): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
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
    times.push(Number(out));
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const assembly = readAssembly(synthesizeBundles({ reuse: true }));
const rows = [...assembly.functions.values()].map((fn) => ({ id: fn.id, bytes: statSync(fn.file).size, ms: initMs(fn.file) }));
rows.sort((a, b) => b.ms - a.ms || b.bytes - a.bytes);

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
console.log(`${'function'.padEnd(36)} ${'size'.padStart(8)} ${'init'.padStart(9)}`);
for (const row of rows) {
  const flags = `${row.bytes > MAX_BYTES ? ' over size' : ''}${row.ms > MAX_INIT_MS ? ' over init' : ''}`;
  console.log(`${row.id.padEnd(36)} ${kb(row.bytes).padStart(8)} ${`${row.ms.toFixed(0)} ms`.padStart(9)}${flags}`);
}
const sizes = rows.map((r) => r.bytes);
const times = rows.map((r) => r.ms);
const largest = rows.reduce((a, b) => (b.bytes > a.bytes ? b : a));
const slowest = rows[0]!;
console.log(
  `\n${rows.length} bundles: size median ${kb(median(sizes))}, largest ${kb(largest.bytes)} (${largest.id}), total ${(sizes.reduce((a, b) => a + b, 0) / 1024 / 1024).toFixed(1)} MB; ` +
    `init median ${median(times).toFixed(0)} ms, slowest ${slowest.ms.toFixed(0)} ms (${slowest.id}); ${RUNS} imports each`,
);
const over = rows.filter((r) => r.bytes > MAX_BYTES || r.ms > MAX_INIT_MS);
if (over.length > 0) {
  console.log(`Over budget (${kb(MAX_BYTES)}, ${MAX_INIT_MS} ms): ${over.map((r) => r.id).join(', ')}`);
  process.exitCode = 1;
}
