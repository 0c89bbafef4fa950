import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { errors } from './errors';

/**
 * Parameter validation. Query strings carry only text, so query-sourced params are
 * coerced (`"20"` → 20, `a` → `[a]`, spec §1.4); JSON bodies are never coerced.
 */
/** A JSON schema, as ajv reads it. */
export type JsonSchema = Record<string, unknown>;

// Made on first use, each: building an Ajv instance is a cold start's cost, and a function
// whose method takes only a JSON body (or only a query) never needs the other one.
let strict: Ajv | undefined;
let coercing: Ajv | undefined;

const compiled = new WeakMap<JsonSchema, { strict?: ValidateFunction; coercing?: ValidateFunction }>();

function validator(schema: JsonSchema, coerce: boolean): ValidateFunction {
  let entry = compiled.get(schema);
  if (!entry) {
    entry = {};
    compiled.set(schema, entry);
  }
  if (coerce) {
    coercing ??= new Ajv({ allErrors: true, strict: false, coerceTypes: 'array' });
    entry.coercing ??= coercing.compile(schema);
    return entry.coercing;
  }
  strict ??= new Ajv({ allErrors: true, strict: false });
  entry.strict ??= strict.compile(schema);
  return entry.strict;
}

/** ajv keyword → the z-schema code Pryv clients see in `error.data[].code` (spec §1.7). */
const CODES: Record<string, string> = {
  type: 'INVALID_TYPE',
  required: 'OBJECT_MISSING_REQUIRED_PROPERTY',
  additionalProperties: 'OBJECT_ADDITIONAL_PROPERTIES',
  pattern: 'PATTERN',
  minLength: 'MIN_LENGTH',
  maxLength: 'MAX_LENGTH',
  enum: 'ENUM_MISMATCH',
  const: 'ENUM_MISMATCH',
  minimum: 'MINIMUM',
  maximum: 'MAXIMUM',
  minItems: 'ARRAY_LENGTH_SHORT',
  maxItems: 'ARRAY_LENGTH_LONG',
  format: 'INVALID_FORMAT',
  oneOf: 'ONE_OF_MISSING',
  anyOf: 'ANY_OF_MISSING',
};

export interface ValidationItem {
  code: string;
  message: string;
  path: string;
  params?: unknown;
  param?: string;
}

export function toValidationItems(list: ErrorObject[]): ValidationItem[] {
  return list.map((e) => {
    let path = e.instancePath;
    let params: unknown = Object.values(e.params);
    if (e.keyword === 'required') {
      params = [(e.params as { missingProperty: string }).missingProperty];
    }
    if (e.keyword === 'additionalProperties') {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      params = [extra];
      path = `${path}/${extra}`;
    }
    return { code: CODES[e.keyword] ?? e.keyword.toUpperCase(), message: e.message ?? 'invalid', path: `#${path}`, params };
  });
}

/** Validates (and, for query params, coerces in place); throws `invalid-parameters-format`. */
export function validateParams(schema: JsonSchema, params: unknown, coerce: boolean): void {
  const validate = validator(schema, coerce);
  if (!validate(params)) {
    throw errors.invalidParametersFormat("The parameters' format is invalid.", toValidationItems(validate.errors ?? []));
  }
}
