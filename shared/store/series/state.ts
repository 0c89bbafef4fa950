import { batchGet, itemKey } from '../batch';
import type { CounterAdd } from '../call-records';
import { keys } from '../keys';

/**
 * What a write needs to know of a series before it adds a segment, read by key (two items,
 * in the BatchGetItem that reads the token and the holder for `series.add`, or one
 * BatchGetItem for the series of a `series.batch`), instead of a Query over the segments:
 *
 * - the tally `~t`: `w`, the highest `seq` counter a write took (each write takes one more
 *   than it reads and adds 1), and `b`, the segment bytes ever written;
 * - `~writes` (../series/chunks.ts): `fw` and `fb`, the writes and segment bytes compactions
 *   folded (the tally's `w` and `b` the last one read, less what it left in segments), `hw`,
 *   the highest counter a compaction folded, and the compaction lease.
 *
 * So the segments not yet compacted are about `w - fw` (one per write; a write cut in pieces
 * has several) holding `b - fb` bytes: what decides a compaction. Series compacted before `fw`
 * existed count from `hw` until their next compaction. The tally is updated after the
 * segment is stored and before the call answers (beside the call's usage records: ../call-records.ts),
 * so a write made after another one returned reads a higher `w` and sorts after it.
 */
export interface SeriesState {
  /** The tally's `w`. */
  counter: number;
  /** Segments not compacted yet (about: see above). */
  pendingSegments: number;
  /** Their bytes. */
  pendingBytes: number;
  /** Whether a compaction (or a deletion) holds the series. */
  compacting: boolean;
}

/** The items a {@link SeriesState} is made of, to read with other keys. */
export const seriesStateKeys = (u: string, eventId: string) => [keys.seriesTally(u, eventId), keys.seriesWrites(u, eventId)];

/** The state from the items read; undefined when the series has no tally yet (new, or stored before tallies: the writer then Queries). */
export function seriesStateOf(
  found: Map<string, Record<string, unknown>>,
  u: string,
  eventId: string,
  clock: number = Date.now(),
): SeriesState | undefined {
  const [tallyKey, writesKey] = seriesStateKeys(u, eventId);
  const tally = found.get(itemKey(tallyKey!));
  if (typeof tally?.w !== 'number') return undefined;
  const writes = found.get(itemKey(writesKey!));
  const num = (v: unknown) => (typeof v === 'number' ? v : 0);
  return {
    counter: tally.w,
    pendingSegments: Math.max(0, tally.w - (typeof writes?.fw === 'number' ? writes.fw : num(writes?.hw))),
    pendingBytes: Math.max(0, num(tally.b) - num(writes?.fb)),
    compacting: num(writes?.leaseUntil) >= clock,
  };
}

/** The states of several series, in one BatchGetItem. */
export async function loadSeriesStates(u: string, eventIds: string[]): Promise<Map<string, SeriesState | undefined>> {
  const found = await batchGet(eventIds.flatMap((id) => seriesStateKeys(u, id)));
  const clock = Date.now();
  return new Map(eventIds.map((id) => [id, seriesStateOf(found, u, id, clock)]));
}

/** What a write adds to a tally it read: one counter, its segment bytes. */
export const tallyAdd = (u: string, eventId: string, bytes: number): CounterAdd => ({
  key: keys.seriesTally(u, eventId),
  adds: { w: 1, b: bytes },
});
