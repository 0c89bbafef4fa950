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

const provided = new Map<string, ParamsValidators>();

/** Called by each generated module as it loads. */
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
