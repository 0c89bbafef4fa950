import { randomBytes } from 'node:crypto';

/**
 * Pryv v1 ids: cuid-shaped strings (`c` + 24 lowercase alphanumerics, spec §3.7), so our
 * ids pass the same client-side patterns. The time prefix keeps ids roughly ordered; the
 * rest is cryptographically random, which the (deprecated) `cuid` package did not promise.
 */
let counter = 0;
export function newId(): string {
  const time = Date.now().toString(36).padStart(8, '0').slice(-8);
  counter = (counter + 1) % 1296;
  const count = counter.toString(36).padStart(2, '0');
  const random = [...randomBytes(14)].map((b) => (b % 36).toString(36)).join('');
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
