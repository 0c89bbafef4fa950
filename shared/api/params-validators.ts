import type { ValidateFunction } from 'ajv';

/**
 * Each API method's parameter validators, compiled at build time from its `params` schema
 * (infra/bundling/params-validators.ts writes them as plain JavaScript into
 * ./params-validators.generated/, one module per method and kind): no function compiles a
 * schema nor carries ajv's compiler. A module hands its validator over here when it loads: a
 * function's bundle includes the kinds its method's routes use (a query string is coerced,
 * a JSON body never), the functions that run any method load the strict one with the method
 * (./method-loaders.ts: batch and socket calls are never coerced), the local runtime loads all.
 */
export type ParamsValidatorKind = 'strict' | 'coercing';

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

const global = globalThis as { [key: symbol]: Map<string, Partial<ParamsValidators>> | undefined };
const KEY = Symbol.for(PARAMS_VALIDATORS_KEY);
global[KEY] ??= new Map();
const provided: Map<string, Partial<ParamsValidators>> = global[KEY];

/** What a generated module does as it loads (tests that declare methods of their own call it). */
export function provideParamsValidators(methodId: string, validators: Partial<ParamsValidators>): void {
  provided.set(methodId, { ...provided.get(methodId), ...validators });
}

/** The method's validator; one whose module was not loaded is a build error (a 500), never unvalidated input. */
export function paramsValidator(methodId: string, coerce: boolean): ValidateFunction {
  const kind: ParamsValidatorKind = coerce ? 'coercing' : 'strict';
  const validator = provided.get(methodId)?.[kind];
  if (!validator) throw new Error(`no ${kind} parameter validator for ${methodId}: its generated module was not loaded`);
  return validator;
}

/** Whether the method's validator of that kind is loaded. */
export const hasParamsValidator = (methodId: string, kind: ParamsValidatorKind) => provided.get(methodId)?.[kind] !== undefined;
