/**
 * The build of the functions that run any method (callBatch, the socket message function),
 * run by buildFunction (./function-code.ts) in a child process: esbuild takes plugins only in
 * its asynchronous API, and CDK stages an asset synchronously.
 *
 * Why: shared/api/method-loaders.ts loads each method module by `import()`, so each is an
 * entry point of esbuild's code splitting, and esbuild cuts the code the function's entry
 * loads at start into one chunk per set of method modules that also use it: 41 files at a
 * cold start of the socket message function, 24 for callBatch, each costing its own resolve,
 * read and compile (~0.8 ms of init CPU each, twice the entry's own work). Here each method
 * module is reached through a module that imports the entry as well: everything the entry
 * loads at start is then shared by every method chunk, and lands in one chunk. A method chunk
 * is only ever imported after the entry ran, so this adds nothing to what a call loads.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, type Plugin } from 'esbuild';

/** What buildFunction sends on the child's standard input. */
export interface MethodChunksBuild {
  /** The function's entry and the method loaders' module, absolute paths. */
  entry: string;
  loaders: string;
  /** Every esbuild option but the plugin: the function's entry points and output folder included. */
  options: BuildOptions;
}

const NAMESPACE = 'method-chunk';

/** Each `import('./methods/…')` of `loaders` loads a module that imports `entry`, then re-exports the method module. */
export function methodChunksImportTheEntry(entry: string, loaders: string): Plugin {
  return {
    name: 'method-chunks-import-the-entry',
    setup(esbuild) {
      esbuild.onResolve({ filter: /^\.\/methods\// }, async (args) => {
        if (args.kind !== 'dynamic-import' || args.importer !== loaders) return undefined;
        const module = await esbuild.resolve(args.path, { kind: 'import-statement', resolveDir: args.resolveDir });
        if (module.errors.length > 0) return { errors: module.errors };
        return { path: module.path, namespace: NAMESPACE };
      });
      esbuild.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => ({
        contents: `import ${JSON.stringify(entry)};\nexport * from ${JSON.stringify(args.path)};\n`,
        resolveDir: dirname(args.path),
        loader: 'ts',
      }));
    },
  };
}

// Run as the child process (function-code.ts imports only the types).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { entry, loaders, options } = JSON.parse(readFileSync(0, 'utf8')) as MethodChunksBuild;
  await build({ ...options, plugins: [methodChunksImportTheEntry(entry, loaders)] });
}
