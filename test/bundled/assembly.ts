import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Where `npm run test:bundled` synthesizes the stack with bundling (PRYV_CDK_OUT, else a
 * folder under the system's temp dir named after this checkout), so that the bundle
 * benchmark of the same CI run reuses it instead of bundling 80+ functions again.
 */
export function bundledAssemblyDir(): string {
  if (process.env.PRYV_CDK_OUT) return process.env.PRYV_CDK_OUT;
  const checkout = createHash('sha256').update(process.cwd()).digest('hex').slice(0, 12);
  return join(tmpdir(), `pryv-bundled-${checkout}`, 'cdk.out');
}

/** `cdk synth` with bundling into bundledAssemblyDir(), unless `reuse` and a synth is there. */
export function synthesizeBundles(options: { reuse: boolean }): string {
  const dir = bundledAssemblyDir();
  if (options.reuse && existsSync(join(dir, 'PryvApiStack.template.json'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  const started = Date.now();
  console.log(`Synthesizing the stack with bundling into ${dir}…`);
  const result = spawnSync('npx', ['cdk', 'synth', '--quiet', '--output', dir], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`cdk synth failed (exit ${result.status})`);
  console.log(`Synthesized in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return dir;
}
