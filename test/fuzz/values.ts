/**
 * The odd values the fuzz harness plants in requests: boundary numbers (sent as raw JSON
 * number text, so 1e309 reaches the server as written), huge strings, deep values, odd ids
 * and keys. Built once and shared: the 1 MB and 10,000-level values are large.
 */

/** A JSON number written exactly as given (JSON.stringify would turn 1e309 into null). */
export class RawNumber {
  constructor(readonly text: string) {}
}

/**
 * JSON text of a value holding RawNumbers (and own `__proto__` keys, kept as plain keys).
 * Written with an explicit stack: a 10,000-level value overflows JSON.stringify with a replacer.
 */
export function toJsonText(value: unknown): string {
  const out: string[] = [];
  type Frame = { kind: 'value'; value: unknown } | { kind: 'text'; text: string };
  const stack: Frame[] = [{ kind: 'value', value }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.kind === 'text') {
      out.push(frame.text);
      continue;
    }
    const v = frame.value;
    if (v instanceof RawNumber) out.push(v.text);
    else if (Array.isArray(v)) {
      const frames: Frame[] = [{ kind: 'text', text: '[' }];
      v.forEach((item, i) => {
        if (i > 0) frames.push({ kind: 'text', text: ',' });
        frames.push({ kind: 'value', value: item === undefined ? null : item });
      });
      frames.push({ kind: 'text', text: ']' });
      stack.push(...frames.reverse());
    } else if (v !== null && typeof v === 'object') {
      const frames: Frame[] = [{ kind: 'text', text: '{' }];
      Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .forEach(([k, x], i) => {
          frames.push({ kind: 'text', text: `${i > 0 ? ',' : ''}${JSON.stringify(k)}:` });
          frames.push({ kind: 'value', value: x });
        });
      frames.push({ kind: 'text', text: '}' });
      stack.push(...frames.reverse());
    } else out.push(JSON.stringify(v) ?? 'null');
  }
  return out.join('');
}

/** A query-string or path rendering of a value: strings as they are, the rest as JSON text. */
export function toText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof RawNumber) return value.text;
  return toJsonText(value) ?? 'undefined';
}

/** Numbers at and beyond the edges of what a double and DynamoDB (±1E-130 … ±9.99E+125, 38 digits) hold. */
export const BOUNDARY_NUMBERS: readonly RawNumber[] = [
  '1e309',
  '-1e309',
  '-1.79e308',
  '1.7976931348623157e308',
  '-1.7976931348623157e308',
  '5e-324',
  '1e126',
  '-9.99e125',
  '1e-131',
  '123456789012345678901234567890',
  '-123456789012345678901234567890',
  '9007199254740993',
  '0.1234567890123456789012345678901234567890123',
  '-0',
  '-1',
  '0',
].map((t) => new RawNumber(t));

/** Strings a number parser may trip on. */
export const NUMBER_LIKE_STRINGS: readonly string[] = [
  'NaN',
  'Infinity',
  '-Infinity',
  '1e309',
  '0x10',
  ' 1',
  '1,5',
  '',
  '--1',
  '1e',
  'null',
];

/** Strings that are not plain data where ids, names and keys are expected. */
export const ODD_STRINGS: readonly string[] = [
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
  '',
  ' ',
  '*',
  'null',
  'undefined',
  '../../etc/passwd',
  'a/b',
  'a?b=c',
  'a#b',
  '%00',
  '%',
  'a\u0000b',
  '\u0000',
  '\ud800',
  'é✓🙂',
  '\u202eevil',
  'line\nbreak',
  '"quoted\'',
  '\\',
  'a'.repeat(300),
  'x'.repeat(2100),
  '🙂'.repeat(700),
];

let hugeString: string | undefined;
/** A 1 MB string (for bodies: over DynamoDB's 400 KB item size). */
export const hugeBodyString = (): string => (hugeString ??= 'x'.repeat(1024 * 1024));
/** Long strings that still fit in a URL or a header (the request line and headers stay under Node's 16 KB). */
export const LONG_URL_STRINGS: readonly string[] = ['x'.repeat(2100), 'y'.repeat(5000), `${'é'.repeat(1100)}`];

/** An object nested `levels` deep (built iteratively: no recursion limit to hit). */
export function deepObject(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}
/** An array nested `levels` deep. */
export function deepArray(levels: number): unknown[] {
  let value: unknown[] = [1];
  for (let i = 1; i < levels; i++) value = [value];
  return value;
}
const deepCache = new Map<string, unknown>();
/** Deep values: just over DynamoDB's 32 nesting levels, and far over any stack's taste. */
export function deepValue(kind: 'object' | 'array', levels: 40 | 1000 | 10000): unknown {
  const key = `${kind}${levels}`;
  if (!deepCache.has(key)) deepCache.set(key, kind === 'object' ? deepObject(levels) : deepArray(levels));
  return deepCache.get(key);
}

/** Objects whose keys are not plain data. Computed keys make `__proto__` an own key, as JSON.parse does. */
export const ODD_KEY_OBJECTS: readonly Record<string, unknown>[] = [
  { ['__proto__']: { polluted: true } },
  { constructor: { prototype: { polluted: true } } },
  { ['__proto__']: 'x', a: 1 },
  { '': 1 },
  { ['k'.repeat(2100)]: 1 },
  { 'a.b': 1, $where: '1', '#x': 2 },
  { hasOwnProperty: 1, toString: 2, valueOf: 3 },
];

/** Values of every JSON type, for "wrong type" mutations. */
export const WRONG_TYPE_VALUES: readonly unknown[] = [42, -1, 1.5, true, false, null, 'str', [], {}, [1, 'a', null], { a: 1 }];

/** Maximum nesting of a parsed JSON value, counted iteratively. */
export function depthOf(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    const depth = d + 1;
    if (depth > max) max = depth;
    for (const child of Object.values(v as object)) stack.push([child, depth]);
  }
  return max;
}

/** Largest string (value or key) in a parsed JSON value, in UTF-8 bytes; and whether a number is out of DynamoDB's range. */
export function scan(value: unknown): { longestString: number; numberOutOfRange: boolean; protoKey: boolean } {
  let longestString = 0;
  let numberOutOfRange = false;
  let protoKey = false;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') longestString = Math.max(longestString, Buffer.byteLength(v));
    else if (typeof v === 'number') {
      const abs = Math.abs(v);
      if (!Number.isFinite(v) || abs >= 1e126 || (abs > 0 && abs < 1e-130)) numberOutOfRange = true;
    } else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v as object)) {
        longestString = Math.max(longestString, Buffer.byteLength(k));
        if (k === '__proto__' || k === 'constructor' || k === 'prototype') protoKey = true;
        stack.push(child);
      }
    }
  }
  return { longestString, numberOutOfRange, protoKey };
}
