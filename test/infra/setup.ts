import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

// Each infra test file synthesizes into folders under one temp folder of its own (testOutdir in
// ./synth.ts), removed when the file is done: synths leave nothing behind in the temp dir.
const dir = mkdtempSync(join(tmpdir(), 'pryv-infra-test-'));
process.env.PRYV_INFRA_TEST_DIR = dir;
afterAll(() => rmSync(dir, { recursive: true, force: true }));
