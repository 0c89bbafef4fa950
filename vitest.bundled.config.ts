import { defineConfig } from 'vitest/config';

/**
 * `npm run test:bundled`: what `cdk deploy` ships, run locally (test/bundled/). Not part of
 * `npm test`: it synthesizes the stack with bundling first (minutes).
 */
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/bundled/**/*.test.ts'],
    globalSetup: ['test/setup/bundled-runtime.ts'],
    testTimeout: 900_000, // the first call of each function is its cold start (80+ of them, on a busy 2-core CI machine: minutes)
    hookTimeout: 600_000,
  },
});
