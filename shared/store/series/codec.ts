import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { SeriesRows } from '../../model/series';

/**
 * The compact encoding of one chunk of points (a stored item's `d` attribute):
 *
 *   u8 version (2) · u32 rows · u16 columns
 *   deltaTime column: u8 kind, then the kind's bytes (below; kind 0 or 2)
 *   per value column: u16 name length · name (UTF-8) · u8 kind, then the kind's bytes:
 *     kind 0: rows × 8 bytes, float64 XORed with the previous one (every value a number)
 *     kind 1: u32 length · JSON array (anything else: strings, booleans, nulls, objects)
 *     kind 2: u8 decimals d · u32 length · rows zigzag varints: each value × 10^d (an integer)
 *             minus the previous one (every value a number with at most 6 decimals that
 *             comes back bit for bit as that integer / 10^d: sensor readings, epoch seconds)
 *     kind 3: u8 decimals d · u32 length · two zigzag varints: the first value × 10^d and the
 *             step between consecutive ones (what kind 2 would hold when all its differences
 *             but the first are equal: regular times, a constant value; the rows are its count)
 *
 * then deflated (raw, level 1; see {@link pack} for the bytes deflate would not shrink). XOR with the previous value turns evenly spaced times and
 * slowly changing readings into runs of zero bytes, which deflate removes; decimals take 1–3
 * bytes before deflate instead of 8, and regular times (epoch seconds, 100 Hz in hundredths) a
 * few bytes for the whole column (kind 3, written since 2026-12-07: deflate then has a third
 * less to go through for a 1,000-point write of random readings, the most of its encoding's
 * CPU). The decoded numbers are bit for bit the ones written (kinds 2 and 3 are chosen only
 * when every value round-trips).
 *
 * Version 1 (stored before) is the same but for its deltaTime column: always rows × 8 bytes
 * of XORed float64, no kind byte. Both are read; only version 2 is written.
 */

const VERSION = 2;
/** The first encoding: its deltaTime column is always XORed float64s. */
const VERSION_XOR_TIMES = 1;
const NUMBERS = 0;
const JSON_VALUES = 1;
const DECIMALS = 2;
const STEPS = 3;
const MAX_DECIMALS = 6;
const POWERS = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000];
/** Integers (× 10^d) stay within ±2^50, so differences of two stay exact and varints ≤ 8 bytes. */
const MAX_SCALED = 2 ** 50;

/**
 * The fewest decimals (0–6) with which every value is an integer over 10^d that divides back
 * to the very same float64 (-0 and non-numbers excluded), or undefined.
 */
function decimalsOf(values: ArrayLike<unknown>): number | undefined {
  if (values.length === 0) return undefined;
  for (let d = 0; d <= MAX_DECIMALS; d++) {
    const power = POWERS[d]!;
    let fits = true;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== 'number') return undefined;
      const scaled = Math.round(v * power);
      if (!(Math.abs(scaled) <= MAX_SCALED && scaled / power === v && !Object.is(v, -0))) {
        fits = false;
        break;
      }
    }
    if (fits) return d;
  }
  return undefined;
}

/** Writes a zigzag varint (without 32-bit operators: differences pass 2^31); answers the offset after it. */
function putVarint(out: Buffer, offset: number, delta: number): number {
  let z = delta >= 0 ? delta * 2 : -delta * 2 - 1;
  while (z >= 128) {
    out[offset++] = (z % 128) | 128;
    z = Math.floor(z / 128);
  }
  out[offset++] = z;
  return offset;
}

/**
 * Zigzag varints of the differences between consecutive scaled values (kind 2), or of the
 * first value and the one step when every difference but the first is the same (kind 3).
 */
function decimalBytes(values: ArrayLike<unknown>, d: number): { kind: number; bytes: Buffer } {
  const power = POWERS[d]!;
  const out = Buffer.allocUnsafe(values.length * 8);
  let offset = 0;
  let previous = 0;
  let step: number | undefined;
  let steady = values.length > 2;
  for (let i = 0; i < values.length; i++) {
    const scaled = Math.round((values[i] as number) * power);
    const delta = scaled - previous;
    previous = scaled;
    if (i === 1) step = delta;
    else if (i > 1 && delta !== step) steady = false;
    offset = putVarint(out, offset, delta);
  }
  if (!steady) return { kind: DECIMALS, bytes: out.subarray(0, offset) };
  const first = Math.round((values[0] as number) * power);
  return { kind: STEPS, bytes: out.subarray(0, putVarint(out, putVarint(out, 0, first), step!)) };
}

/** Reads a zigzag varint at `at.offset` (moved past it). */
function readVarint(buf: Buffer, at: { offset: number }, end: number): number {
  let z = 0;
  let scale = 1;
  let byte: number;
  do {
    if (at.offset >= end) throw new Error('Truncated decimal column in a series chunk');
    byte = buf[at.offset++]!;
    z += (byte & 127) * scale;
    scale *= 128;
  } while (byte >= 128);
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

function readDecimals(buf: Buffer, offset: number, end: number, rows: number, d: number, kind: number): number[] {
  const power = POWERS[d]!;
  const out = new Array<number>(rows);
  const at = { offset };
  if (kind === STEPS) {
    const first = readVarint(buf, at, end);
    const step = readVarint(buf, at, end);
    for (let i = 0; i < rows; i++) {
      const scaled = first + i * step;
      out[i] = d === 0 ? scaled : scaled / power;
    }
    return out;
  }
  let previous = 0;
  for (let i = 0; i < rows; i++) {
    previous += readVarint(buf, at, end);
    out[i] = d === 0 ? previous : previous / power;
  }
  return out;
}

function putXorColumn(out: Buffer, offset: number, values: ArrayLike<unknown>): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const scratch = new DataView(new ArrayBuffer(8));
  let prevHi = 0;
  let prevLo = 0;
  for (let i = 0; i < values.length; i++) {
    scratch.setFloat64(0, values[i] as number);
    const hi = scratch.getUint32(0);
    const lo = scratch.getUint32(4);
    view.setUint32(offset, (hi ^ prevHi) >>> 0);
    view.setUint32(offset + 4, (lo ^ prevLo) >>> 0);
    prevHi = hi;
    prevLo = lo;
    offset += 8;
  }
  return offset;
}

function readXorColumn(view: DataView, offset: number, rows: number): number[] {
  const scratch = new DataView(new ArrayBuffer(8));
  const out = new Array<number>(rows);
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < rows; i++) {
    hi = (hi ^ view.getUint32(offset)) >>> 0;
    lo = (lo ^ view.getUint32(offset + 4)) >>> 0;
    scratch.setUint32(0, hi);
    scratch.setUint32(4, lo);
    out[i] = scratch.getFloat64(0);
    offset += 8;
  }
  return out;
}

/** A column's encoding, chosen from its values; `size`: the bytes it takes after its kind byte. */
interface ColumnPart {
  kind: number;
  values: ArrayLike<unknown>;
  decimals?: number;
  bytes?: Buffer;
  size: number;
}

function columnPart(values: ArrayLike<unknown>, numbers: boolean): ColumnPart {
  const decimals = decimalsOf(values);
  if (decimals !== undefined) {
    const { kind, bytes } = decimalBytes(values, decimals);
    return { kind, values, decimals, bytes, size: 1 + 4 + bytes.length };
  }
  if (numbers || Array.prototype.every.call(values, (v) => typeof v === 'number'))
    return { kind: NUMBERS, values, size: values.length * 8 };
  const bytes = Buffer.from(JSON.stringify(values), 'utf8');
  return { kind: JSON_VALUES, values, bytes, size: 4 + bytes.length };
}

function putColumn(out: Buffer, offset: number, part: ColumnPart): number {
  offset = out.writeUInt8(part.kind, offset);
  if (part.kind === NUMBERS) return putXorColumn(out, offset, part.values);
  if (part.kind === DECIMALS || part.kind === STEPS) offset = out.writeUInt8(part.decimals!, offset);
  offset = out.writeUInt32BE(part.bytes!.length, offset);
  return offset + part.bytes!.copy(out, offset);
}

/** Reads a column written by {@link putColumn}; answers its values and the offset after it. */
function readColumn(buf: Buffer, view: DataView, offset: number, rows: number): [unknown[], number] {
  const kind = buf.readUInt8(offset++);
  if (kind === NUMBERS) return [readXorColumn(view, offset, rows), offset + rows * 8];
  if (kind === DECIMALS || kind === STEPS) {
    const d = buf.readUInt8(offset);
    const length = buf.readUInt32BE(offset + 1);
    return [readDecimals(buf, offset + 5, offset + 5 + length, rows, d, kind), offset + 5 + length];
  }
  if (kind !== JSON_VALUES) throw new Error(`Unknown series column kind ${kind}`);
  const length = buf.readUInt32BE(offset);
  return [JSON.parse(buf.toString('utf8', offset + 4, offset + 4 + length)) as unknown[], offset + 4 + length];
}

/** Below this, deflate is cheap whatever it finds: no estimate. */
const ESTIMATE_FROM = 256;
/** Deflate when the estimate says it saves at least this share (random readings' varints: ~2 %). */
const DEFLATE_BELOW = 0.95;
/** A stored block holds at most this many bytes. */
const STORED_MAX = 65_535;

/**
 * The size, in bytes, of `buf` coded with one ideal code per byte value (its order-0
 * entropy): about what deflate's Huffman coding makes of bytes without repeats. It does not
 * see repeated runs (deflate's matches), so it errs towards deflating.
 */
function entropyBytes(buf: Buffer): number {
  const counts = new Uint32Array(256);
  for (let i = 0; i < buf.length; i++) counts[buf[i]!]!++;
  let bits = 0;
  for (let c = 0; c < 256; c++) {
    const n = counts[c]!;
    if (n > 0) bits -= n * Math.log2(n / buf.length);
  }
  return bits / 8;
}

/**
 * The encoded chunk as raw deflate (RFC 1951). Columns of random readings (a varint per
 * value, every byte value about as likely) do not shrink: deflate would cost most of the
 * encoding's CPU for nothing, so such bytes go as stored blocks (the format's own way to
 * carry bytes as they are; any inflater reads them, and {@link unpack} without inflating).
 */
function pack(raw: Buffer): Buffer {
  if (raw.length < ESTIMATE_FROM || entropyBytes(raw) < raw.length * DEFLATE_BELOW) return deflateRawSync(raw, { level: 1 });
  const blocks = Math.max(1, Math.ceil(raw.length / STORED_MAX));
  const out = Buffer.allocUnsafe(raw.length + 5 * blocks);
  let offset = 0;
  for (let b = 0; b < blocks; b++) {
    const from = b * STORED_MAX;
    const length = Math.min(STORED_MAX, raw.length - from);
    out[offset] = b === blocks - 1 ? 1 : 0; // BFINAL, BTYPE 00 (stored)
    out.writeUInt16LE(length, offset + 1);
    out.writeUInt16LE(length ^ 0xffff, offset + 3);
    offset += 5 + raw.copy(out, offset + 5, from, from + length);
  }
  return out;
}

/** The encoded chunk: a single final stored block is its bytes as they are; anything else is inflated. */
function unpack(data: Uint8Array): Buffer {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length >= 5 && (buf[0]! & 7) === 1) {
    const length = buf.readUInt16LE(1);
    if ((length ^ 0xffff) === buf.readUInt16LE(3) && buf.length === 5 + length) return buf.subarray(5);
  }
  return inflateRawSync(buf);
}

export function encodeChunk(rows: SeriesRows): Buffer {
  const n = rows.deltaTimes.length;
  const times = columnPart(rows.deltaTimes, true);
  const parts: Array<{ name: Buffer; part: ColumnPart }> = [];
  let size = 1 + 4 + 2 + 1 + times.size;
  for (const [name, values] of Object.entries(rows.columns)) {
    const part = { name: Buffer.from(name, 'utf8'), part: columnPart(values, false) };
    size += 2 + part.name.length + 1 + part.part.size;
    parts.push(part);
  }
  const out = Buffer.alloc(size);
  let offset = out.writeUInt8(VERSION, 0);
  offset = out.writeUInt32BE(n, offset);
  offset = out.writeUInt16BE(parts.length, offset);
  offset = putColumn(out, offset, times);
  for (const { name, part } of parts) {
    offset = out.writeUInt16BE(name.length, offset);
    offset += name.copy(out, offset);
    offset = putColumn(out, offset, part);
  }
  return pack(out);
}

export function decodeChunk(data: Uint8Array): SeriesRows {
  const buf = unpack(data);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = buf.readUInt8(0);
  if (version !== VERSION && version !== VERSION_XOR_TIMES) throw new Error(`Unknown series chunk encoding ${version}`);
  const n = buf.readUInt32BE(1);
  const count = buf.readUInt16BE(5);
  let offset = 7;
  let deltaTimes: number[];
  if (version === VERSION_XOR_TIMES) {
    deltaTimes = readXorColumn(view, offset, n);
    offset += n * 8;
  } else {
    let times: unknown[];
    [times, offset] = readColumn(buf, view, offset, n);
    deltaTimes = times as number[];
  }
  const columns: Record<string, unknown[]> = {};
  for (let c = 0; c < count; c++) {
    const nameLength = buf.readUInt16BE(offset);
    const name = buf.toString('utf8', offset + 2, offset + 2 + nameLength);
    [columns[name], offset] = readColumn(buf, view, offset + 2 + nameLength, n);
  }
  return { deltaTimes, columns };
}
