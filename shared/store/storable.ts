/**
 * Makes a free-form value storable in a DynamoDB item whatever it holds, for records that
 * must never be refused (the audit log): what DynamoDB cannot hold is turned into something
 * it can, visibly.
 * - numbers outside DynamoDB's range (±1E-130 … ±9.9999999999999999999999999999999999999E+125)
 *   or not finite (`Infinity` from `1e309`) → their text, e.g. `"-1.7976931348623157e+308"`;
 * - strings over `maxString` characters → cut, ending with `…[cut: N chars]`;
 * - nesting deeper than `maxDepth` → `"<object>"` / `"<array:n>"`;
 * - keys that are not plain data (`__proto__`, `constructor`, `prototype`, `""`) → `"<key:…>"`,
 *   so that no assignment touches a prototype and the marshaller sees plain objects;
 * - anything else that is not JSON data (functions, symbols, bigints) → its type in angle brackets.
 */
// biome-ignore lint/correctness/noPrecisionLoss: DynamoDB's documented maximum, written as documented; the double nearest to it is what compares
const DYNAMODB_MAX_NUMBER = 9.9999999999999999999999999999999999999e125;
const DYNAMODB_MIN_POSITIVE_NUMBER = 1e-130;
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype', '']);

export interface StorableOptions {
  maxDepth: number;
  maxString: number;
}

export function isStorableNumber(n: number): boolean {
  if (!Number.isFinite(n)) return false;
  const magnitude = Math.abs(n);
  return magnitude === 0 || (magnitude >= DYNAMODB_MIN_POSITIVE_NUMBER && magnitude <= DYNAMODB_MAX_NUMBER);
}

export const storableKey = (key: string): string => (UNSAFE_KEYS.has(key) ? `<key:${key}>` : key);

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}…[cut: ${s.length} chars]`;
}

export function storable(value: unknown, options: StorableOptions, depth = 0): unknown {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') return isStorableNumber(value) ? value : String(value);
  if (typeof value === 'string') return cut(value, options.maxString);
  if (Array.isArray(value)) {
    if (depth >= options.maxDepth) return `<array:${value.length}>`;
    return value.map((v) => storable(v, options, depth + 1));
  }
  if (typeof value === 'object') {
    if (depth >= options.maxDepth) return '<object>';
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      out[cut(storableKey(k), options.maxString)] = storable(v, options, depth + 1);
    }
    return out;
  }
  return `<${typeof value}>`;
}
