import { errors } from '../../errors';
import { readSeriesBlocks, type SeriesReadStats } from '../../store/series/chunks';
import type { Caller } from '../caller';
import { checkCanRead, loadHolder, seriesPermissions } from './holders';
import { type FlatJsonText, flatJsonText } from './points';

export interface SeriesQuery {
  fromDeltaTime?: number;
  toDeltaTime?: number;
}

/**
 * `GET /events/{id}/series` (Pryv API reference §2.2.7): the points with
 * `fromDeltaTime ≤ deltaTime ≤ toDeltaTime`, ascending. No `fromDeltaTime`: from the first
 * point; no `toDeltaTime`: up to now (seconds since the holder's `time`). Answers the JSON text.
 */
export async function getSeriesPoints(caller: Caller, eventId: string, query: SeriesQuery, stats?: SeriesReadStats): Promise<FlatJsonText> {
  const holder = await loadHolder(caller, eventId);
  checkCanRead(await seriesPermissions(caller, holder), holder);
  const from = query.fromDeltaTime ?? -Infinity;
  const to = query.toDeltaTime ?? caller.now - holder.time;
  if (to < from) {
    throw errors.invalidParametersFormat('"toDeltaTime" must not be lower than "fromDeltaTime".', { fromDeltaTime: from, toDeltaTime: to });
  }
  return flatJsonText(holder.content, await readSeriesBlocks(caller.username, eventId, from, to, stats));
}
