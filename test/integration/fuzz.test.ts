import { describe, expect, it } from 'vitest';
import { runFuzz, summarize } from '../fuzz/harness';
import { adminKey, apiUrl } from '../setup/api';

/**
 * The bounded fuzz run (test/fuzz/): malformed requests derived from the method registry,
 * over every route, against the shared local runtime. Seeded, so every run sends the same
 * requests; `npm run fuzz` runs the long version with any seed and count.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20_260_613);
const RUNS = Number(process.env.FUZZ_RUNS ?? 250);

describe('fuzz: malformed requests on every route (bounded run)', () => {
  it(`${RUNS} requests (seed ${SEED}): no 5xx, Pryv error envelopes, malformed batch calls are Pryv errors, the account unchanged`, {
    timeout: 240_000,
  }, async () => {
    const report = await runFuzz({ baseUrl: apiUrl(), adminKey: adminKey(), seed: SEED, runs: RUNS, concurrency: 3, timeoutMs: 60_000 });
    const summary = summarize(report);
    expect(report.requests).toBe(RUNS);
    // Every route of the registry was tried at least once.
    expect(report.routesCovered).toBeGreaterThan(70);
    expect(
      report.failures.map((f) => `${f.label} → ${f.status} ${f.errorId ?? ''}: ${f.problems.join('; ')}`),
      summary,
    ).toEqual([]);
    expect(report.accountChanges, summary).toEqual([]);
  });
});
