import { errors, PryvError } from '../../errors';
import type { SeriesContent, SeriesRows } from '../../model/series';
import type { EventTypes } from '../events/event-types';
import { DELTA_TIME, TIMESTAMP, VALUE } from './content';

/** A `flatJSON` body (Pryv API reference §2.2.7), its shape checked by the method's schema. */
export interface FlatJson {
  format: 'flatJSON';
  fields: string[];
  points: unknown[][];
}

const invalid = (message: string, data?: unknown) => errors.invalidParametersFormat(message, data);

/**
 * Checks a flatJSON body against a holder (its `time` and series content) and turns it into
 * rows sorted by `deltaTime`, the last of equal times winning (re-adding overwrites). Every
 * point is validated against the element type's schema; the first bad one is named in a 400
 * and nothing is kept.
 */
export function rowsFrom(types: EventTypes, holder: { time: number; content: SeriesContent }, body: FlatJson, where = ''): SeriesRows {
  const { fields, points } = body;
  const { content } = holder;
  const seen = new Set<string>();
  for (const field of fields) {
    if (seen.has(field)) throw invalid(`${where}The field "${field}" is listed twice.`, { field });
    seen.add(field);
  }
  const hasDelta = seen.has(DELTA_TIME);
  const hasStamp = seen.has(TIMESTAMP);
  if (hasDelta === hasStamp)
    throw invalid(`${where}The fields must include either "${DELTA_TIME}" or "${TIMESTAMP}" (one of them).`, { fields });
  const valueFields = content.fields.filter((f) => f !== DELTA_TIME);
  const unknown = fields.filter((f) => f !== DELTA_TIME && f !== TIMESTAMP && !valueFields.includes(f));
  if (unknown.length > 0) {
    throw invalid(`${where}Unknown field(s) for type "${content.elementType}": ${unknown.join(', ')}. Known: ${valueFields.join(', ')}.`, {
      fields: unknown,
    });
  }
  const missing = content.required.filter((f) => f !== DELTA_TIME && !seen.has(f));
  if (missing.length > 0) throw invalid(`${where}Missing required field(s): ${missing.join(', ')}.`, { fields: missing });

  const timeIndex = fields.indexOf(hasDelta ? DELTA_TIME : TIMESTAMP);
  const offset = hasDelta ? 0 : holder.time;
  const single = valueFields.length === 1 && valueFields[0] === VALUE;
  const given = valueFields.filter((f) => seen.has(f)).map((f) => [f, fields.indexOf(f)] as const);

  const check = pointChecker(types, content.elementType);
  const width = fields.length;
  const times = new Array<number>(points.length);
  // Points usually come in time order: then they are taken as they are, else ordered below.
  let ascending = true;
  for (let r = 0; r < points.length; r++) {
    const row = points[r]!;
    if (row.length !== width) {
      throw invalid(`${where}Point ${r} has ${row.length} values; the fields list ${width}.`, { point: r });
    }
    const time = row[timeIndex];
    if (typeof time !== 'number' || !Number.isFinite(time)) {
      throw invalid(`${where}Point ${r}: "${fields[timeIndex]}" must be a finite number.`, { point: r, field: fields[timeIndex] });
    }
    if (single) {
      const value = row[given[0]![1]];
      if (!check?.(value)) checkPoint(types, content.elementType, value, r, where);
    } else {
      const object: Record<string, unknown> = {};
      for (const [field, index] of given) if (row[index] !== null || content.required.includes(field)) object[field] = row[index];
      checkPoint(types, content.elementType, object, r, where);
    }
    const t = time - offset;
    if (r > 0 && !(t > times[r - 1]!)) ascending = false;
    times[r] = t;
  }
  const rows: SeriesRows = { deltaTimes: [], columns: Object.fromEntries(given.map(([f]) => [f, [] as unknown[]])) };
  if (ascending) {
    rows.deltaTimes = times;
    for (const [field, index] of given) {
      const column = new Array<unknown>(points.length);
      for (let r = 0; r < points.length; r++) column[r] = points[r]![index] ?? null;
      rows.columns[field] = column;
    }
    return rows;
  }
  // Equal times keep the last one given.
  const order = Array.from(times.keys());
  order.sort((a, b) => times[a]! - times[b]! || a - b);
  for (let k = 0; k < order.length; k++) {
    const r = order[k]!;
    const next = order[k + 1];
    if (next !== undefined && times[next] === times[r]) continue; // a later point at the same time replaces it
    rows.deltaTimes.push(times[r]!);
    for (const [field, index] of given) rows.columns[field]!.push(points[r]![index] ?? null);
  }
  return rows;
}

/** Checks one point's value against the element type's schema: the first bad one → a 400 naming it. */
function checkPoint(types: EventTypes, elementType: string, value: unknown, r: number, where: string): void {
  try {
    types.validateContent(elementType, value);
  } catch (err) {
    if (!(err instanceof PryvError)) throw err;
    throw invalid(`${where}Point ${r} does not match the type "${elementType}".`, { point: r, errors: err.data });
  }
}

/** Schema keywords that constrain nothing. */
const ANNOTATIONS = new Set(['type', 'description', 'title', '$comment']);
const checkers = new WeakMap<EventTypes, Map<string, ((value: unknown) => boolean) | undefined>>();

/**
 * A check equivalent to the schema for the plain scalar types most series hold (`{type:
 * "number"}` and the like: a 1,000-point write checks 1,000 values, and the generic validator
 * costs more than the rest of the point's handling); undefined for any other schema. A value
 * it does not pass goes to the generic validator, for the same answer as ever.
 */
function pointChecker(types: EventTypes, elementType: string): ((value: unknown) => boolean) | undefined {
  let byType = checkers.get(types);
  if (!byType) {
    byType = new Map();
    checkers.set(types, byType);
  }
  if (byType.has(elementType)) return byType.get(elementType);
  const schema = types.schemaOf(elementType) as Record<string, unknown> | undefined;
  let check: ((value: unknown) => boolean) | undefined;
  if (schema && Object.keys(schema).every((k) => ANNOTATIONS.has(k))) {
    // JSON has no NaN nor Infinity: a parsed body's numbers are finite.
    if (schema.type === 'number') check = (v) => typeof v === 'number' && Number.isFinite(v);
    else if (schema.type === 'string') check = (v) => typeof v === 'string';
    else if (schema.type === 'boolean') check = (v) => typeof v === 'boolean';
  }
  byType.set(elementType, check);
  return check;
}

/** A read answer as the JSON text sent, with its size in bytes. */
export interface FlatJsonText {
  json: string;
  bytes: number;
}

/**
 * The flatJSON answer of a read as text, written block by block: each block's rows become
 * arrays only for the one `JSON.stringify` of that block, rather than every point being
 * copied into one list and the whole answer serialized at the end (a third of the CPU for
 * 100,000 points). The same text as serializing the whole answer (test/unit/series-answer.test.ts).
 */
export function flatJsonText(content: SeriesContent, blocks: SeriesRows[]): FlatJsonText {
  const valueFields = content.fields.filter((f) => f !== DELTA_TIME);
  const head = `{"format":"flatJSON","fields":${JSON.stringify(content.fields)},"points":[`;
  let bytes = Buffer.byteLength(head) + 2;
  const parts: string[] = [];
  for (const block of blocks) {
    const n = block.deltaTimes.length;
    if (n === 0) continue;
    const columns = valueFields.map((f) => block.columns[f]);
    // Numbers and nulls serialize to ASCII: their text's length is its size in bytes.
    let ascii = true;
    const points = new Array<unknown[]>(n);
    for (let i = 0; i < n; i++) {
      const row = new Array<unknown>(columns.length + 1);
      row[0] = block.deltaTimes[i];
      for (let c = 0; c < columns.length; c++) {
        const value = columns[c]?.[i] ?? null;
        if (ascii && value !== null && typeof value !== 'number') ascii = false;
        row[c + 1] = value;
      }
      points[i] = row;
    }
    const text = JSON.stringify(points);
    const part = text.slice(1, -1);
    parts.push(part);
    bytes += (ascii ? part.length : Buffer.byteLength(part)) + 1;
  }
  if (parts.length > 0) bytes -= 1; // commas between parts
  return { json: `${head}${parts.join(',')}]}`, bytes };
}
