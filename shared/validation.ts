import type { ErrorObject, ValidateFunction } from 'ajv';
import { errors } from './errors';

/**
 * Parameter validation: the validators themselves are compiled at build time from each
 * method's schema (shared/api/params-validators.ts); this is what their errors mean to a
 * Pryv client. Query-sourced params are coerced by their validator (`"20"` → 20, `a` → `[a]`,
 * spec §1.4); JSON bodies are never coerced.
 */
/** A JSON schema, as ajv reads it. */
export type JsonSchema = Record<string, unknown>;

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

/** Validates with `validate` (a coercing validator coerces in place); throws `invalid-parameters-format`. */
export function checkParams(validate: ValidateFunction, params: unknown): void {
  if (!validate(params)) {
    throw errors.invalidParametersFormat("The parameters' format is invalid.", toValidationItems(validate.errors ?? []));
  }
}
