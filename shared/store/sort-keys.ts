/**
 * Order-preserving string encodings for sort keys. Any float64 (negative, fractional,
 * ±1e308, ±Infinity) maps to 16 hex characters whose byte order equals the numeric order,
 * so time ranges are key ranges (a Query, never a Scan).
 */
const buffer = new DataView(new ArrayBuffer(8));

export function encodeNumber(value: number): string {
  buffer.setFloat64(0, value === 0 ? 0 : value); // -0 sorts as 0
  let hi = buffer.getUint32(0);
  let lo = buffer.getUint32(4);
  if (hi & 0x80000000) {
    // negative: invert every bit so larger magnitudes sort first
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
  } else {
    hi = (hi | 0x80000000) >>> 0;
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

export function decodeNumber(key: string): number {
  let hi = parseInt(key.slice(0, 8), 16);
  let lo = parseInt(key.slice(8, 16), 16);
  if (hi & 0x80000000) {
    hi = (hi & 0x7fffffff) >>> 0;
  } else {
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
  }
  buffer.setUint32(0, hi);
  buffer.setUint32(4, lo);
  return buffer.getFloat64(0);
}

/** Key of an item ordered by a number then by id (ties broken by id). */
export const orderedKey = (value: number, id: string): string => `${encodeNumber(value)}#${id}`;

/** Bounds that include every orderedKey whose number lies in [from, to]. */
export const keyBounds = (from: number, to: number): [string, string] => [`${encodeNumber(from)}#`, `${encodeNumber(to)}#\uffff`];
