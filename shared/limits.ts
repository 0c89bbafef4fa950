import { errors, type PryvError } from './errors';
import type { ValidationItem } from './validation';

/**
 * Input limits, declared once (README "Input limits" lists them with their values). Each is
 * checked before the lookup or write it would break, so a value the store cannot hold gets
 * Pryv's usual answer instead of a database error: a name or id that cannot exist is not
 * found (404) or not a token (403), anything else is `400 invalid-parameters-format` naming
 * the field.
 */
export const LIMITS = {
  /** Pryv API reference §8; every account is created through it, so a path username that does not match names nobody. */
  usernamePattern: /^[a-z0-9][a-z0-9-]{3,58}[a-z0-9]$/,
  /** Longest access token looked up (ours are 25 characters; client-chosen ones are held to it too). */
  tokenMaxLength: 256,
  /** Longest id in a path ({id}, {fileId}, …): ids we issue are far shorter, longer ones name nothing. */
  pathIdMaxLength: 256,
  /** Pryv API reference §8. */
  emailMaxLength: 300,
  /** Levels of nesting of a method's params (an object or array is one level). DynamoDB stores 32; the stored item and its audit record add a few. */
  depth: 24,
  /** Bytes of a method's params as JSON: what one DynamoDB item (400 KB) can hold with the item's own attributes. */
  paramsBytes: 350 * 1024,
  /** Bytes one DynamoDB transaction carries (an event and all its index copies are written in one). */
  transactionBytes: 4_000_000,
  /** DynamoDB numbers: magnitudes below 1E+126 and, except 0, at least 1E-130. */
  numberMaxExclusive: 1e126,
  numberMinMagnitude: 1e-130,
  /** Property names refused anywhere in params: they reach object prototypes, or DynamoDB refuses them (""). */
  reservedKeys: ['__proto__', 'constructor', 'prototype', ''] as readonly string[],
  /** DynamoDB key sizes (UTF-8 bytes) and S3's object key size; store/keys.ts holds every key to them. */
  partitionKeyBytes: 2048,
  sortKeyBytes: 1024,
  objectKeyBytes: 1024,
  /**
   * Longest an API function runs (infra/constructs/functions.ts; API Gateway gives up at 30 s):
   * a write made by a call commits at most this long after the call's `now`.
   */
  apiCallSeconds: 29,
  /** Longest the export and import worker runs (Lambda's maximum; infra/constructs/export-worker.ts). */
  jobSeconds: 900,
  /**
   * Allowance for clocks of two containers to differ and for a request sent just before a
   * function's end to still commit: added to the two above wherever a reader relies on them.
   */
  clockSkewSeconds: 5,
} as const;

/** Query bounds that are clamped into DynamoDB's number range instead of refused (the `@pryv/monitor` asks ±1.79e308). */
const TIME_FILTERS = ['fromTime', 'toTime', 'modifiedSince', 'includeDeletionsSince'] as const;
const LARGEST_NUMBER = 9.99e125;

const refusal = (path: string, code: string, message: string): PryvError =>
  errors.invalidParametersFormat(message, [{ code, message, path: `#${path}`, param: path.split('/')[1] ?? '' } satisfies ValidationItem]);

const pointer = (path: string, key: string | number) => `${path}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;

/** Characters shown of a value in a message (a 5,000-character name is not echoed back whole). */
export const shown = (value: string, max = 80): string => (value.length > max ? `${value.slice(0, max)}…` : value);

/**
 * A value met by the walks below, with how it was reached: its JSON pointer is only built
 * when a limit names it (a 1,000-point series write holds ~3,000 values; a string per value
 * was most of the walk's cost).
 */
interface Visit {
  value: unknown;
  parent: Visit | undefined;
  key: string | number;
  depth: number;
  /** The top-level param the value is in ('' for the params themselves). */
  top: string;
}

function pathOf(visit: Visit): string {
  const keys: Array<string | number> = [];
  for (let v: Visit | undefined = visit; v?.parent; v = v.parent) keys.push(v.key);
  let path = '';
  for (let i = keys.length - 1; i >= 0; i--) path = pointer(path, keys[i]!);
  return path;
}

/** The top-level param a child is in: its own key at the top, else its parent's. */
const topOf = (visit: Visit, key: string | number): string => (visit.parent ? visit.top : String(key));

/** Bytes a scalar takes in the size estimate (a string's UTF-8 bytes and quotes; anything else 8). */
const scalarSize = (value: unknown): number => (typeof value === 'string' ? Buffer.byteLength(value) + 2 : 8);

/** The size of an array that holds only scalars (as the walk would count it), or -1 when it holds an object or array. */
function scalarArraySize(value: object): number {
  if (!Array.isArray(value)) return -1;
  let size = 0;
  for (let i = 0; i < value.length; i++) {
    const v: unknown = value[i];
    if (v !== null && typeof v === 'object') return -1;
    size += scalarSize(v);
  }
  return size;
}

/** Whether an array holds only scalars, its numbers all storable (a walk entry then finds nothing to refuse in it). */
function storableScalars(value: object): boolean {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) {
    const v: unknown = value[i];
    if (typeof v === 'number' ? !storableNumber(v) : v !== null && typeof v === 'object') return false;
  }
  return true;
}

/**
 * The shape limits of a method's params, checked before its schema (one iterative walk: a
 * 10,000-level value costs no stack): nesting depth, reserved property names, and size.
 * Throws `invalid-parameters-format` naming the field. Scalars are sized where their
 * container is met, without an entry of the walk each: a 1,000-point series write holds
 * ~3,000 of them in arrays, and an entry per value was most of the walk's cost.
 */
export function checkParamsShape(params: unknown): void {
  const topSizes = new Map<string, number>();
  let total = 0;
  const add = (top: string, size: number) => {
    total += size;
    topSizes.set(top, (topSizes.get(top) ?? 0) + size);
  };
  if (params === null || typeof params !== 'object') add('', scalarSize(params));
  else {
    const stack: Visit[] = [{ value: params, parent: undefined, key: '', depth: 1, top: '' }];
    while (stack.length > 0) {
      const visit = stack.pop()!;
      const { value, depth } = visit;
      if (depth > LIMITS.depth) {
        const path = pathOf(visit);
        throw refusal(
          path,
          'TOO_DEEP',
          `The value at "${shown(path || '/')}" nests more than ${LIMITS.depth} levels of objects and arrays.`,
        );
      }
      if (Array.isArray(value)) {
        let scalars = 0;
        for (let i = 0; i < value.length; i++) {
          const child: unknown = value[i];
          if (child !== null && typeof child === 'object') {
            // An array of scalars within the depth limit breaks no limit: sized here, without an
            // entry of the walk (a 1,000-point series write is 1,000 of them).
            const size = depth < LIMITS.depth ? scalarArraySize(child) : -1;
            if (size > 0) add(topOf(visit, i), size);
            else if (size < 0) stack.push({ value: child, parent: visit, key: i, depth: depth + 1, top: topOf(visit, i) });
          } else if (visit.parent) scalars += scalarSize(child);
          else add(String(i), scalarSize(child));
        }
        if (scalars > 0) add(visit.top, scalars);
        continue;
      }
      let size = 0;
      for (const key of Object.keys(value as object)) {
        if (LIMITS.reservedKeys.includes(key)) {
          const path = pathOf(visit);
          throw refusal(
            pointer(path, key),
            'RESERVED_KEY',
            `The property name "${key}" (at "${shown(path || '/')}") is not allowed: use another name.`,
          );
        }
        size += Buffer.byteLength(key) + 3;
        const child = (value as Record<string, unknown>)[key];
        if (child !== null && typeof child === 'object') {
          stack.push({ value: child, parent: visit, key, depth: depth + 1, top: topOf(visit, key) });
        } else add(topOf(visit, key), scalarSize(child));
      }
      add(visit.top, size);
    }
  }
  if (total > LIMITS.paramsBytes) {
    const [largest] = [...topSizes.entries()].sort((a, b) => b[1] - a[1])[0]!;
    const what = largest === '' ? 'The request' : `"${shown(largest)}"`;
    throw refusal(
      largest === '' ? '' : `/${largest}`,
      'TOO_LARGE',
      `${what} is too large: the parameters take about ${total} bytes, at most ${LIMITS.paramsBytes} can be stored (attach large data as a file).`,
    );
  }
}

const storableNumber = (n: number) =>
  Number.isFinite(n) && Math.abs(n) < LIMITS.numberMaxExclusive && (n === 0 || Math.abs(n) >= LIMITS.numberMinMagnitude);

/**
 * Numbers after the schema coerced the params: the query bounds are clamped into the range
 * DynamoDB stores (so ±1e308 still means "from the beginning / until the end"); any other
 * number outside it is refused, naming the field.
 */
export function checkParamsNumbers(params: unknown): void {
  if (params !== null && typeof params === 'object' && !Array.isArray(params)) {
    const record = params as Record<string, unknown>;
    for (const name of TIME_FILTERS) {
      const v = record[name];
      if (typeof v === 'number' && !Number.isNaN(v) && !storableNumber(v)) {
        record[name] = Math.abs(v) < LIMITS.numberMinMagnitude ? 0 : Math.sign(v) * LARGEST_NUMBER;
      }
    }
  }
  const outOfRange = (visit: Visit) => {
    const path = pathOf(visit);
    return refusal(
      path,
      'NUMBER_OUT_OF_RANGE',
      `The number at "${shown(path || '/')}" is out of range: numbers must be finite, below 1e126 in magnitude and, unless 0, at least 1e-130.`,
    );
  };
  const root: Visit = { value: params, parent: undefined, key: '', depth: 1, top: '' };
  if (typeof params === 'number' && !storableNumber(params)) throw outOfRange(root);
  if (params === null || typeof params !== 'object') return;
  // Numbers are checked where their container is met; a walk entry is made for a bad one only, to name it.
  const stack: Visit[] = [root];
  while (stack.length > 0) {
    const visit = stack.pop()!;
    const value = visit.value as object;
    const depth = visit.depth + 1;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const child: unknown = value[i];
        if (typeof child === 'number') {
          if (!storableNumber(child)) throw outOfRange({ value: child, parent: visit, key: i, depth, top: '' });
        } else if (child !== null && typeof child === 'object' && !storableScalars(child)) {
          stack.push({ value: child, parent: visit, key: i, depth, top: '' });
        }
      }
      continue;
    }
    for (const key of Object.keys(value)) {
      const child = (value as Record<string, unknown>)[key];
      if (typeof child === 'number') {
        if (!storableNumber(child)) throw outOfRange({ value: child, parent: visit, key, depth, top: '' });
      } else if (child !== null && typeof child === 'object') stack.push({ value: child, parent: visit, key, depth, top: '' });
    }
  }
}

/** Whether a path username can name an account at all (else: unknown user, without a lookup). */
export const isPossibleUsername = (username: string): boolean => LIMITS.usernamePattern.test(username);

/** Whether a token can open an access at all (else: invalid token, without a lookup). */
export const isPossibleToken = (token: string): boolean => token.length <= LIMITS.tokenMaxLength;

/** A key part too long for DynamoDB or S3: refused before the call (store/keys.ts). */
export function keyTooLong(kind: 'partition' | 'sort' | 'object', bytes: number): PryvError {
  const max = kind === 'partition' ? LIMITS.partitionKeyBytes : kind === 'sort' ? LIMITS.sortKeyBytes : LIMITS.objectKeyBytes;
  return errors.invalidParametersFormat(
    `An id or name in the request is too long: the key it makes takes ${bytes} bytes, at most ${max} are allowed. Use a shorter one.`,
    [{ code: 'MAX_LENGTH', message: 'id or name too long', path: '#', params: [max] } satisfies ValidationItem],
  );
}
