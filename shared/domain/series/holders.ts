import { errors } from '../../errors';
import type { StoredEvent } from '../../model/events';
import type { SeriesContent } from '../../model/series';
import { type EventHead, eventFromHead } from '../../store/events/items';
import { AccessPermissions } from '../accesses/permissions';
import type { Caller } from '../caller';
import { getEventTypes } from '../events/event-types';
import { loadEvent } from '../events/write-checks';
import { StreamTree } from '../streams/tree';
import { loadUserData, loadUserDataAround } from '../user-data';
import { isSeriesType, seriesContentFor } from './content';

export type Holder = StoredEvent & { content: SeriesContent };

/**
 * The live series holder of that id: 404 when there is no such event, 400 when it holds no
 * series. Read with the token when authentication did (once: a later use reads it again).
 */
export async function loadHolder(caller: Pick<Caller, 'username' | 'prefetched'>, eventId: string): Promise<Holder> {
  const prefetched = caller.prefetched?.event;
  let head: EventHead;
  if (prefetched && prefetched.id === eventId) {
    caller.prefetched!.event = undefined;
    if (!prefetched.head || prefetched.deletion) throw errors.unknownResource('event', eventId);
    head = prefetched.head;
  } else head = await loadEvent(caller.username, eventId);
  const event = eventFromHead(head);
  if (!isSeriesType(event.type)) {
    throw errors.invalidOperation(`The event "${eventId}" is not a series event (its type has no "series:" prefix).`, { id: eventId });
  }
  // Holders carry their content from creation; derive it for any that were stored without.
  const content = (event.content as SeriesContent | undefined) ?? seriesContentFor(await getEventTypes(), event.type);
  return { ...event, content };
}

/** A personal access's levels need no stream tree (see {@link seriesPermissions}). */
const NO_TREE = new StreamTree([]);

/**
 * The caller's permissions over a holder's streams, with no more reads than they need: a
 * personal access has `manage` on every stream but hidden system ones, which the access
 * alone decides (no tree read); another access needs the levels inherited from the holder's
 * streams' ancestors only (the cached tree when current, else those streams' chains).
 */
export async function seriesPermissions(caller: Caller, holder: Holder): Promise<AccessPermissions> {
  if (caller.access.type === 'personal') return new AccessPermissions(caller.access, NO_TREE);
  return (await loadUserDataAround(caller, holder.streamIds)).permissions;
}

/** The same for calls on many holders (series.batch): a non-personal access's levels over the whole tree. */
export async function seriesPermissionsForAll(caller: Caller): Promise<AccessPermissions> {
  if (caller.access.type === 'personal') return new AccessPermissions(caller.access, NO_TREE);
  return (await loadUserData(caller)).permissions;
}

/** Reading points needs read permission on one of the holder's streams, like reading the event. */
export function checkCanRead(permissions: AccessPermissions, holder: Holder): void {
  if (!permissions.canReadEvent(holder.streamIds)) throw errors.forbidden('You do not have the permission to read this series.');
}

/** Adding points needs contribute permission on one of the holder's streams (Pryv API reference §2.2.7). */
export function checkCanWrite(permissions: AccessPermissions, holder: Holder): void {
  if (!holder.streamIds.some((id) => permissions.canCreateEvents(id))) {
    throw errors.forbidden('You do not have the permission to add points to this series.');
  }
}
