/**
 * `npx tsx test/bench/notify-idle.ts`: what the local runtime costs while nothing happens —
 * CPU of this process (the stream readers' polls, the webhook worker's runs, the ping sweep)
 * and of DynamoDB Local's JVM answering them, over BENCH_IDLE_S seconds (default 20) after a
 * few seconds of settling. Idle polling is paid beside every call of a side-by-side benchmark,
 * so a faster poll must show here what it costs (README "Performance", bench:notify).
 * Options: BENCH_IDLE_S=20, BENCH_IDLE_ROUNDS=2 (measured windows, each printed).
 */
import { readFileSync } from 'node:fs';
import { startLocalRuntime } from '../../infra/local/runtime';

const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 20);
const ROUNDS = Number(process.env.BENCH_IDLE_ROUNDS ?? 2);
const TICKS_PER_S = 100; // Linux USER_HZ

/** CPU seconds (user + system) a process used so far, from /proc. */
function processCpuS(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S; // utime, stime
}

async function main(): Promise<void> {
  process.env.LOG_LEVEL ??= 'silent';
  const runtime = await startLocalRuntime({ port: 0 });
  try {
    await new Promise((r) => setTimeout(r, 5000)); // start-up work settles
    for (let round = 1; round <= ROUNDS; round++) {
      const jvm = runtime.dynamodb.pid;
      const node0 = process.cpuUsage();
      const jvm0 = processCpuS(jvm);
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, IDLE_S * 1000));
      const seconds = (performance.now() - t0) / 1000;
      const node = process.cpuUsage(node0);
      const nodeMs = (node.user + node.system) / 1000;
      const jvmMs = (processCpuS(jvm) - jvm0) * 1000;
      const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
      console.log(
        `idle round ${round}: runtime process ${(nodeMs / seconds).toFixed(1)} ms CPU/s, DynamoDB Local ${(jvmMs / seconds).toFixed(1)} ms CPU/s (over ${seconds.toFixed(1)} s, load average ${load})`,
      );
    }
  } finally {
    await runtime.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
