import { hasParamsValidators } from './params-validators';

/**
 * Loads one method's generated validators (./params-validators.ts) on demand: in the chunked
 * builds of the functions that run any method, each module is a chunk of its own. Apart from
 * ./params-validators.ts because esbuild bundles every module this `import()` may name: only
 * those functions (./method-loaders.ts) and the local runtime import it.
 */
export async function loadParamsValidators(methodId: string): Promise<void> {
  if (hasParamsValidators(methodId)) return;
  await import(`./params-validators.generated/${methodId}.mjs`);
}
