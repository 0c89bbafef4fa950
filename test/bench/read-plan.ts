/**
 * CPU of what a warm `events.get` call derives from the stream tree and the access alone (the
 * permissions' resolution, the expanded streams, the key ranges, the matcher, the wide read's
 * streams), no database: at 70 and 1,000 streams, master and restricted (10 permitted
 * streams), no streams filter. This part should not grow with the tree: kept beside the
 * cached tree (StreamTree.derived), a warm call finds it there.
 *
 * With READS_BASE=<dir holding another copy of shared/> (see test/bench/reads.ts), that copy is
 * measured too, alternating with this tree's in every round; a copy without `readPlan`
 * derives the plan as events.get did before it (every call).
 *
 *   npx tsx test/bench/read-plan.ts
 *   READS_BASE=test-artifacts/base npx tsx test/bench/read-plan.ts
 */
import { loadavg } from 'node:os';
import { resolve } from 'node:path';

const ROUNDS = Number(process.env.READS_ROUNDS ?? 3);
const CALLS = 2000;

async function impl(name: string, root: string) {
  const { StreamTree } = await import(`${root}/shared/domain/streams/tree.ts`);
  const { AccessPermissions } = await import(`${root}/shared/domain/accesses/permissions.ts`);
  const q = await import(`${root}/shared/domain/streams/query.ts`);
  const get = await import(`${root}/shared/domain/events/get.ts`);
  const plan = (tree: unknown, access: unknown): unknown => {
    const permissions = new AccessPermissions(access, tree);
    if (get.readPlan) return get.readPlan(undefined, 'default', tree, permissions);
    const queries = q.expandStreamsQueries(undefined, tree, permissions, { state: 'default' });
    return [
      q.streamsMatcher(queries),
      get.planSources(queries, tree, ['a']),
      [...new Set(queries.flatMap((x: { any: string[] }) => x.any))],
    ];
  };
  /** 10 parents with 5 children each, the rest flat roots, as the bench accounts. */
  const tree = (n: number) => {
    const streams = [];
    for (let p = 0; p < 10; p++) streams.push({ id: `p${p}`, name: `p${p}`, parentId: null });
    for (let i = 10; i < n; i++) streams.push({ id: `s${i}`, name: `s${i}`, parentId: i < 60 ? `p${i % 10}` : null });
    return new StreamTree(streams);
  };
  return { name, plan, trees: new Map([70, 1000].map((n) => [n, tree(n)])) };
}

const access = (type: string, permissions: unknown[]) => ({
  id: 'bench',
  token: 'unused',
  type,
  name: type,
  permissions,
  created: 0,
  createdBy: 'bench',
  modified: 0,
  modifiedBy: 'bench',
});
const accesses = {
  master: access('personal', []),
  restricted: access(
    'shared',
    Array.from({ length: 10 }, (_, i) => ({ streamId: `s${10 + i * 5}`, level: 'contribute' })),
  ),
};

const impls = [await impl('this tree', resolve(import.meta.dirname, '../..'))];
if (process.env.READS_BASE) impls.unshift(await impl('base', resolve(process.env.READS_BASE)));
const results: Record<string, number[]> = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const im of round % 2 === 0 ? impls : [...impls].reverse()) {
    for (const [n, tree] of im.trees) {
      for (const [token, a] of Object.entries(accesses)) {
        for (let i = 0; i < 200; i++) im.plan(tree, a);
        const start = process.cpuUsage();
        for (let i = 0; i < CALLS; i++) im.plan(tree, a);
        const used = process.cpuUsage(start);
        const key = `| ${token} | ${n} | ${im.name} |`;
        results[key] = [...(results[key] ?? []), (used.user + used.system) / CALLS];
      }
    }
  }
  process.stderr.write(`round ${round + 1}/${ROUNDS}, load ${loadavg()[0]!.toFixed(1)}\n`);
}
console.log('| token | streams | code | µs per call, each round |\n|---|---:|---|---|');
for (const [key, xs] of Object.entries(results).sort()) console.log(`${key} ${xs.map((x) => x.toFixed(1)).join(', ')} |`);
