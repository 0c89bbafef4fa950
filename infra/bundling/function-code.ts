/**
 * A function's code asset, built once: one esbuild run per function, in the synth's own
 * process, with `splitting` (ESM: `index.mjs` with the entry's static imports, plus one chunk
 * per `import()` target and per code they share, in the same folder). What the code imports on
 * demand (a method of callBatch or of the socket message function, the S3, SES and Secrets
 * Manager clients, busboy, the event-type schema compiler) is then a chunk a cold start does
 * not read. A function that imports nothing on demand is one file.
 *
 * CDK's NodejsFunction cannot split (it writes one `--outfile`), and rebuilding its output in
 * chunks afterwards bundled every function twice; here CDK's asset staging calls `build`
 * (local bundling) into the asset's own folder of cdk.out, and skips it when the stack is not
 * bundled (`aws:cdk:bundling-stacks`, as the infra tests synthesize).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import { Code } from 'aws-cdk-lib/aws-lambda';
import { type BuildOptions, buildSync } from 'esbuild';
import type { MethodChunksBuild } from './method-chunks';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

/** Stands in for the SDK's default credential chain in the bundles (see lambda-credentials.ts). */
export const LAMBDA_CREDENTIALS = join(REPO_ROOT, 'infra/bundling/lambda-credentials.ts');

/** The module that loads every method by `import()`, and the build its functions get instead (./method-chunks.ts). */
const METHOD_LOADERS = join(REPO_ROOT, 'shared/api/method-loaders.ts');
const METHOD_CHUNKS_BUILD = join(REPO_ROOT, 'infra/bundling/method-chunks.ts');

/** Data files the code reads beside itself (`new URL('./name', import.meta.url)`): copied into the assets whose code names them. */
const DATA_FILES = [join(REPO_ROOT, 'shared/domain/events/event-types/default-event-types.json')];

/**
 * The tracer (and the X-Ray SDK it pulls, ~10× the size of the logger and metrics) is loaded
 * only when tracing is on (shared/tracing.ts); without the `tracing` setting it is left out
 * of the bundles, where its import is never reached.
 */
export const TRACER_PACKAGE = '@aws-lambda-powertools/tracer';

/** How a function is built, besides its entry. */
export interface FunctionBuildSettings {
  /** Ship source maps (`sourceMaps` setting; the function then gets NODE_OPTIONS=--enable-source-maps). */
  sourceMaps: boolean;
  /** Bundle the tracer (`tracing` setting). */
  tracing: boolean;
  /** Modules bundled with the entry and loaded before it (esbuild `inject`): a method's parameter validators. */
  inject?: readonly string[];
}

/**
 * The esbuild options of every function: minified self-contained ESM for Node.js 22, the AWS
 * SDK bundled (the versions in package-lock.json run, not whatever SDK v3 the runtime ships),
 * credentials from the environment only, a `require` for the CommonJS dependencies inside ESM,
 * no source maps unless asked (they weigh four times the code and slow the cold start).
 */
export function functionBuildOptions(settings: FunctionBuildSettings): BuildOptions {
  return {
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    minify: true,
    sourcemap: settings.sourceMaps,
    mainFields: ['module', 'main'],
    alias: { '@aws-sdk/credential-provider-node': LAMBDA_CREDENTIALS },
    external: settings.tracing ? [] : [TRACER_PACKAGE],
    inject: [...(settings.inject ?? [])],
    banner: { js: "import { createRequire as __pryvCreateRequire } from 'module'; const require = __pryvCreateRequire(import.meta.url);" },
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunk-[hash]',
    logLevel: 'warning',
  };
}

/** Builds `entry` into `outdir` (`index.mjs` and its chunks), with the data files its code names. */
export function buildFunction(entry: string, outdir: string, settings: FunctionBuildSettings): void {
  const options: BuildOptions = {
    ...functionBuildOptions(settings),
    absWorkingDir: process.cwd(),
    entryPoints: { index: resolve(entry) },
    outdir: resolve(outdir),
  };
  const built = buildSync({ ...options, metafile: true, write: false });
  if (Object.hasOwn(built.metafile.inputs, relative(process.cwd(), METHOD_LOADERS))) {
    // The functions that run any method (./method-chunks.ts): built again, their method chunks importing the entry.
    const input: MethodChunksBuild = { entry: resolve(entry), loaders: METHOD_LOADERS, options };
    execFileSync(process.execPath, ['--import', 'tsx', METHOD_CHUNKS_BUILD], {
      cwd: REPO_ROOT,
      input: JSON.stringify(input),
      stdio: ['pipe', 'inherit', 'inherit'],
    });
  } else {
    for (const file of built.outputFiles) {
      mkdirSync(dirname(file.path), { recursive: true });
      writeFileSync(file.path, file.contents);
    }
  }
  const code = readdirSync(outdir)
    .filter((name) => name.endsWith('.mjs'))
    .map((name) => readFileSync(join(outdir, name), 'utf8'));
  for (const file of DATA_FILES) {
    const name = basename(file);
    if (code.some((text) => text.includes(name))) copyFileSync(file, join(outdir, name));
  }
}

/**
 * The Lambda code of `entry` (a path under the repository), built by buildFunction when CDK
 * stages the asset. Its hash is the output's, so an unchanged bundle is not uploaded again.
 */
export function functionCode(entry: string, settings: FunctionBuildSettings): Code {
  return Code.fromAsset(dirname(entry), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never pulled: local bundling always builds (or throws), CDK requires an image anyway.
      image: DockerImage.fromRegistry('pryv-bundling-in-process'),
      // Part of CDK's cache key for the asset: the entry and the settings make each function's own.
      command: ['esbuild', relative(REPO_ROOT, entry), JSON.stringify(settings)],
      local: {
        tryBundle(outputDir: string) {
          buildFunction(entry, outputDir, settings);
          return true;
        },
      },
    },
  });
}
