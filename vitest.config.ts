import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    // Files run in parallel, each in its own process: they share no state but the local
    // runtime, where each works on users of its own. Most of a file's time is spent waiting
    // (HTTP, DynamoDB Local, timers), so on 2 cores 3 files at once beat vitest's default of
    // one (cores - 1). Override with --maxWorkers.
    maxWorkers: 3,
    projects: [
      // Some unit tests are CPU-bound (scrypt hashes, 20,000-stream trees): room for a busy machine.
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 20_000 } },
      // CDK assertions (the stack synthesized without bundling, one function bundled for real);
      // each file synthesizes into a temp folder of its own, removed after it (test/infra/setup.ts).
      {
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          setupFiles: ['test/infra/setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // One real local runtime (DynamoDB Local, S3 emulator, gateway) on free ports for the run.
          globalSetup: ['test/setup/local-runtime.ts'],
          testTimeout: 60_000, // real engines on a 2-core machine running many files at once
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // The real pages in headless Chromium against their own local runtime.
          globalSetup: ['test/setup/local-runtime.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
