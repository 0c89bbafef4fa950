/**
 * `npm run fuzz -- [--runs 10000] [--seed N] [--concurrency 1] [--url http://… --admin-key K] [--out report.json]`
 *
 * The long fuzz run. Without --url it starts its own local runtime (in memory, free ports)
 * in this process and keeps the server's log lines (LOG_LEVEL, default info) of each failing
 * request with it; with --url it fuzzes a running server (e.g. `npm start`). Seed and count
 * also come from FUZZ_SEED / FUZZ_RUNS. Prints the seed, the number of requests and the
 * failures grouped; --out writes the whole report (every failure with its curl line).
 */
import { writeFileSync } from 'node:fs';
import { runFuzz, summarize } from './harness';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const runs = Number(arg('runs') ?? process.env.FUZZ_RUNS ?? 10_000);
  const seed = Number(arg('seed') ?? process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const concurrency = Number(arg('concurrency') ?? 1);
  const out = arg('out');
  if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(seed)) throw new Error('--runs and --seed must be integers');
  const write = process.stdout.write.bind(process.stdout);
  const say = (line: string) => write(`${line}\n`);
  say(`fuzz: seed ${seed}, ${runs} requests (replay: npm run fuzz -- --seed ${seed} --runs ${runs})`);

  let url = arg('url');
  let adminKey = arg('admin-key') ?? process.env.ADMIN_KEY;
  let stop = async (): Promise<void> => {};
  let takeLogs: (() => string[]) | undefined;
  const restores: Array<() => void> = [];
  if (!url) {
    process.env.LOG_LEVEL ??= 'info';
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const { startLocalRuntime } = await import('../../infra/local/runtime');
    const runtime = await startLocalRuntime({ port: 0 });
    url = runtime.url;
    adminKey = runtime.adminKey;
    stop = runtime.stop;
    // The runtime logs in this process: keep its lines, handed to the case that was running.
    let lines: string[] = [];
    const capture = (stream: NodeJS.WriteStream) => {
      const original = stream.write;
      restores.push(() => (stream.write = original));
      stream.write = ((chunk: string | Uint8Array) => {
        lines.push(
          ...String(chunk)
            .split('\n')
            .filter((l) => l.trim() !== ''),
        );
        return true;
      }) as typeof stream.write;
    };
    capture(process.stdout);
    capture(process.stderr);
    takeLogs = () => {
      const taken = lines;
      lines = [];
      return taken;
    };
    say(`local runtime at ${url} (LOG_LEVEL=${process.env.LOG_LEVEL})`);
  }
  if (!adminKey) throw new Error('--admin-key (or ADMIN_KEY) is needed with --url');
  try {
    let lastPrint = Date.now();
    const report = await runFuzz({
      baseUrl: url,
      adminKey,
      seed,
      runs,
      concurrency,
      ...(takeLogs ? { takeLogs } : {}),
      onCase: (done, total) => {
        if (Date.now() - lastPrint > 10_000 || done === total) {
          lastPrint = Date.now();
          say(`  ${done}/${total}`);
        }
      },
    });
    say(summarize(report));
    if (out) {
      writeFileSync(out, JSON.stringify(report, null, 2));
      say(`report written to ${out}`);
    }
    process.exitCode = report.failures.length > 0 || report.accountChanges.length > 0 ? 1 : 0;
  } finally {
    await stop();
    for (const restore of restores) restore();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(2);
});
