import { errors } from '../../errors';
import type { SeriesRows } from '../../model/series';
import { adjustDbDocuments } from '../../store/accounts';
import { mergeRows, type SeriesWrite, SeriesWriteTooLarge, writeSeries } from '../../store/series/chunks';
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
 */
async function store(caller: Caller, writes: SeriesWrite[]): Promise<void> {
  let result: Awaited<ReturnType<typeof writeSeries>>;
  try {
    result = await writeSeries(caller.username, writes);
  } catch (err) {
    if (err instanceof SeriesWriteTooLarge) {
      throw errors.invalidParametersFormat('Too many points at once across the series: send them in several requests.');
    }
    throw err;
  }
  await adjustDbDocuments(caller.username, result.bytes);
}

/** `POST /events/{id}/series`: checks every point, then stores them all. */
export async function addSeriesPoints(caller: Caller, eventId: string, body: FlatJson): Promise<void> {
  const holder = await loadHolder(caller, eventId);
  checkCanWrite(await seriesPermissions(caller, holder), holder);
  const rows = rowsFrom(await getEventTypes(), holder, body);
  await store(caller, [{ eventId, rows }]);
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
