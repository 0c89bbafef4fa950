import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { SeriesRows } from '../../model/series';
import { batchDelete } from '../batch';
import { dynamo, table } from '../clients';
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
}

/**
 * The rows of a series with `from ≤ deltaTime ≤ to`, ascending: the chunk covering `from`
 * (the last one keyed at or before it) and the chunks keyed inside the range, nothing else.
 */
export async function readSeries(u: string, eventId: string, from: number, to: number, stats?: SeriesReadStats): Promise<SeriesRows> {
  const pk = keys.seriesChunks(u, eventId);
  const first = await dynamo().send(
    new QueryCommand({
      TableName: table(),
      KeyConditionExpression: 'pk = :pk AND sk <= :from',
      ExpressionAttributeValues: { ':pk': pk, ':from': encodeNumber(from) },
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    }),
  );
  const items = [...(first.Items ?? [])];
  if (to > from) {
    for await (const page of queryPages({
      TableName: table(),
      // `from` itself was the first Query's (a chunk keyed exactly there is its answer).
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
      ExpressionAttributeValues: { ':pk': pk, ':lo': `${encodeNumber(from)}\u0000`, ':hi': encodeNumber(to) },
      ConsistentRead: true,
    })) {
      items.push(...page);
    }
  }
  if (stats) stats.chunks += items.length;
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
export async function writeSeries(u: string, writes: SeriesWrite[]): Promise<{ bytes: number } | 'stale'> {
  const items: TransactItem[] = [];
  let bytes = 0;
  for (const write of writes) {
    const { deltaTimes } = write.rows;
    if (deltaTimes.length === 0) continue;
    const chunks = await chunksCovering(u, write.eventId, deltaTimes[0]!, deltaTimes[deltaTimes.length - 1]!);
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
    for (const item of page) bytes += (item.d as Uint8Array).byteLength;
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
    for (const item of page) yield decodeChunk(item.d as Uint8Array);
  }
}
