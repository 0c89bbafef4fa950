// Rebuilds a function's asset with esbuild `splitting` (run by CDK after its own bundling of
// that function, see `splitBundling` in infra/constructs/functions.ts): `index.mjs` with the
// entry's static imports, plus one chunk per `import()` target and per code they share, in
// the same folder. CDK's NodejsFunction writes one file (`--outfile`), which esbuild cannot
// split. Plain JavaScript: CDK runs it with `node`, before anything is compiled.
//
// Usage: node split-bundle.mjs <base64 of JSON {entry, outdir, options, dataFiles}> where
// `options` are esbuild build options (the same as the function's other bundling settings) and
// `dataFiles` files the code reads beside itself (`new URL('./name', import.meta.url)`): each is
// copied into the asset when the built code names it.

import { copyFileSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build } from 'esbuild';

const { entry, outdir, options, dataFiles = [] } = JSON.parse(Buffer.from(process.argv[2] ?? '', 'base64').toString('utf8'));
if (!entry || !outdir) throw new Error('split-bundle: entry and outdir are required');

// The single-file bundle CDK made (and its map) is replaced, not kept beside the chunks.
for (const name of readdirSync(outdir)) rmSync(join(outdir, name), { recursive: true, force: true });

await build({
  ...options,
  entryPoints: { index: entry },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunk-[hash]',
});

const code = readdirSync(outdir)
  .filter((name) => name.endsWith('.mjs'))
  .map((name) => readFileSync(join(outdir, name), 'utf8'));
for (const file of dataFiles) {
  const name = basename(file);
  if (code.some((text) => text.includes(name))) copyFileSync(file, join(outdir, name));
}
