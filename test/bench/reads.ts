/**
 * CPU of the events.get read alone, in this process, master against restricted token and 70
 * against 1,000 streams: starts DynamoDB Local, seeds two bench accounts alike
 * (test/bench/seed.ts: 70 streams, a shared access on 10 leaves, READS_EVENTS events over a
 * year) and grows the second one's tree to READS_STREAMS streams (no events in the new ones),
 * then, for each shape (the reference tool's events.get scenarios) and account, makes
 * READS_CALLS calls per round, READS_ROUNDS rounds, the accounts and codes taken in turn. A
 * call is what the method does past authentication: the user's data as the access sees it
 * (the data meta read, the tree from the container's cache, the permissions) and the domain's
 * `getEvents`. Prints per shape the median CPU per call (this process: the plan, the store's
 * client, parsing; DynamoDB Local's JVM is another process), requests, capacity and items
 * read by the read itself (not the data meta). No HTTP, token, usage or audit: what differs
 * between tokens and tree sizes.
 *
 * With READS_BASE=<dir holding another copy of shared/> (e.g. one exported by `git archive`
 * under test-artifacts/, so that it resolves this repository's node_modules), that copy's
 * `getEvents` is measured too, alternating with this tree's in every round: old and new code
 * under the same load.
 *
 *   npx tsx test/bench/reads.ts
 *   READS_BASE=test-artifacts/base npx tsx test/bench/reads.ts
 *
 * READS_ONLY=<text> measures only the shapes whose name holds it; READS_PROFILE=1 also writes a
 * CPU profile of the measured calls under test-artifacts/profile/ (summarise it with
 * `npx tsx test/bench/profile.ts FILE CALLS`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureTable, startDynamoDbLocal } from '../../infra/local/dynamodb';
import { freePort } from '../../infra/local/ports';
import type { Access } from '../../shared/model/accesses';

const ROUNDS = Number(process.env.READS_ROUNDS ?? 5);
const CALLS = Number(process.env.READS_CALLS ?? 100);
const EVENTS = Number(process.env.READS_EVENTS ?? 10_000);
const STREAMS = Number(process.env.READS_STREAMS ?? 1000);
const BASE = process.env.READS_BASE;
/** Only the shapes whose name holds this text. */
const ONLY = process.env.READS_ONLY;
const DAY = 24 * 3600;

type GetEvents = typeof import('../../shared/domain/events/get').getEvents;
interface Impl {
  name: string;
  getEvents: GetEvents;
  /** What a call builds before reading: the user's data as the access sees it (tree from the container's cache). */
  data: (username: string, access: Access) => Promise<Parameters<GetEvents>[2]>;
  forget: () => void;
}

async function impl(name: string, root: string): Promise<Impl> {
  const get = await import(`${root}/shared/domain/events/get.ts`);
  const { loadUserData } = await import(`${root}/shared/domain/user-data.ts`);
  const merge = await import(`${root}/shared/store/events/time-merge.ts`);
  return {
    name,
    getEvents: get.getEvents,
    data: (username, access) => loadUserData({ username, access }),
    forget: () => merge.forgetReadShares?.(),
  };
}

/** The table of what was measured so far (printed after every round: a long run stopped early still tells). */
function table(
  shapes: Array<{ name: string }>,
  accounts: Array<{ streams: number }>,
  impls: Impl[],
  cpu: Record<string, number[]>,
  counts: Record<string, { requests: number; capacity: number; items: number; returned: number }>,
): string {
  const rows = [
    '| shape | streams | code | CPU ms per call (median of rounds) | rounds | requests | RCU | items read | returned |',
    '|---|---:|---|---:|---|---:|---:|---:|---:|',
  ];
  for (const shape of shapes) {
    for (const a of accounts) {
      for (const im of impls) {
        const key = `${im.name}\u0000${shape.name}\u0000${a.streams}`;
        const c = counts[key]!;
        rows.push(
          `| ${shape.name} | ${a.streams} | ${im.name} | ${median(cpu[key]!).toFixed(3)} | ${cpu[key]!.map((x) => x.toFixed(2)).join(', ')} | ${c.requests.toFixed(1)} | ${c.capacity.toFixed(1)} | ${c.items.toFixed(0)} | ${c.returned.toFixed(0)} |`,
        );
      }
    }
  }
  return rows.join('\n');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const port = await freePort();
  const engine = await startDynamoDbLocal({ port });
  try {
    Object.assign(process.env, {
      DYNAMODB_ENDPOINT: engine.endpoint,
      TABLE_NAME: 'pryv-reads-bench',
      AWS_REGION: 'us-east-1',
      LOG_LEVEL: 'silent',
    });
    await ensureTable(engine.endpoint, 'pryv-reads-bench');
    const { growTree, seedAccount } = await import('./seed');
    const accounts = [
      { username: 'bench70', streams: 70 },
      { username: 'bench1k', streams: STREAMS },
    ];
    let seeded: Awaited<ReturnType<typeof seedAccount>> | undefined;
    for (const a of accounts) {
      seeded = await seedAccount(a.username, EVENTS);
      if (a.streams > 70) await growTree(a.username, seeded, a.streams);
    }
    const account = seeded!;
    const access = (type: Access['type'], permissions: Access['permissions']): Access => ({
      id: `bench-${type}`,
      token: 'unused',
      type,
      name: type,
      permissions,
      created: 0,
      createdBy: 'bench',
      modified: 0,
      modifiedBy: 'bench',
    });
    const master = access('personal', []);
    const restricted = access(
      'shared',
      account.restricted.map((streamId) => ({ streamId, level: 'contribute' as const })),
    );
    const to = account.lastTime;
    // Seeded events are all modified at seeding: a sync from after it reads the changes since (none here).
    const syncFrom = Date.now() / 1000;
    const shapes: Array<{ name: string; access: Access; params: Record<string, unknown> }> = [];
    for (const [token, a] of [
      ['master', master],
      ['restricted', restricted],
    ] as const) {
      shapes.push({ name: `no filter, limit 100, ${token}`, access: a, params: { limit: 100 } });
      shapes.push({
        name: `one stream, limit 100, ${token}`,
        access: a,
        params: { streams: [token === 'master' ? account.parents[0] : account.restricted[0]], limit: 100 },
      });
      // A leaf both tokens read: the same Query, so their difference is the permission work.
      shapes.push({
        name: `one permitted stream, limit 100, ${token}`,
        access: a,
        params: { streams: [account.restricted[1]], limit: 100 },
      });
      shapes.push({ name: `time range 30 d, limit 100, ${token}`, access: a, params: { fromTime: to - 30 * DAY, toTime: to, limit: 100 } });
      shapes.push({ name: `modifiedSince, ${token}`, access: a, params: { modifiedSince: syncFrom } });
    }
    if (ONLY) shapes.splice(0, shapes.length, ...shapes.filter((s) => s.name.includes(ONLY)));
    const impls = [await impl('this tree', resolve(import.meta.dirname, '../..'))];
    if (BASE) impls.unshift(await impl('base', resolve(BASE)));
    const session = process.env.READS_PROFILE ? new Session() : undefined;
    if (session) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 100 });
    }
    const cpu: Record<string, number[]> = {};
    const counts: Record<string, { requests: number; capacity: number; items: number; returned: number }> = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const im of round % 2 === 0 ? impls : [...impls].reverse()) {
        im.forget();
        for (const shape of shapes) {
          for (const a of round % 2 === 0 ? accounts : [...accounts].reverse()) {
            const key = `${im.name}\u0000${shape.name}\u0000${a.streams}`;
            const call = async (stats?: { requests: number; capacity: number; items: number }) => {
              const data = await im.data(a.username, shape.access);
              return im.getEvents(a.username, shape.params, data, to + 1, stats);
            };
            // Warm-up calls: the JIT, the tree cache and the plans learnt (as a warm container has them).
            for (let i = 0; i < 5; i++) await call();
            const stats = { requests: 0, capacity: 0, items: 0 };
            let returned = 0;
            if (session) await session.post('Profiler.start');
            const start = process.cpuUsage();
            for (let i = 0; i < CALLS; i++) returned += (await call(stats)).events.length;
            const used = process.cpuUsage(start);
            if (session) {
              const { profile } = await session.post('Profiler.stop');
              const dir = join(process.cwd(), 'test-artifacts', 'profile');
              mkdirSync(dir, { recursive: true });
              const file = join(
                dir,
                `reads-${shape.name.replace(/[^a-z0-9]+/gi, '-')}-${a.streams}-${im.name.replace(/ /g, '-')}-${round}.cpuprofile`,
              );
              writeFileSync(file, JSON.stringify(profile));
              process.stderr.write(`profile: ${file}\n`);
            }
            cpu[key] = [...(cpu[key] ?? []), (used.user + used.system) / 1000 / CALLS];
            counts[key] = {
              requests: stats.requests / CALLS,
              capacity: stats.capacity / CALLS,
              items: stats.items / CALLS,
              returned: returned / CALLS,
            };
          }
        }
      }
      process.stderr.write(`round ${round + 1}/${ROUNDS} done, load ${loadavg()[0]!.toFixed(1)}\n`);
      process.stdout.write(`after round ${round + 1}:\n${table(shapes, accounts, impls, cpu, counts)}\n\n`);
    }
  } finally {
    await engine.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
