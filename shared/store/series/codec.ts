import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { SeriesRows } from '../../model/series';

/**
 * The compact encoding of one chunk of points (a stored item's `d` attribute):
 *
 *   u8 version (1) · u32 rows · u16 columns
 *   deltaTime column: rows × 8 bytes, each float64 XORed with the previous one
 *   per value column: u16 name length · name (UTF-8) · u8 kind
 *     kind 0: rows × 8 bytes, float64 XORed with the previous one (every value a number)
 *     kind 1: u32 length · JSON array (anything else: strings, booleans, nulls, objects)
 *
 * then deflated (raw, level 1). XOR with the previous value turns evenly spaced times and
 * slowly changing readings into runs of zero bytes, which deflate removes; the decoded
 * numbers are bit for bit the ones written.
 */

const VERSION = 1;
const NUMBERS = 0;
const JSON_VALUES = 1;

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

export function encodeChunk(rows: SeriesRows): Buffer {
  const n = rows.deltaTimes.length;
  const parts: Array<{ name: Buffer; numbers: boolean; json?: Buffer; values: unknown[] }> = [];
  let size = 1 + 4 + 2 + n * 8;
  for (const [name, values] of Object.entries(rows.columns)) {
    const numbers = values.every((v) => typeof v === 'number');
    const part = {
      name: Buffer.from(name, 'utf8'),
      numbers,
      values,
      json: numbers ? undefined : Buffer.from(JSON.stringify(values), 'utf8'),
    };
    size += 2 + part.name.length + 1 + (numbers ? n * 8 : 4 + part.json!.length);
    parts.push(part);
  }
  const out = Buffer.alloc(size);
  let offset = out.writeUInt8(VERSION, 0);
  offset = out.writeUInt32BE(n, offset);
  offset = out.writeUInt16BE(parts.length, offset);
  offset = putXorColumn(out, offset, rows.deltaTimes);
  for (const part of parts) {
    offset = out.writeUInt16BE(part.name.length, offset);
    offset += part.name.copy(out, offset);
    offset = out.writeUInt8(part.numbers ? NUMBERS : JSON_VALUES, offset);
    if (part.numbers) offset = putXorColumn(out, offset, part.values);
    else {
      offset = out.writeUInt32BE(part.json!.length, offset);
      offset += part.json!.copy(out, offset);
    }
  }
  return deflateRawSync(out, { level: 1 });
}

export function decodeChunk(data: Uint8Array): SeriesRows {
  const buf = inflateRawSync(data);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.readUInt8(0) !== VERSION) throw new Error(`Unknown series chunk encoding ${buf.readUInt8(0)}`);
  const n = buf.readUInt32BE(1);
  const count = buf.readUInt16BE(5);
  let offset = 7;
  const deltaTimes = readXorColumn(view, offset, n);
  offset += n * 8;
  const columns: Record<string, unknown[]> = {};
  for (let c = 0; c < count; c++) {
    const nameLength = buf.readUInt16BE(offset);
    const name = buf.toString('utf8', offset + 2, offset + 2 + nameLength);
    offset += 2 + nameLength;
    const kind = buf.readUInt8(offset++);
    if (kind === NUMBERS) {
      columns[name] = readXorColumn(view, offset, n);
      offset += n * 8;
    } else {
      const length = buf.readUInt32BE(offset);
      columns[name] = JSON.parse(buf.toString('utf8', offset + 4, offset + 4 + length)) as unknown[];
      offset += 4 + length;
    }
  }
  return { deltaTimes, columns };
}
