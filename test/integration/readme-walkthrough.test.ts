import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { apiUrl } from '../setup/api';

/**
 * The README's curl walk through (sections "A walk through with curl" and "Attachments"),
 * run as written: its shell blocks in order, in one bash, against this run's runtime. Only
 * the first two lines change: the runtime's address and its admin key.
 */

const README = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');

function walkthroughBlocks(): string[] {
  const start = README.indexOf('### A walk through with curl');
  const end = README.indexOf('### Input limits', start);
  expect(start).toBeGreaterThan(0);
  expect(end).toBeGreaterThan(start);
  return [...README.slice(start, end).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

function run(script: string, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-eo', 'pipefail', '-c', script], { cwd, env: { ...process.env, LC_ALL: 'C' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the README walk through', () => {
  it('runs from start to end as written, and does what it says', async () => {
    const blocks = walkthroughBlocks();
    expect(blocks).toHaveLength(3);
    const documented = 'API=http://127.0.0.1:3000 ';
    expect(blocks[0]!.startsWith(documented)).toBe(true);
    expect(blocks[0]).toContain('ADMIN_KEY=$(cat .data/admin-key)');
    const script = blocks
      .join('\n')
      .replace(documented, `API=${apiUrl()} `)
      .replace('ADMIN_KEY=$(cat .data/admin-key)', `ADMIN_KEY='${inject('adminKey')}'`);

    const cwd = mkdtempSync(join(tmpdir(), 'pryv-walkthrough-'));
    try {
      const { code, stdout, stderr } = await run(script, cwd);
      expect(code, `${stderr}\n${stdout}`).toBe(0);
      // service info, the new user, the batch, the event read by owner and by the share, the system API
      expect(stdout).toContain('"api":');
      expect(stdout).toMatch(/"username":"alice-\d+","apiEndpoint":"http/);
      expect(stdout).toContain('"results":[{"account":');
      expect(stdout.match(/"type":"mass\/kg","content":72\.5/g)?.length).toBeGreaterThanOrEqual(3);
      expect(stdout).toMatch(/"userInfo":\{"username":"alice-\d+"/);
      // both downloads byte-identical (cmp), then the big file attached after its presigned PUT
      expect(stdout).toContain('both downloads are the photo');
      expect(stdout).toMatch(/"fileName":"scan\.tiff","type":"image\/tiff","size":100000,[^}]*"integrity":"sha256-/);
      expect(stdout).not.toContain('"error"');
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
