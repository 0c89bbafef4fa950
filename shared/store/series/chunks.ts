import type { SeriesRows } from '../../model/series';
import { batchDelete } from '../batch';
import { dynamo, table } from '../clients';
import { GetCommand, QueryCommand } from '../commands';
import { keys } from '../keys';
import { queryPages } from '../query';
import { encodeNumber } from '../sort-keys';
import { type TransactItem, transactWrite } from '../transact';
import { decodeChunk, encodeChunk } from './codec';

/**
 * HF series points in chunk items (layout in ../keys.ts): a chunk holds up to
 * {@link MAX_CHUNK_ROWS} rows, compactly encoded (./codec.ts), and covers the times from its
 * key to the next chunk's key. Reading a range is one Query over the chunks it overlaps;
 * writing rewrites only the chunks the new points fall in, each conditional on the version
 * read, all of one call in one transaction, so concurrent writers lose nothing (the loser
 * re-reads and merges again) and a call is stored whole or not at all.
 *
 * Reads are eventually consistent (half the read units) for every chunk no write touched in
 * the last {@link SETTLED_AFTER_MS}: each write records, in the same transaction, when it
 * wrote and the lowest chunk key it wrote (the series' `~writes` item, read strongly by every
 * read), and a read takes the chunks from the lowest recently written key on strongly
 * consistent. A client that adds points and then reads them reads every chunk its write
 * touched (or created by a split, which are keyed after it) strongly.
 */

/** Rows per chunk: a 1,000-point write touches one or two chunks; 100 k points are ~100 chunks. */
export const MAX_CHUNK_ROWS = 1000;
/**
 * Encoded bytes per chunk, well under DynamoDB's 400 KB item limit and small enough that
 * 100 of them fit in one transaction (4 MB); rows with large values split further.
 */
export const MAX_CHUNK_BYTES = 32 * 1024;
/** TransactWriteItems takes at most 100 items. */
export const MAX_CHUNKS_PER_WRITE = 100;

/**
 * How long after a write its chunks are still read strongly consistent. DynamoDB's replicas
 * usually agree within a second; the bound also covers a write that commits late (an API call
 * stops at 29 s) and clock differences between functions.
 */
export const SETTLED_AFTER_MS = 60_000;

/** A recent write: when it was made (ms since the epoch) and the lowest chunk key it wrote. */
export type WriteMark = [at: number, lowest: string];

/**
 * The marks still within the bound at `now`, plus a new one. Marks of one second merge (their
 * latest time, their lowest key), so the list holds at most ~61 entries.
 */
export function addMark(marks: WriteMark[], now: number, lowest: string): WriteMark[] {
  const bySecond = new Map<number, WriteMark>();
  for (const [at, key] of [...marks.filter(([at]) => at > now - SETTLED_AFTER_MS), [now, lowest] as WriteMark]) {
    const second = Math.floor(at / 1000);
    const seen = bySecond.get(second);
    bySecond.set(second, seen ? [Math.max(seen[0], at), lowerKey(key, seen[1])] : [at, key]);
  }
  return [...bySecond.values()].sort((a, b) => a[0] - b[0]);
}

/** The lowest chunk key written within the bound at `now` (read strongly from it on), or undefined when every chunk has settled. */
export function unsettledFrom(marks: WriteMark[], now: number): string | undefined {
  let lowest: string | undefined;
  for (const [at, key] of marks) if (at > now - SETTLED_AFTER_MS && (lowest === undefined || key < lowest)) lowest = key;
  return lowest;
}

/** The lower of two chunk keys (strings: Math.min does not apply). */
const lowerKey = (a: string, b: string): string => [a, b].sort()[0]!;

/** The chunk key just below `key` (keys are 16 hex digits), or undefined below the lowest. */
function keyBelow(key: string): string | undefined {
  const value = BigInt(`0x${key}`);
  return value === 0n ? undefined : (value - 1n).toString(16).padStart(16, '0');
}

async function readMarks(u: string, eventId: string): Promise<{ marks: WriteMark[]; version: number }> {
  const out = await dynamo().send(new GetCommand({ TableName: table(), Key: keys.seriesWrites(u, eventId), ConsistentRead: true }));
  return { marks: (out.Item?.m as WriteMark[] | undefined) ?? [], version: (out.Item?.v as number | undefined) ?? 0 };
}

interface Chunk {
  start: number;
  sk: string;
  version: number;
  bytes: number;
  rows: SeriesRows;
}

function toChunk(item: Record<string, unknown>): Chunk {
  const data = item.d as Uint8Array;
  return {
    start: keys.seriesChunkStart(item.sk as string),
    sk: item.sk as string,
    version: item.v as number,
    bytes: data.byteLength,
    rows: decodeChunk(data),
  };
}

/** What a read cost, for the benchmark. */
export interface SeriesReadStats {
  chunks: number;
  /** Of which read eventually consistent. */
  settled?: number;
}

/**
 * The rows of a series with `from ≤ deltaTime ≤ to`, ascending: the chunk covering `from`
 * (the last one keyed at or before it) and the chunks keyed inside the range, nothing else.
 */
export async function readSeries(
  u: string,
  eventId: string,
  from: number,
  to: number,
  stats?: SeriesReadStats,
  now: number = Date.now(),
): Promise<SeriesRows> {
  const pk = keys.seriesChunks(u, eventId);
  const [first, { marks }] = await Promise.all([
    dynamo().send(
      new QueryCommand({
        TableName: table(),
        KeyConditionExpression: 'pk = :pk AND sk <= :from',
        ExpressionAttributeValues: { ':pk': pk, ':from': encodeNumber(from) },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    ),
    readMarks(u, eventId),
  ]);
  const items = [...(first.Items ?? [])];
  let settled = 0;
  if (to > from) {
    // `from` itself was the first Query's (a chunk keyed exactly there is its answer).
    const lo = `${encodeNumber(from)}\u0000`;
    const hi = encodeNumber(to);
    const unsettled = unsettledFrom(marks, now);
    const ranges: Array<{ lo: string; hi: string; consistent: boolean }> = [];
    const settledHi = unsettled === undefined ? hi : keyBelow(unsettled);
    if (settledHi !== undefined) ranges.push({ lo, hi: lowerKey(settledHi, hi), consistent: false });
    if (unsettled !== undefined) ranges.push({ lo: [unsettled, lo].sort()[1]!, hi, consistent: true });
    const parts = await Promise.all(
      ranges
        .filter((range) => range.lo <= range.hi)
        .map(async (range) => {
          const found: Record<string, unknown>[] = [];
          for await (const page of queryPages({
            TableName: table(),
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
            ExpressionAttributeValues: { ':pk': pk, ':lo': range.lo, ':hi': range.hi },
            ConsistentRead: range.consistent,
          })) {
            found.push(...page);
          }
          if (!range.consistent) settled += found.length;
          return found;
        }),
    );
    for (const part of parts) items.push(...part);
  }
  if (stats) {
    stats.chunks += items.length;
    stats.settled = (stats.settled ?? 0) + settled;
  }
  const out: SeriesRows = { deltaTimes: [], columns: {} };
  for (const item of items) appendRange(out, decodeChunk(item.d as Uint8Array), from, to);
  return out;
}

/** Appends the rows of `rows` inside [from, to] to `out` (chunks come in ascending order). */
function appendRange(out: SeriesRows, rows: SeriesRows, from: number, to: number): void {
  const n = rows.deltaTimes.length;
  let i = 0;
  while (i < n && rows.deltaTimes[i]! < from) i++;
  let j = i;
  while (j < n && rows.deltaTimes[j]! <= to) j++;
  if (j === i) return;
  const before = out.deltaTimes.length;
  for (let k = i; k < j; k++) out.deltaTimes.push(rows.deltaTimes[k]!);
  const names = new Set([...Object.keys(out.columns), ...Object.keys(rows.columns)]);
  for (const name of names) {
    out.columns[name] ??= new Array<unknown>(before).fill(null);
    const column = out.columns[name];
    const source = rows.columns[name];
    for (let k = i; k < j; k++) column.push(source ? source[k] : null);
  }
}

/** Merges sorted `added` rows into sorted `base` rows; on equal `deltaTime` the added row replaces the stored one. */
export function mergeRows(base: SeriesRows, added: SeriesRows): SeriesRows {
  const names = [...new Set([...Object.keys(base.columns), ...Object.keys(added.columns)])];
  const out: SeriesRows = { deltaTimes: [], columns: Object.fromEntries(names.map((n) => [n, [] as unknown[]])) };
  const take = (from: SeriesRows, k: number) => {
    out.deltaTimes.push(from.deltaTimes[k]!);
    for (const name of names) out.columns[name]!.push(from.columns[name]?.[k] ?? null);
  };
  let i = 0;
  let j = 0;
  const a = base.deltaTimes;
  const b = added.deltaTimes;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]! < b[j]!)) take(base, i++);
    else {
      if (i < a.length && a[i] === b[j]) i++;
      take(added, j++);
    }
  }
  return out;
}

function sliceRows(rows: SeriesRows, from: number, to: number): SeriesRows {
  const columns: Record<string, unknown[]> = {};
  for (const [name, values] of Object.entries(rows.columns)) columns[name] = values.slice(from, to);
  return { deltaTimes: rows.deltaTimes.slice(from, to), columns };
}

/** Cuts rows into encoded pieces within the row and byte limits (consecutive, full pieces first). */
function pieces(rows: SeriesRows): Array<{ rows: SeriesRows; data: Buffer }> {
  const out: Array<{ rows: SeriesRows; data: Buffer }> = [];
  const add = (part: SeriesRows) => {
    const data = encodeChunk(part);
    if (data.byteLength > MAX_CHUNK_BYTES && part.deltaTimes.length > 1) {
      const half = Math.ceil(part.deltaTimes.length / 2);
      add(sliceRows(part, 0, half));
      add(sliceRows(part, half, part.deltaTimes.length));
    } else out.push({ rows: part, data });
  };
  const n = rows.deltaTimes.length;
  for (let k = 0; k < n; k += MAX_CHUNK_ROWS) add(sliceRows(rows, k, Math.min(n, k + MAX_CHUNK_ROWS)));
  return out;
}

/** The chunks that new rows in [min, max] fall in: the one covering `min` and those keyed after it up to `max`. */
async function chunksCovering(u: string, eventId: string, min: number, max: number): Promise<Chunk[]> {
  const found: Chunk[] = [];
  const lowest = encodeNumber(min);
  let start: Record<string, unknown> | undefined;
  do {
    const out = await dynamo().send(
      new QueryCommand({
        TableName: table(),
        KeyConditionExpression: 'pk = :pk AND sk <= :max',
        ExpressionAttributeValues: { ':pk': keys.seriesChunks(u, eventId), ':max': encodeNumber(max) },
        ScanIndexForward: false,
        // Appends (the usual write) need one chunk, the last one: read just it first.
        Limit: found.length === 0 ? 1 : 25,
        ExclusiveStartKey: start,
        ConsistentRead: true,
      }),
    );
    for (const item of out.Items ?? []) {
      found.push(toChunk(item));
      if ((item.sk as string) <= lowest) return found.reverse();
    }
    start = out.LastEvaluatedKey;
  } while (start);
  return found.reverse();
}

/** Rows to add to one series: sorted by `deltaTime`, no duplicates. */
export interface SeriesWrite {
  eventId: string;
  rows: SeriesRows;
}

/** Thrown when a write would need more chunk items than one transaction takes. */
export class SeriesWriteTooLarge extends Error {}

/**
 * Stores the rows of one or more series in one transaction. Answers 'stale' when another
 * writer changed a chunk meanwhile (nothing was written: read again and retry), otherwise the
 * change in stored bytes (for the account's storage usage).
 */
export async function writeSeries(u: string, writes: SeriesWrite[], now: number = Date.now()): Promise<{ bytes: number } | 'stale'> {
  const items: TransactItem[] = [];
  let bytes = 0;
  for (const write of writes) {
    const { deltaTimes } = write.rows;
    if (deltaTimes.length === 0) continue;
    const [chunks, recent] = await Promise.all([
      chunksCovering(u, write.eventId, deltaTimes[0]!, deltaTimes[deltaTimes.length - 1]!),
      readMarks(u, write.eventId),
    ]);
    if (chunks.length === 0)
      chunks.push({ start: -Infinity, sk: encodeNumber(-Infinity), version: 0, bytes: 0, rows: { deltaTimes: [], columns: {} } });
    // Each new row goes to the last chunk keyed at or before it (the first one if none is).
    let k = 0;
    let c = 0;
    while (k < deltaTimes.length) {
      while (c + 1 < chunks.length && chunks[c + 1]!.start <= deltaTimes[k]!) c++;
      const end = c + 1 < chunks.length ? chunks[c + 1]!.start : Infinity;
      let m = k;
      while (m < deltaTimes.length && deltaTimes[m]! < end) m++;
      const chunk = chunks[c]!;
      const merged = mergeRows(chunk.rows, sliceRows(write.rows, k, m));
      const parts = pieces(merged);
      parts.forEach((part, index) => {
        const start = index === 0 ? chunk.start : part.rows.deltaTimes[0]!;
        const item = {
          ...keys.seriesChunk(u, write.eventId, start),
          v: index === 0 ? chunk.version + 1 : 1,
          n: part.rows.deltaTimes.length,
          d: part.data,
        };
        const stored = index === 0 && chunk.version > 0;
        items.push({
          Put: {
            TableName: undefined,
            Item: item,
            ConditionExpression: stored ? 'v = :v' : 'attribute_not_exists(pk)',
            ExpressionAttributeValues: stored ? { ':v': chunk.version } : undefined,
          },
        });
        bytes += part.data.byteLength;
      });
      bytes -= chunk.bytes;
      k = m;
    }
    // chunks[0] covers the lowest new time: the lowest key this write touches (splits key theirs after it).
    const lowest = chunks[0]!.sk;
    items.push({
      Put: {
        TableName: undefined,
        Item: { ...keys.seriesWrites(u, write.eventId), v: recent.version + 1, m: addMark(recent.marks, now, lowest) },
        ConditionExpression: recent.version > 0 ? 'v = :v' : 'attribute_not_exists(pk)',
        ExpressionAttributeValues: recent.version > 0 ? { ':v': recent.version } : undefined,
      },
    });
  }
  if (items.length === 0) return { bytes: 0 };
  if (items.length > MAX_CHUNKS_PER_WRITE) throw new SeriesWriteTooLarge(`${items.length} chunks`);
  const failed = await transactWrite(items);
  return failed.length > 0 ? 'stale' : { bytes };
}

/** Removes every point of a series; answers the bytes freed. Safe to repeat. */
export async function deleteSeries(u: string, eventId: string): Promise<number> {
  let bytes = 0;
  for await (const page of queryPages({
    TableName: table(),
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': keys.seriesChunks(u, eventId) },
    ProjectionExpression: 'pk, sk, d',
    ConsistentRead: true,
  })) {
    for (const item of page) bytes += (item.d as Uint8Array | undefined)?.byteLength ?? 0; // the `~writes` item has none
    await batchDelete(page.map((item) => ({ pk: item.pk as string, sk: item.sk as string })));
  }
  return bytes;
}

/** Every row of a series, chunk by chunk (export). */
export async function* seriesChunks(u: string, eventId: string): AsyncGenerator<SeriesRows> {
  for await (const page of queryPages({
    TableName: table(),
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': keys.seriesChunks(u, eventId) },
    ConsistentRead: true,
  })) {
    for (const item of page) if (item.d) yield decodeChunk(item.d as Uint8Array); // not the `~writes` item
  }
}
