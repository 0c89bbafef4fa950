import { errors } from '../../errors';
import type { Access } from '../../model/accesses';
import type { StoredEvent } from '../../model/events';
import type { EventsState } from '../../model/streams';
import { attachmentsForReader } from './read-tokens';

/** Client-chosen event ids: v1 cuid, cuid2, or a store-prefixed id (spec §2.2.3). */
const EVENT_ID = /^(c[a-z0-9-]{24}|[a-z][a-z0-9]{23}|:[a-z0-9_-]+:[a-zA-Z0-9-]{1,256})$/;
export const isValidEventId = (id: string) => EVENT_ID.test(id);

export interface EventInput {
  id?: string;
  streamId?: string;
  streamIds?: string[];
  time?: number;
  duration?: number | null;
  type: string;
  content?: unknown;
  description?: string | null;
  clientData?: Record<string, unknown> | null;
  tags?: string[];
  trashed?: boolean;
}

/** `streamId` (v1) or `streamIds`, never both; duplicates removed (spec §2.2.3). */
export function resolveStreamIds(input: { streamId?: string; streamIds?: string[] }, required: boolean): string[] | undefined {
  if (input.streamId !== undefined && input.streamIds !== undefined) {
    throw errors.invalidOperation('Events cannot have both `streamId` and `streamIds`; use `streamIds`.');
  }
  const ids = input.streamIds ?? (input.streamId !== undefined ? [input.streamId] : undefined);
  if (ids === undefined) {
    if (required) {
      throw errors.invalidParametersFormat("The parameters' format is invalid.", [
        {
          code: 'OBJECT_MISSING_REQUIRED_PROPERTY',
          message: 'Missing required property: streamIds',
          path: '#/streamIds',
          params: ['streamIds'],
        },
      ]);
    }
    return undefined;
  }
  return [...new Set(ids)];
}

export function cleanTags(tags: string[] | undefined): string[] | undefined {
  if (tags === undefined) return undefined;
  return [...new Set(tags.map((t) => t.trim()).filter((t) => t.length > 0))];
}

/** Key-wise merge of `clientData` (`null` deletes a key), as Pryv does on update. */
export function mergeClientData(
  current: Record<string, unknown> | null | undefined,
  changes: Record<string, unknown> | null | undefined,
): Record<string, unknown> | null | undefined {
  if (changes === null) return null;
  if (changes === undefined) return current;
  const out: Record<string, unknown> = { ...(current ?? {}) };
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return Object.keys(out).length > 0 ? out : null;
}

/**
 * The event as the API shows it (spec §3 output conventions): null fields omitted except
 * `duration: null` on running events, `trashed` only when true, v1 `streamId` and `tags`.
 */
export function eventForApi(
  event: StoredEvent & { tags?: string[] },
  reader?: { secret: string; access?: Pick<Access, 'id' | 'token'> },
): Record<string, unknown> {
  // Straight assignments, no helper closure: every event of every answer passes here.
  const out: Record<string, unknown> = {};
  if (event.id != null) out.id = event.id;
  if (event.streamIds != null) out.streamIds = event.streamIds;
  if (event.streamIds[0] != null) out.streamId = event.streamIds[0];
  if (event.time != null) out.time = event.time;
  if (event.duration === null) out.duration = null;
  else if (event.duration !== 0 && event.duration !== undefined) out.duration = event.duration;
  if (event.type != null) out.type = event.type;
  if (event.content != null) out.content = event.content;
  if (event.description != null) out.description = event.description;
  out.tags = event.tags ?? [];
  if (event.clientData != null) out.clientData = event.clientData;
  if (event.trashed === true) out.trashed = true;
  const attachments = reader ? attachmentsForReader(event.attachments, reader.secret, reader.access) : event.attachments;
  if (attachments != null) out.attachments = attachments;
  if (event.created != null) out.created = event.created;
  if (event.createdBy != null) out.createdBy = event.createdBy;
  if (event.modified != null) out.modified = event.modified;
  if (event.modifiedBy != null) out.modifiedBy = event.modifiedBy;
  if (event.integrity != null) out.integrity = event.integrity;
  return out;
}

/** Matches an event type against a `types` filter entry (`class/*` = any format). */
export function typeMatches(type: string, filters: string[]): boolean {
  return filters.some((f) => (f.endsWith('/*') ? type.startsWith(f.slice(0, -1)) : type === f));
}

/** `events.get`'s `state` (spec §2.2.1) on one event: `default` the ones not in the trash, `trashed` the others, `all` both. */
export const inEventsState = (event: { trashed?: boolean }, state: EventsState): boolean =>
  state === 'all' || (event.trashed === true) === (state === 'trashed');
