/** The type prefix of a series holder event: `series:{class}/{format}` (Pryv API reference §2.2.7). */
export const SERIES_PREFIX = 'series:';

/**
 * HF series points (Pryv API reference §2.2.7) as the store hands them over: rows ordered by
 * `deltaTime` (seconds after the holder event's `time`), one value per field of the holder's
 * type (`null` where a row has none).
 */
export interface SeriesRows {
  /** Ascending, no duplicates. */
  deltaTimes: number[];
  /** Field name → one value per row, aligned with `deltaTimes`. */
  columns: Record<string, unknown[]>;
}

/** The value fields of a holder's type and which of them every point must carry (its `content`). */
export interface SeriesContent {
  elementType: string;
  fields: string[];
  required: string[];
}
