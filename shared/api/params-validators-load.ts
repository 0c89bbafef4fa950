import { hasParamsValidator } from './params-validators';

/**
 * Loads one method's strict validator (./params-validators.ts: what batch and socket calls
 * use, never coerced) on demand: in the chunked builds of the functions that run any method,
 * each module is a chunk of its own. Apart from
 * ./params-validators.ts because esbuild bundles every module this `import()` may name: only
 * those functions (./method-loaders.ts) and the local runtime import it.
 */
export async function loadParamsValidators(methodId: string): Promise<void> {
  if (hasParamsValidator(methodId, 'strict')) return;
  // Left to the runtime by vitest's transform (@vite-ignore): its own expansion of this import
  // lists the folder's files when the module is first transformed, which in a fresh clone is
  // before the local runtime has generated them. esbuild still expands it when bundling.
  await import(/* @vite-ignore */ `./params-validators.generated/${methodId}.strict.mjs`);
}
