import { randomBytes } from 'node:crypto';
import { log } from '../../log';
import type { SeriesRows } from '../../model/series';
import { batchDelete } from '../batch';
import { type CounterAdd, type ItemInsert, insertItem } from '../call-records';
import { dynamo, table } from '../clients';
import { DeleteCommand, QueryCommand, UpdateCommand } from '../commands';
import { ifConditionHolds } from '../conditional';
import { keys } from '../keys';
import { queryAll, queryPages } from '../query';
import { encodeNumber } from '../sort-keys';
import { type TransactItem, transactWrite } from '../transact';
import { decodeChunk, encodeChunk } from './codec';
import { loadSeriesStates, type SeriesState, tallyAdd } from './state';

/**
 * HF series points (layout in ../keys.ts), in two kinds of items:
 *
 * - chunks: up to {@link MAX_CHUNK_ROWS} rows, compactly encoded (./codec.ts), each covering
 *   the times from its key to the next chunk's key; reading a range is one Query over the
 *   chunks it overlaps;
 * - segments (`~s{seq}`, after every chunk key): the points of one write as it came, a new
 *   item per write. A write reads nobody's points and rewrites nothing, so concurrent writers
 *   never meet on an item; `seq` orders the writes (a write takes one more than the highest it
 *   sees), and a read applies the segments over the chunks in that order, so re-adding a
 *   `deltaTime` overwrites it. A call's segments (several series, or a large write cut in
 *   pieces) go in one transaction: stored whole or not at all.
 *
 * When a series holds {@link COMPACT_SEGMENTS} segments or {@link COMPACT_ROWS} rows, the write
 * that saw it folds the oldest segments into the chunks ({@link compactSeries}): one compaction
 * at a time per series (a lease on the `~writes` item), the chunk rewrites, the segment
 * deletions and the `~writes` update in one transaction, each conditional, so a compaction
 * racing writers or another compaction loses nothing.
 *
 * Reads take every segment and the `~writes` item strongly consistent (one Query, segments
 * first), and the chunks eventually consistent (half the read units) except those a
 * compaction rewrote in the last {@link SETTLED_AFTER_MS}: `~writes` records when each
 * compaction ran and the lowest chunk key it wrote, and a read takes the chunks from the
 * lowest recently written key on strongly. A client that adds points and then reads them
 * finds them in a segment (read strongly) or in a chunk a compaction wrote after its write,
 * which `~writes` names (read strongly too).
 */

/** Rows per chunk: a 1,000-point write touches one or two chunks; 100 k points are ~100 chunks. */
export const MAX_CHUNK_ROWS = 1000;
/**
 * Encoded bytes per chunk (and per segment), well under DynamoDB's 400 KB item limit and small
 * enough that 100 of them fit in one transaction (4 MB); rows with large values split further.
 */
export const MAX_CHUNK_BYTES = 32 * 1024;
/** TransactWriteItems takes at most 100 items. */
export const MAX_CHUNKS_PER_WRITE = 100;

/**
 * A write that leaves a series with this many segments, or this many segment bytes, compacts
 * it. Every read takes all the segments strongly consistent and decodes those its range
 * overlaps: the bytes bound what that adds to a read (32 KB: at most 8 read units more than
 * the chunks, ~4,000 points of regular data), the count bounds the items of small writes;
 * a compaction (a Query, a chunk decode, merge, encode, a transaction) is paid once per
 * several writes: every 4th 1,000-point write, every 16th of 10 or 100 points.
 */
export const COMPACT_SEGMENTS = 16;
export const COMPACT_BYTES = 32 * 1024;
/** What one compaction folds at most (its transaction: the chunks it rewrites, one deletion per segment, `~writes`). */
const COMPACT_MAX_SEGMENTS = 40;
const COMPACT_MAX_ROWS = 20_000;
/** How long a compaction holds its series: one that dies leaves compaction to the next write after this. */
const LEASE_MS = 10_000;
/**
 * The lease a deletion puts on `~writes` before it removes the series ({@link deleteSeries}):
 * a compaction under way commits only while `leaseUntil` is still its own, so it fails
 * instead of writing chunks behind the deletion, and no compaction can start while it stands.
 */
const DELETING = Number.MAX_SAFE_INTEGER;

/**
 * How long after a compaction its chunks are still read strongly consistent. DynamoDB's
 * replicas usually agree within a second; the bound also covers a compaction that commits
 * late (an API call stops at 29 s) and clock differences between functions.
 */
export const SETTLED_AFTER_MS = 60_000;

/** A recent chunk write: when it was made (ms since the epoch) and the lowest chunk key it wrote. */
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
const lowerKey = (a: string, b: string): string => (a < b ? a : b);

/** The chunk key just below `key` (keys are 16 hex digits), or undefined below the lowest. */
function keyBelow(key: string): string | undefined {
  const value = BigInt(`0x${key}`);
  return value === 0n ? undefined : (value - 1n).toString(16).padStart(16, '0');
}

/**
 * A segment's `seq`: a counter (12 hex digits: one more than the highest the writer saw, so a
 * write made after another one returned sorts after it), then 8 random hex digits (writers
 * that saw the same counter are concurrent: either order is right, and their keys differ),
 * then the piece's index (2 hex digits) when a write is cut into several items.
 */
const SEQ_COUNTER = 12;
const counterOf = (sk: string): number =>
  parseInt(sk.slice(keys.seriesSegmentPrefix.length, keys.seriesSegmentPrefix.length + SEQ_COUNTER), 16);
const isSegment = (sk: string) => sk.startsWith(keys.seriesSegmentPrefix);

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
  /** Segments (not yet compacted) the series held. */
  segments?: number;
}

/** The items after the chunks, strongly consistent: the segments in `seq` order, then `~writes`. */
async function readTail(u: string, eventId: string): Promise<{ segments: Record<string, unknown>[]; marks: WriteMark[] }> {
  const items = await queryAll({
    TableName: table(),
    KeyConditionExpression: 'pk = :pk AND sk >= :tail',
    ExpressionAttributeValues: { ':pk': keys.seriesChunks(u, eventId), ':tail': '~' },
    ConsistentRead: true,
  });
  const segments: Record<string, unknown>[] = [];
  let marks: WriteMark[] = [];
  for (const item of items) {
    if (isSegment(item.sk as string)) segments.push(item);
    else if (item.sk === keys.seriesWrites(u, eventId).sk) marks = (item.m as WriteMark[] | undefined) ?? [];
  }
  return { segments, marks };
}

/**
 * The rows of a series with `from ≤ deltaTime ≤ to`, ascending: the chunk covering `from`
 * (the last one keyed at or before it) and the chunks keyed inside the range, then the
 * segments over them in write order.
 */
export async function readSeries(
  u: string,
  eventId: string,
  from: number,
  to: number,
  stats?: SeriesReadStats,
  now: number = Date.now(),
): Promise<SeriesRows> {
  const out: SeriesRows = { deltaTimes: [], columns: {} };
  for (const block of await readSeriesBlocks(u, eventId, from, to, stats, now)) appendRange(out, block, from, to);
  return out;
}

/**
 * The same rows as {@link readSeries}, as consecutive blocks (one per chunk read, with the
 * segments' rows merged into the block they fall in): ascending within and across blocks, no
 * `deltaTime` twice. A whole chunk inside the range is its decoded rows as they are, so a
 * large read copies no point before its answer is written.
 */
export async function readSeriesBlocks(
  u: string,
  eventId: string,
  from: number,
  to: number,
  stats?: SeriesReadStats,
  now: number = Date.now(),
): Promise<SeriesRows[]> {
  const pk = keys.seriesChunks(u, eventId);
  // The tail first in the same round trip: a compaction that removed a segment this read does
  // not see has committed, and with it the `~writes` mark that makes its chunks read strongly
  // (the Query reads the segments before `~writes`, which sorts after them).
  const [first, { segments, marks }] = await Promise.all([
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
    readTail(u, eventId),
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
    if (unsettled !== undefined) ranges.push({ lo: unsettled > lo ? unsettled : lo, hi, consistent: true });
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
    stats.segments = (stats.segments ?? 0) + segments.length;
  }
  const blocks: SeriesRows[] = [];
  for (const item of items) {
    const rows = within(decodeChunk(item.d as Uint8Array), from, to);
    if (rows.deltaTimes.length > 0) blocks.push(rows);
  }
  // Segments in write order, merged among themselves first (they are small), then each part
  // into the block it falls in (before the next block's first time; the last takes the rest).
  const overlapping = segments.filter((segment) => !((segment.hi as number) < from || (segment.lo as number) > to));
  const pending =
    overlapping.length > 0 ? foldRows(overlapping.map((segment) => within(decodeChunk(segment.d as Uint8Array), from, to))) : undefined;
  if (!pending || pending.deltaTimes.length === 0) return blocks;
  if (blocks.length === 0) return [pending];
  let k = 0;
  const p = pending.deltaTimes;
  for (let b = 0; b < blocks.length && k < p.length; b++) {
    const next = b + 1 < blocks.length ? blocks[b + 1]!.deltaTimes[0]! : Infinity;
    let m = k;
    while (m < p.length && p[m]! < next) m++;
    if (m > k) blocks[b] = mergeRows(blocks[b]!, sliceRows(pending, k, m));
    k = m;
  }
  return blocks;
}

/** The rows of `rows` inside [from, to]: `rows` itself when all are. */
function within(rows: SeriesRows, from: number, to: number): SeriesRows {
  const n = rows.deltaTimes.length;
  let i = 0;
  while (i < n && rows.deltaTimes[i]! < from) i++;
  let j = n;
  while (j > i && rows.deltaTimes[j - 1]! > to) j--;
  return i === 0 && j === n ? rows : sliceRows(rows, i, j);
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

/**
 * Merges sorted `added` rows into sorted `base` rows; on equal `deltaTime` the added row
 * replaces the stored one. Missing columns (and undefined values) come out null. When one
 * side's rows all come after the other's (an append: the usual case) the columns are copied
 * whole, without a comparison per row.
 */
export function mergeRows(base: SeriesRows, added: SeriesRows): SeriesRows {
  const a = base.deltaTimes;
  const b = added.deltaTimes;
  if (a.length === 0 || b.length === 0 || a[a.length - 1]! < b[0]!) return concatRows([base, added]);
  const names = columnNames([base, added]);
  if (b[b.length - 1]! < a[0]!) return concatRows([added, base], names);
  const times: number[] = [];
  const columns = names.map(() => [] as unknown[]);
  const from = (rows: SeriesRows) => names.map((name) => rows.columns[name]);
  const baseColumns = from(base);
  const addedColumns = from(added);
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let source: Array<unknown[] | undefined>;
    let k: number;
    if (j >= b.length || (i < a.length && a[i]! < b[j]!)) {
      source = baseColumns;
      k = i++;
      times.push(a[k]!);
    } else {
      if (i < a.length && a[i] === b[j]) i++;
      source = addedColumns;
      k = j++;
      times.push(b[k]!);
    }
    for (let c = 0; c < names.length; c++) columns[c]!.push(source[c]?.[k] ?? null);
  }
  return { deltaTimes: times, columns: Object.fromEntries(names.map((name, c) => [name, columns[c]!])) };
}

/** The column names of several row sets, in order of appearance. */
function columnNames(parts: SeriesRows[]): string[] {
  const names = new Set<string>();
  for (const part of parts) for (const name of Object.keys(part.columns)) names.add(name);
  return [...names];
}

/** Row sets one after the other (each one's times all after the previous one's), as one. */
function concatRows(parts: SeriesRows[], names = columnNames(parts)): SeriesRows {
  let n = 0;
  for (const part of parts) n += part.deltaTimes.length;
  const deltaTimes = new Array<number>(n);
  const columns: Record<string, unknown[]> = {};
  for (const name of names) columns[name] = new Array<unknown>(n);
  let offset = 0;
  for (const part of parts) {
    const m = part.deltaTimes.length;
    for (let k = 0; k < m; k++) deltaTimes[offset + k] = part.deltaTimes[k]!;
    for (const name of names) {
      const source = part.columns[name];
      const column = columns[name]!;
      if (source) for (let k = 0; k < m; k++) column[offset + k] = source[k] ?? null;
      else column.fill(null, offset, offset + m);
    }
    offset += m;
  }
  return { deltaTimes, columns };
}

/**
 * The rows of several writes applied in order (a later write's row replaces an earlier one's
 * at the same time). When their time ranges do not overlap (appends, or concurrent writers
 * of distinct ranges) the order does not matter: they are put in time order and copied once,
 * instead of merged one into the other (which copies every row again per write).
 */
export function foldRows(writes: SeriesRows[]): SeriesRows {
  const live = writes.filter((rows) => rows.deltaTimes.length > 0);
  if (live.length === 0) return writes[0] ?? { deltaTimes: [], columns: {} };
  if (live.length === 1) return live[0]!;
  const sorted = [...live].sort((x, y) => x.deltaTimes[0]! - y.deltaTimes[0]!);
  let disjoint = true;
  for (let k = 1; k < sorted.length && disjoint; k++) {
    const before = sorted[k - 1]!.deltaTimes;
    disjoint = before[before.length - 1]! < sorted[k]!.deltaTimes[0]!;
  }
  if (disjoint) return concatRows(sorted);
  let folded = live[0]!;
  for (let k = 1; k < live.length; k++) folded = mergeRows(folded, live[k]!);
  return folded;
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
  // Rows that fit one piece are encoded as they are (a copy of 1,000 points costs as much as a tenth of their encoding).
  if (n <= MAX_CHUNK_ROWS) add(rows);
  else for (let k = 0; k < n; k += MAX_CHUNK_ROWS) add(sliceRows(rows, k, Math.min(n, k + MAX_CHUNK_ROWS)));
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

/**
 * The chunk writes that put sorted `rows` into a series: the chunks they fall in (`chunks`,
 * ascending: the one covering the lowest row and those keyed up to the highest), merged
 * (rows replace stored ones of the same `deltaTime`), each conditional on the version read;
 * full chunks split, the new ones keyed after the chunk they came from.
 */
function chunkWrites(
  u: string,
  eventId: string,
  rows: SeriesRows,
  chunks: Chunk[],
): { items: TransactItem[]; bytes: number; lowest: string } {
  const { deltaTimes } = rows;
  if (chunks.length === 0)
    chunks.push({ start: -Infinity, sk: encodeNumber(-Infinity), version: 0, bytes: 0, rows: { deltaTimes: [], columns: {} } });
  const items: TransactItem[] = [];
  let bytes = 0;
  let lowest: string | undefined;
  // Each new row goes to the last chunk keyed at or before it (the first one if none is).
  let k = 0;
  let c = 0;
  while (k < deltaTimes.length) {
    while (c + 1 < chunks.length && chunks[c + 1]!.start <= deltaTimes[k]!) c++;
    const end = c + 1 < chunks.length ? chunks[c + 1]!.start : Infinity;
    let m = k;
    while (m < deltaTimes.length && deltaTimes[m]! < end) m++;
    const chunk = chunks[c]!;
    const added = sliceRows(rows, k, m);
    const held = chunk.rows.deltaTimes;
    // A full chunk that every added row comes after stays as it is (an append after a
    // compaction that left full chunks): the rows make chunks of their own, keyed after it.
    const after = held.length >= MAX_CHUNK_ROWS && deltaTimes[k]! > held[held.length - 1]!;
    const parts = pieces(after ? added : mergeRows(chunk.rows, added));
    parts.forEach((part, index) => {
      const rewrite = index === 0 && !after;
      const key = keys.seriesChunk(u, eventId, rewrite ? chunk.start : part.rows.deltaTimes[0]!);
      const stored = rewrite && chunk.version > 0;
      items.push({
        Put: {
          TableName: undefined,
          Item: { ...key, v: rewrite ? chunk.version + 1 : 1, n: part.rows.deltaTimes.length, d: part.data },
          ConditionExpression: stored ? 'v = :v' : 'attribute_not_exists(pk)',
          ExpressionAttributeValues: stored ? { ':v': chunk.version } : undefined,
        },
      });
      if (lowest === undefined || key.sk < lowest) lowest = key.sk;
      bytes += part.data.byteLength;
    });
    if (!after) bytes -= chunk.bytes;
    k = m;
  }
  // Splits key their chunks after the one they came from: the lowest key written is the first group's.
  return { items, bytes, lowest: lowest! };
}

/** Rows to add to one series: sorted by `deltaTime`, no duplicates. */
export interface SeriesWrite {
  eventId: string;
  rows: SeriesRows;
}

/** Thrown when a write would need more items than one transaction takes. */
export class SeriesWriteTooLarge extends Error {}

/**
 * The state of a series without a tally (new, or stored before tallies existed): from the
 * keys of its segments and `~writes`, one Query. Its first write then starts the tally.
 */
async function stateByQuery(u: string, eventId: string): Promise<SeriesState & { foldedBytes: number }> {
  const state = { counter: 0, pendingSegments: 0, pendingBytes: 0, compacting: false, foldedBytes: 0 };
  const clock = Date.now();
  for await (const page of queryPages({
    TableName: table(),
    KeyConditionExpression: 'pk = :pk AND sk >= :tail',
    ExpressionAttributeValues: { ':pk': keys.seriesChunks(u, eventId), ':tail': '~' },
    ProjectionExpression: 'sk, hw, fb, leaseUntil',
    ConsistentRead: true,
  })) {
    for (const item of page) {
      const sk = item.sk as string;
      if (isSegment(sk)) {
        state.pendingSegments++;
        state.counter = Math.max(state.counter, counterOf(sk));
      } else if (sk === keys.seriesWrites(u, eventId).sk) {
        if (typeof item.hw === 'number') state.counter = Math.max(state.counter, item.hw);
        if (typeof item.fb === 'number') state.foldedBytes = item.fb;
        if (typeof item.leaseUntil === 'number' && item.leaseUntil >= clock) state.compacting = true;
      }
    }
  }
  return state;
}

/**
 * Starts the tally of a series whose state came from {@link stateByQuery}: `w` at the counter
 * this write took (or one more than a tally started meanwhile), `b` from the bytes compactions
 * folded, plus this write's.
 */
async function startTally(u: string, eventId: string, counter: number, foldedBytes: number, bytes: number): Promise<void> {
  await dynamo().send(
    new UpdateCommand({
      TableName: table(),
      Key: keys.seriesTally(u, eventId),
      UpdateExpression: 'SET w = if_not_exists(w, :before) + :one, b = if_not_exists(b, :folded) + :bytes',
      ExpressionAttributeValues: { ':before': counter - 1, ':one': 1, ':folded': foldedBytes, ':bytes': bytes },
    }),
  );
}

/**
 * Stores the rows of one or more series as new segments, in one transaction (one PutItem
 * for a single small write): nothing of others' points is read or rewritten, so concurrent
 * writers do not meet. Then compacts the series that reached the bounds. `states` are the
 * series' states when the caller read them already (./state.ts; else one BatchGetItem reads
 * them). Answers the change in stored bytes (for the account's storage usage) and the tally
 * adds the caller must write before it answers (./state.ts says why).
 *
 * With `carry`, a write of one segment to a series whose tally was read is not stored here:
 * its item is answered in `inserts`, for the caller to write in the request that carries the
 * tally adds, before it answers (../call-records.ts: one request less), and the compaction it
 * starts, if any, is answered in `compact`, for the caller to run once the segment is stored
 * (it answers the change in stored bytes, not counted in `bytes`).
 */
export async function writeSeries(
  u: string,
  writes: SeriesWrite[],
  options: { states?: Map<string, SeriesState | undefined>; now?: number; carry?: boolean } = {},
): Promise<{ bytes: number; counters: CounterAdd[]; inserts: ItemInsert[]; compact?: () => Promise<number> }> {
  const now = options.now ?? Date.now();
  const live = writes.filter((write) => write.rows.deltaTimes.length > 0);
  const unread = live.map((write) => write.eventId).filter((id) => !options.states?.has(id));
  const read = unread.length > 0 ? await loadSeriesStates(u, unread) : undefined;
  const planned = await Promise.all(
    live.map(async (write) => {
      const known = options.states?.has(write.eventId) ? options.states.get(write.eventId) : read?.get(write.eventId);
      return { write, state: known ?? (await stateByQuery(u, write.eventId)), tallied: known !== undefined, bytes: 0 };
    }),
  );
  const items: Array<Record<string, unknown> & { pk: string; sk: string }> = [];
  let bytes = 0;
  for (const plan of planned) {
    const { write, state } = plan;
    const seq = (state.counter + 1).toString(16).padStart(SEQ_COUNTER, '0') + randomBytes(4).toString('hex');
    pieces(write.rows).forEach((part, index) => {
      const { deltaTimes } = part.rows;
      items.push({
        ...keys.seriesSegment(u, write.eventId, seq + index.toString(16).padStart(2, '0')),
        n: deltaTimes.length,
        lo: deltaTimes[0],
        hi: deltaTimes[deltaTimes.length - 1],
        d: part.data,
      });
      plan.bytes += part.data.byteLength;
    });
    bytes += plan.bytes;
  }
  if (items.length === 0) return { bytes: 0, counters: [], inserts: [] };
  if (items.length > MAX_CHUNKS_PER_WRITE) throw new SeriesWriteTooLarge(`${items.length} segments`);
  const carried = options.carry === true && items.length === 1 && planned[0]!.tallied;
  // A new key each time: the condition only guards against two writers drawing the same random part.
  if (items.length === 1 && !carried) {
    await insertItem({ item: items[0]! }); // as the carried segment's fallback: an earlier attempt that landed is not a failure
  } else if (items.length > 1) {
    const failed = await transactWrite(
      items.map((Item) => ({ Put: { TableName: undefined, Item, ConditionExpression: 'attribute_not_exists(pk)' } })),
    );
    if (failed.length > 0) throw new Error('series segment key already taken');
  }
  const counters: CounterAdd[] = [];
  let compact: (() => Promise<number>) | undefined;
  await Promise.all(
    planned.map(async ({ write, state, tallied, bytes: written }) => {
      if (tallied) counters.push(tallyAdd(u, write.eventId, written));
      else await startTally(u, write.eventId, state.counter + 1, (state as { foldedBytes?: number }).foldedBytes ?? 0, written);
      // A compaction under way will fold this write or leave it to the next one: no second attempt.
      if (state.compacting) return;
      // The write that takes the pending segments or bytes past a multiple of the bound compacts:
      // writers overlapping it, which read the same state or one a little later, do not all try
      // (each would spend a request on the lease); if its compaction does not happen, the next
      // multiple's does.
      const segments = state.pendingSegments + 1;
      if (
        crosses(state.pendingSegments, segments, COMPACT_SEGMENTS) ||
        crosses(state.pendingBytes, state.pendingBytes + written, COMPACT_BYTES)
      ) {
        const compaction = () => compactQuietly(u, write.eventId, now, segments);
        if (carried)
          compact = compaction; // one series
        else bytes += await compaction();
      }
    }),
  );
  if (!carried) return { bytes, counters, inserts: [] };
  return { bytes, counters, inserts: [{ item: items[0]! }], ...(compact ? { compact } : {}) };
}

/** Whether going from `before` to `after` passes a multiple of `bound`. */
const crosses = (before: number, after: number, bound: number) => Math.floor(after / bound) > Math.floor(before / bound);

/** A compaction is housekeeping after a stored write: its failure is logged, the write still succeeded. */
async function compactQuietly(u: string, eventId: string, now: number, expected: number): Promise<number> {
  try {
    return await compactSeries(u, eventId, now, expected);
  } catch (err) {
    const e = err as { name?: unknown; message?: unknown };
    log.warn('series compaction failed', { name: e.name, message: typeof e.message === 'string' ? e.message.slice(0, 300) : undefined });
    return 0;
  }
}

/**
 * The segments of a series in `seq` order and the chunks at its top (descending), in one
 * strongly consistent Query read from the top of the partition down: the tally (./state.ts),
 * the segments (about `expected` of them) and then the highest chunk, which an append falls
 * in. `complete` when the Query reached the partition's start (the chunks read are all the
 * series has).
 */
async function readTop(u: string, eventId: string, expected: number) {
  const tallySk = keys.seriesTally(u, eventId).sk;
  const segments: Record<string, unknown>[] = [];
  const top: Record<string, unknown>[] = [];
  let tally: Record<string, unknown> | undefined;
  let start: Record<string, unknown> | undefined;
  do {
    const out = await dynamo().send(
      new QueryCommand({
        TableName: table(),
        KeyConditionExpression: 'pk = :pk AND sk <= :tally',
        ExpressionAttributeValues: { ':pk': keys.seriesChunks(u, eventId), ':tally': tallySk },
        ScanIndexForward: false,
        Limit: start ? 8 : expected + 2,
        ExclusiveStartKey: start,
        ConsistentRead: true,
      }),
    );
    for (const item of out.Items ?? []) {
      const sk = item.sk as string;
      if (sk === tallySk) tally = item;
      else (isSegment(sk) ? segments : top).push(item);
    }
    start = out.LastEvaluatedKey;
  } while (start && top.length === 0);
  return { segments: segments.reverse(), top, complete: start === undefined, tally };
}

/**
 * What `~writes` records of the writes a compaction folded, so that a write reading it with
 * the tally knows how many segments and bytes are left (./state.ts): `fw` and `fb` are the
 * tally's `w` and `b` the compaction read, less the writes and bytes it left in segments.
 * Counted from what is left rather than added up from what was folded, because the tally
 * counts writes and a segment's counter does not: writers that overlap take the same counter,
 * so the highest counter folded (`hw`) lags the writes folded by the overlap, and a count
 * built on it took folded writes for pending ones (test/bench/FINDINGS.md §22, §26: a
 * compaction every ~12 writes instead of 16 with 5 writers on one series). A write whose tally add and segment land on either side
 * of the compaction's read is off by one until the next compaction counts again.
 */
function foldedCounts(tally: Record<string, unknown> | undefined, left: Record<string, unknown>[]): { fw: number; fb: number } | undefined {
  if (typeof tally?.w !== 'number') return undefined;
  // A write cut in pieces shares its `seq` but for the piece index: one write however many of its pieces are left.
  const writes = new Set(left.map((segment) => (segment.sk as string).slice(0, -2)));
  const bytes = left.reduce((sum, segment) => sum + (segment.d as Uint8Array).byteLength, 0);
  return { fw: Math.max(0, tally.w - writes.size), fb: Math.max(0, (typeof tally.b === 'number' ? tally.b : 0) - bytes) };
}

/**
 * The chunks new rows in [min, max] fall in, from the top chunks read by {@link readTop} when
 * they reach down to `min` (an append: the highest chunk), else from a Query of their own.
 */
async function chunksFor(
  u: string,
  eventId: string,
  read: Awaited<ReturnType<typeof readTop>>,
  min: number,
  max: number,
): Promise<Chunk[]> {
  const lowest = encodeNumber(min);
  const highest = encodeNumber(max);
  const found: Chunk[] = [];
  for (const item of read.top) {
    const sk = item.sk as string;
    if (sk > highest) continue;
    found.push(toChunk(item));
    if (sk <= lowest) return found.reverse();
  }
  // The first chunk is keyed -Infinity: a complete read always reaches `min`.
  if (read.complete) return found.reverse();
  return chunksCovering(u, eventId, min, max);
}

/** The chunk writes of a compaction, the stored bytes they add, and the lowest chunk key they write. */
type ChunkPlan = ReturnType<typeof chunkWrites>;

/** The chunk writes that fold segments into the chunks they fall in: decoded, merged, encoded again. */
async function mergedChunks(
  u: string,
  eventId: string,
  read: Awaited<ReturnType<typeof readTop>>,
  chosen: Record<string, unknown>[],
): Promise<ChunkPlan> {
  const folded = foldRows(chosen.map((segment) => decodeChunk(segment.d as Uint8Array)));
  const times = folded.deltaTimes;
  return chunkWrites(u, eventId, folded, await chunksFor(u, eventId, read, times[0]!, times[times.length - 1]!));
}

/**
 * Segments that become chunks as they are, or undefined: when each holds at least half a
 * chunk's rows, their time ranges do not overlap, and they all come after every stored row
 * (appends of large writes, the usual HF upload), each is a chunk of its own keyed by its
 * first time (the first chunk of a series without any by −∞, as always), its bytes copied:
 * nothing decoded, merged or encoded again. The highest chunk (the top Query's first) is left
 * as it is, full or not.
 */
function asChunks(
  u: string,
  eventId: string,
  read: Awaited<ReturnType<typeof readTop>>,
  chosen: Record<string, unknown>[],
): ChunkPlan | undefined {
  const ranges = chosen.map((segment) => ({ lo: segment.lo, hi: segment.hi, n: segment.n, d: segment.d as Uint8Array }));
  if (!ranges.every((r) => typeof r.lo === 'number' && typeof r.hi === 'number' && typeof r.n === 'number' && r.n >= MAX_CHUNK_ROWS / 2)) {
    return undefined;
  }
  const sorted = (ranges as Array<{ lo: number; hi: number; n: number; d: Uint8Array }>).sort((a, b) => a.lo - b.lo);
  for (let k = 1; k < sorted.length; k++) if (!(sorted[k - 1]!.hi < sorted[k]!.lo)) return undefined;
  const top = read.top[0];
  if (top) {
    const held = decodeChunk(top.d as Uint8Array).deltaTimes;
    if (held.length > 0 && !(held[held.length - 1]! < sorted[0]!.lo)) return undefined;
  } else if (!read.complete) return undefined;
  const items: TransactItem[] = [];
  let bytes = 0;
  sorted.forEach((segment, k) => {
    const key = keys.seriesChunk(u, eventId, k === 0 && !top ? -Infinity : segment.lo);
    items.push({
      Put: { TableName: undefined, Item: { ...key, v: 1, n: segment.n, d: segment.d }, ConditionExpression: 'attribute_not_exists(pk)' },
    });
    bytes += segment.d.byteLength;
  });
  return { items, bytes, lowest: (items[0]!.Put!.Item as { sk: string }).sk };
}

/**
 * Folds the oldest segments of a series into its chunks, if no other compaction holds it.
 * In one transaction: the chunks rewritten (conditional on their version), the segments
 * deleted (conditional on being there), `~writes` with the new mark, the highest `seq`
 * counter and the segment bytes folded (conditional on the lease taken). Always a prefix in
 * `seq` order, so what stays in segments was written after what the chunks hold. Answers the
 * change in stored bytes (0 when another compaction held the series or won the race).
 * `expected`: about how many segments the series holds (sizes its Query).
 */
export async function compactSeries(u: string, eventId: string, now: number = Date.now(), expected = COMPACT_SEGMENTS): Promise<number> {
  const writesKey = keys.seriesWrites(u, eventId);
  const clock = Date.now();
  const until = clock + LEASE_MS;
  const taken = await ifConditionHolds(
    dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: writesKey,
        UpdateExpression: 'SET leaseUntil = :until, v = if_not_exists(v, :zero)',
        ConditionExpression: 'attribute_not_exists(leaseUntil) OR leaseUntil < :clock',
        ExpressionAttributeValues: { ':until': until, ':zero': 0, ':clock': clock },
        ReturnValues: 'ALL_OLD',
      }),
    ),
  );
  if (!taken) return 0;
  // The item as it was (`v` is 0 until a first compaction commits); none: this lease created it.
  const state: Record<string, unknown> = { v: 0, ...taken.Attributes };
  const created = taken.Attributes === undefined;
  const read = await readTop(u, eventId, expected);
  const { segments } = read;
  const lease = { ConditionExpression: 'leaseUntil = :until', ExpressionAttributeValues: { ':until': until } };
  // No `~writes` before and no segment now: the series holds nothing (a compaction records
  // itself in `~writes`), its points were deleted meanwhile. The item this lease created goes,
  // rather than stay behind the deletion.
  const release = () =>
    ifConditionHolds(
      created && segments.length === 0
        ? dynamo().send(new DeleteCommand({ TableName: table(), Key: writesKey, ...lease }))
        : dynamo().send(new UpdateCommand({ TableName: table(), Key: writesKey, UpdateExpression: 'REMOVE leaseUntil', ...lease })),
    );
  let count = 0;
  let rows = 0;
  while (
    count < segments.length &&
    count < COMPACT_MAX_SEGMENTS &&
    (count === 0 || rows + (segments[count]!.n as number) <= COMPACT_MAX_ROWS)
  ) {
    rows += segments[count]!.n as number;
    count++;
  }
  // Fewer segments when their chunks would not fit one transaction.
  for (; count > 0; count = Math.floor(count / 2)) {
    const chosen = segments.slice(0, count);
    const plan = asChunks(u, eventId, read, chosen) ?? (await mergedChunks(u, eventId, read, chosen));
    if (plan.items.length + chosen.length + 1 > MAX_CHUNKS_PER_WRITE) continue;
    const counter = Math.max((state.hw as number | undefined) ?? 0, ...chosen.map((segment) => counterOf(segment.sk as string)));
    const foldedBytes = chosen.reduce((sum, segment) => sum + (segment.d as Uint8Array).byteLength, 0);
    const folded = foldedCounts(read.tally, segments.slice(count));
    const failed = await transactWrite([
      ...plan.items,
      ...chosen.map((segment) => ({
        Delete: {
          TableName: undefined,
          Key: { pk: segment.pk as string, sk: segment.sk as string },
          ConditionExpression: 'attribute_exists(pk)',
        },
      })),
      {
        Put: {
          TableName: undefined,
          Item: {
            ...writesKey,
            v: (state.v as number) + 1,
            m: addMark((state.m as WriteMark[] | undefined) ?? [], now, plan.lowest),
            hw: counter,
            ...(folded ?? { fb: ((state.fb as number | undefined) ?? 0) + foldedBytes }),
          },
          ConditionExpression: 'v = :v AND leaseUntil = :until',
          ExpressionAttributeValues: { ':v': state.v as number, ':until': until },
        },
      },
    ]);
    if (failed.length > 0) break;
    return plan.bytes - foldedBytes;
  }
  await release();
  return 0;
}

/**
 * Removes every point of a series; answers the bytes freed. Safe to repeat. First it takes
 * the compaction lease for good ({@link DELETING}, whatever lease stands): a compaction under
 * way then fails at its commit (conditional on its own lease) instead of writing chunks
 * after this read the partition, and none starts until `~writes` goes, last (sorted last).
 */
export async function deleteSeries(u: string, eventId: string): Promise<number> {
  await dynamo().send(
    new UpdateCommand({
      TableName: table(),
      Key: keys.seriesWrites(u, eventId),
      UpdateExpression: 'SET leaseUntil = :deleting',
      ExpressionAttributeValues: { ':deleting': DELETING },
    }),
  );
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

/**
 * Every row of a series, item by item (export): the chunks in time order, then the segments
 * in write order. Written back in that order (import), they give the same points: each
 * segment's rows replace what the chunks hold at their times.
 */
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
