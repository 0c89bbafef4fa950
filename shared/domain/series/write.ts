import { errors } from '../../errors';
import type { SeriesRows } from '../../model/series';
import { storageUsedAdd } from '../../store/accounts';
import { addCounters } from '../../store/call-records';
import { mergeRows, type SeriesWrite, SeriesWriteTooLarge, writeSeries } from '../../store/series/chunks';
import type { SeriesState } from '../../store/series/state';
import type { Caller } from '../caller';
import { getEventTypes } from '../events/event-types';
import { checkCanWrite, loadHolder, seriesPermissions, seriesPermissionsForAll } from './holders';
import { type FlatJson, rowsFrom } from './points';

/** A `seriesBatch` body (Pryv API reference §2.2.7). */
export interface SeriesBatch {
  format: 'seriesBatch';
  data: Array<{ eventId: string; data: FlatJson }>;
}

/**
 * Stores validated rows, all of them or none: one transaction of new segments (the store
 * reads and rewrites no one else's points, so concurrent writers to one series do not retry).
 * The series' tallies and the storage usage are written with the call's usage records when
 * the caller takes them (one request for all), else here; either way before the answer. A
 * single segment then goes in that request too (the store's `carry`).
 */
async function store(caller: Caller, writes: SeriesWrite[], states?: Map<string, SeriesState | undefined>): Promise<void> {
  let result: Awaited<ReturnType<typeof writeSeries>>;
  try {
    result = await writeSeries(caller.username, writes, { states, carry: caller.withRecords !== undefined });
  } catch (err) {
    if (err instanceof SeriesWriteTooLarge) {
      throw errors.invalidParametersFormat('Too many points at once across the series: send them in several requests.');
    }
    throw err;
  }
  const storage = (bytes: number) => (bytes !== 0 ? [storageUsedAdd(caller.username, 'dbDocuments', bytes)] : []);
  const counters = [...result.counters, ...storage(result.bytes)];
  const { compact } = result;
  if (caller.withRecords) {
    // The compaction of a segment written with the records: after them, its change in stored bytes on its own.
    const then = compact ? async () => void (await Promise.all(storage(await compact()).map(addCounters))) : undefined;
    caller.withRecords({ counters, inserts: result.inserts, ...(then ? { then } : {}) });
  } else await Promise.all(counters.map(addCounters));
}

/** `POST /events/{id}/series`: checks every point, then stores them all. */
export async function addSeriesPoints(caller: Caller, eventId: string, body: FlatJson): Promise<void> {
  // The series' state, read with the token and the holder (taken before loadHolder clears the prefetch).
  const series = caller.prefetched?.event?.id === eventId ? caller.prefetched.event.series : undefined;
  const holder = await loadHolder(caller, eventId);
  checkCanWrite(await seriesPermissions(caller, holder), holder);
  const rows = rowsFrom(await getEventTypes(), holder, body);
  await store(caller, [{ eventId, rows }], series ? new Map([[eventId, series.state]]) : undefined);
}

/** `POST /series/batch`: every entry checked first (a bad one → 400 naming it, nothing stored), then one write. */
export async function addSeriesBatch(caller: Caller, batch: SeriesBatch): Promise<void> {
  const types = await getEventTypes();
  const permissions = await seriesPermissionsForAll(caller);
  const byEvent = new Map<string, SeriesRows>();
  for (const [index, entry] of batch.data.entries()) {
    let holder: Awaited<ReturnType<typeof loadHolder>>;
    try {
      holder = await loadHolder(caller, entry.eventId);
    } catch (err) {
      if ((err as { id?: string }).id === 'unknown-resource') {
        throw errors.unknownReferencedResource('event', { eventId: entry.eventId, index });
      }
      throw err;
    }
    checkCanWrite(permissions, holder);
    const rows = rowsFrom(types, holder, entry.data, `Batch entry ${index}: `);
    const earlier = byEvent.get(entry.eventId);
    byEvent.set(entry.eventId, earlier ? mergeRows(earlier, rows) : rows);
  }
  await store(
    caller,
    [...byEvent].map(([eventId, rows]) => ({ eventId, rows })),
  );
}
