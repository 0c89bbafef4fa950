import type { EventVersion } from '../../model/notifications';

const stringList = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

/**
 * What deciding who hears of an event change needs of one side of it: the event's streams,
 * trashed state, type, content and clientData; `undefined` for no event or a tombstone. Read
 * from a stored item alike by the fan-out (stream records) and by a writing call pushing its
 * own change (shared/domain/notifications/direct-push.ts).
 */
export function eventVersionOf(item: Record<string, unknown> | undefined): EventVersion | undefined {
  if (!item || item.deleted !== undefined || !Array.isArray(item.streamIds)) return undefined;
  const version: EventVersion = { streamIds: stringList(item.streamIds) };
  if (item.trashed === true) version.trashed = true;
  if (typeof item.type === 'string') version.type = item.type;
  // Kept by reference (scopes with content conditions read them): no copy per record.
  if (item.content !== undefined) version.content = item.content;
  if (item.clientData !== undefined) version.clientData = item.clientData;
  return version;
}
