import { errors } from '../../errors';

/**
 * Content queries on `events.get` (Pryv API reference §2.2.1, v2): conditions on a value inside
 * an event's `content` or `clientData`, all AND-ed. Over HTTP each parameter is a stringified
 * JSON array (as `streams` is); batch and socket calls may pass the array itself.
 */

export type ConditionField = 'content' | 'clientData';
type Scalar = string | number | boolean;
const OPERATORS = ['eq', 'neq', 'in', 'exists', 'gt', 'gte', 'lt', 'lte', 'prefix'] as const;
type Operator = (typeof OPERATORS)[number];

export interface ContentCondition {
  field: ConditionField;
  /** Keys from the field's root; empty for `$` (the field's value itself). */
  path: string[];
  op: Operator;
  value: Scalar | Scalar[];
}

/** Bounds that keep one read's matching work small and its parameters readable. */
export const MAX_CONDITIONS = 10;
export const MAX_IN_VALUES = 100;
const ROOT = '$';
const SEGMENT = /^[a-zA-Z0-9_:-]+$/;

const isScalar = (v: unknown): v is Scalar =>
  typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

/** The conditions of `content` and `clientData`, checked; a 400 invalid-parameters-format names the first wrong one. */
export function parseContentConditions(params: { content?: unknown; clientData?: unknown }): ContentCondition[] {
  const out: ContentCondition[] = [];
  for (const field of ['content', 'clientData'] as const) {
    const raw = params[field];
    if (raw === undefined || raw === null) continue;
    out.push(...parseField(field, raw));
  }
  return out;
}

function parseField(field: ConditionField, raw: unknown): ContentCondition[] {
  const bad = (message: string) => errors.invalidParametersFormat(`The "${field}" parameter: ${message}`, { param: field });
  let list = raw;
  if (typeof raw === 'string') {
    try {
      list = JSON.parse(raw);
    } catch {
      throw bad('not valid JSON (expected an array of conditions such as [{"path":"a.b","eq":1}]).');
    }
  }
  if (!Array.isArray(list)) throw bad('expected an array of conditions.');
  if (list.length > MAX_CONDITIONS) throw bad(`at most ${MAX_CONDITIONS} conditions (got ${list.length}).`);
  return list.map((item, i) => {
    const which = `condition ${i + 1}`;
    if (item === null || typeof item !== 'object' || Array.isArray(item))
      throw bad(`${which} must be an object with "path" and one operator.`);
    const condition = item as Record<string, unknown>;
    const path = condition.path;
    if (typeof path !== 'string' || path.length === 0) throw bad(`${which} needs a "path" string ("$" for the value itself).`);
    const segments = path === ROOT ? [] : path.split('.');
    const wrong = segments.find((s) => !SEGMENT.test(s));
    if (wrong !== undefined) throw bad(`${which}: path segment "${wrong}" may only hold letters, digits, "_", ":" and "-".`);
    const keys = Object.keys(condition).filter((k) => k !== 'path');
    const unknown = keys.filter((k) => !(OPERATORS as readonly string[]).includes(k));
    if (unknown.length > 0)
      throw bad(`${which} has unknown key(s) ${unknown.map((k) => `"${k}"`).join(', ')}; operators are ${OPERATORS.join(', ')}.`);
    if (keys.length !== 1) throw bad(`${which} must hold exactly one operator among ${OPERATORS.join(', ')}.`);
    const op = keys[0] as Operator;
    return { field, path: segments, op, value: checkValue(op, condition[op], (m) => bad(`${which}: ${m}`)) };
  });
}

function checkValue(op: Operator, value: unknown, bad: (message: string) => Error): Scalar | Scalar[] {
  switch (op) {
    case 'eq':
    case 'neq':
      if (!isScalar(value)) throw bad(`"${op}" takes a string, a finite number or a boolean (not null, an array or an object).`);
      return value;
    case 'in':
      if (!Array.isArray(value) || value.length === 0) throw bad('"in" takes a non-empty array.');
      if (value.length > MAX_IN_VALUES) throw bad(`"in" takes at most ${MAX_IN_VALUES} values (got ${value.length}).`);
      if (!value.every(isScalar)) throw bad('"in" values must be strings, finite numbers or booleans.');
      return value;
    case 'exists':
      if (typeof value !== 'boolean') throw bad('"exists" takes true or false.');
      return value;
    case 'prefix':
      if (typeof value !== 'string' || value.length === 0) throw bad('"prefix" takes a non-empty string.');
      return value;
    default:
      if (typeof value !== 'number' || !Number.isFinite(value)) throw bad(`"${op}" takes a finite number.`);
      return value;
  }
}

/** The value at `path` inside `root`: own keys of plain objects only (no array index, no prototype). */
function valueAt(root: unknown, path: string[]): unknown {
  let current = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    if (!Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** Strict JSON typing: `1` never equals `"1"`, `true` never equals `1`. */
const same = (a: unknown, b: Scalar) => typeof a === typeof b && a === b;

function matches(event: { content?: unknown; clientData?: unknown }, c: ContentCondition): boolean {
  const root = event[c.field];
  const v = root === undefined ? undefined : valueAt(root, c.path);
  switch (c.op) {
    case 'exists':
      return (v !== undefined) === c.value;
    case 'eq':
      return same(v, c.value as Scalar);
    case 'neq':
      // A missing value is not "different from": only present values are compared.
      return v !== undefined && !same(v, c.value as Scalar);
    case 'in':
      return (c.value as Scalar[]).some((x) => same(v, x));
    case 'prefix':
      return typeof v === 'string' && v.startsWith(c.value as string);
    case 'gt':
      return typeof v === 'number' && v > (c.value as number);
    case 'gte':
      return typeof v === 'number' && v >= (c.value as number);
    case 'lt':
      return typeof v === 'number' && v < (c.value as number);
    case 'lte':
      return typeof v === 'number' && v <= (c.value as number);
  }
}

/** Whether an event meets every condition (none: every event does). */
export function meetsConditions(event: { content?: unknown; clientData?: unknown }, conditions: ContentCondition[]): boolean {
  for (const c of conditions) if (!matches(event, c)) return false;
  return true;
}
