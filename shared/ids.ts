import { randomBytes, randomFillSync } from 'node:crypto';

/**
 * Pryv v1 ids: cuid-shaped strings (`c` + 24 lowercase alphanumerics, spec §3.7), so our
 * ids pass the same client-side patterns. The time prefix keeps ids roughly ordered; the
 * rest is cryptographically random, which the (deprecated) `cuid` package did not promise.
 */
let counter = 0;
/**
 * Random bytes for ids, drawn from the system's CSPRNG 4 KB at a time: one call per ~290 ids
 * instead of one per id (every write makes two: the item's and its audit record's).
 */
const pool = Buffer.alloc(4096);
let poolUsed = pool.length;
const ID_RANDOM_CHARS = 14;

export function newId(): string {
  const time = Date.now().toString(36).padStart(8, '0').slice(-8);
  counter = (counter + 1) % 1296;
  const count = counter.toString(36).padStart(2, '0');
  if (poolUsed + ID_RANDOM_CHARS > pool.length) {
    randomFillSync(pool);
    poolUsed = 0;
  }
  let random = '';
  for (let i = 0; i < ID_RANDOM_CHARS; i++) random += (pool[poolUsed + i]! % 36).toString(36);
  // Used bytes are never handed out again.
  poolUsed += ID_RANDOM_CHARS;
  return `c${time}${count}${random}`;
}

/** Tokens: cuid-shaped but wholly random (24 base-36 characters, ~124 bits), no time prefix. */
export function newToken(): string {
  return `c${[...randomBytes(24)].map((b) => (b % 36).toString(36)).join('')}`;
}

/** Random alphanumeric key, e.g. the 16-char access-request key. */
export function randomKey(length: number): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  return [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join('');
}

export const RESERVED_IDS = new Set(['null', 'undefined', '*']);
