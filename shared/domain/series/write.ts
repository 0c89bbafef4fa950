import { errors } from '../../errors';
import type { SeriesRows } from '../../model/series';
import { adjustDbDocuments } from '../../store/accounts';
import { mergeRows, type SeriesWrite, SeriesWriteTooLarge, writeSeries } from '../../store/series/chunks';
import type { Caller } from '../caller';
import { retryOnStale, STALE } from '../concurrency';
import { getEventTypes } from '../events/event-types';
import { loadUserData } from '../user-data';
import { checkCanWrite, loadHolder } from './holders';
import { type FlatJson, rowsFrom } from './points';

/** A `seriesBatch` body (Pryv API reference §2.2.7). */
export interface SeriesBatch {
  format: 'seriesBatch';
  data: Array<{ eventId: string; data: FlatJson }>;
}

/**
 * Stores validated rows, all of them or none: one transaction, retried from a fresh read when
 * another writer changed a chunk meanwhile (so concurrent writers to one series lose nothing).
 */
async function store(caller: Caller, writes: SeriesWrite[]): Promise<void> {
  let result: Awaited<ReturnType<typeof writeSeries>> & object;
  try {
    result = await retryOnStale(() => writeSeries(caller.username, writes).then((r) => (r === 'stale' ? STALE : r)), { what: 'series' });
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
  const holder = await loadHolder(caller.username, eventId);
  checkCanWrite(await loadUserData(caller), holder);
  const rows = rowsFrom(await getEventTypes(), holder, body);
  await store(caller, [{ eventId, rows }]);
}

/** `POST /series/batch`: every entry checked first (a bad one → 400 naming it, nothing stored), then one write. */
export async function addSeriesBatch(caller: Caller, batch: SeriesBatch): Promise<void> {
  const types = await getEventTypes();
  const data = await loadUserData(caller);
  const byEvent = new Map<string, SeriesRows>();
  for (const [index, entry] of batch.data.entries()) {
    let holder: Awaited<ReturnType<typeof loadHolder>>;
    try {
      holder = await loadHolder(caller.username, entry.eventId);
    } catch (err) {
      if ((err as { id?: string }).id === 'unknown-resource') {
        throw errors.unknownReferencedResource('event', { eventId: entry.eventId, index });
      }
      throw err;
    }
    checkCanWrite(data, holder);
    const rows = rowsFrom(types, holder, entry.data, `Batch entry ${index}: `);
    const earlier = byEvent.get(entry.eventId);
    byEvent.set(entry.eventId, earlier ? mergeRows(earlier, rows) : rows);
  }
  await store(
    caller,
    [...byEvent].map(([eventId, rows]) => ({ eventId, rows })),
  );
}
