import type { ValidateFunction } from 'ajv';

/**
 * Each API method's parameter validators, compiled at build time from its `params` schema
 * (infra/bundling/params-validators.ts writes them as plain JavaScript into
 * ./params-validators.generated/, one module per method): no function compiles a schema nor
 * carries ajv's compiler. A method's module hands its validators over here when it loads:
 * a function's bundle includes its own method's module, the functions that run any method
 * load it with the method (./method-loaders.ts), the local runtime loads them all.
 */
export interface ParamsValidators {
  /** For JSON bodies: never coerced. */
  strict: ValidateFunction;
  /** For query strings, which carry only text: `"20"` → 20, `a` → `[a]` (Pryv API reference §1.4). */
  coercing: ValidateFunction;
}

/**
 * Where the generated modules put their validators, under a global name rather than an import
 * of this module: a bundle loads them first (esbuild `inject`), before this module is evaluated.
 */
export const PARAMS_VALIDATORS_KEY = 'pryv.paramsValidators';

const global = globalThis as { [key: symbol]: Map<string, ParamsValidators> | undefined };
const KEY = Symbol.for(PARAMS_VALIDATORS_KEY);
global[KEY] ??= new Map();
const provided: Map<string, ParamsValidators> = global[KEY];

/** What a generated module does as it loads (tests that declare methods of their own call it). */
export function provideParamsValidators(methodId: string, validators: ParamsValidators): void {
  provided.set(methodId, validators);
}

/** The method's validator; a method whose module was not loaded is a build error (a 500), never unvalidated input. */
export function paramsValidator(methodId: string, coerce: boolean): ValidateFunction {
  const validators = provided.get(methodId);
  if (!validators) throw new Error(`no parameter validators for ${methodId}: its generated module was not loaded`);
  return coerce ? validators.coercing : validators.strict;
}

/** Whether the method's validators are loaded. */
export const hasParamsValidators = (methodId: string) => provided.has(methodId);
