import type { SeriesContent } from '../../model/series';
import { type EventTypes, SERIES_PREFIX } from '../events/event-types';

/** The field every point carries: seconds after the holder's `time`. */
export const DELTA_TIME = 'deltaTime';
/** Accepted instead of `deltaTime`: the point's own Unix time, converted (Pryv API reference §2.2.7). */
export const TIMESTAMP = 'timestamp';
/** The one value field of a series whose type is not an object. */
export const VALUE = 'value';

export const isSeriesType = (type: string) => type.startsWith(SERIES_PREFIX);

/**
 * The read-only `content` the server gives a series holder (Pryv API reference §2.2.7): its
 * element type, the point fields (`deltaTime` first, then `value` or the object type's
 * properties) and which of them each point must carry. The type is known (checked before).
 */
export function seriesContentFor(types: EventTypes, type: string): SeriesContent {
  const elementType = type.slice(SERIES_PREFIX.length);
  const schema = (types.schemaOf(elementType) ?? {}) as { type?: unknown; properties?: Record<string, unknown>; required?: unknown };
  if (schema.type === 'object' && schema.properties && typeof schema.properties === 'object') {
    const properties = Object.keys(schema.properties);
    const required = Array.isArray(schema.required) ? schema.required.filter((f): f is string => properties.includes(f)) : [];
    return { elementType, fields: [DELTA_TIME, ...properties], required: [DELTA_TIME, ...required] };
  }
  return { elementType, fields: [DELTA_TIME, VALUE], required: [DELTA_TIME, VALUE] };
}
