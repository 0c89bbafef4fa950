import { errors } from '../../errors';
import type { StoredEvent } from '../../model/events';
import type { SeriesContent } from '../../model/series';
import { eventFromHead } from '../../store/events/items';
import { getEventTypes } from '../events/event-types';
import { loadEvent } from '../events/write-checks';
import type { UserData } from '../user-data';
import { isSeriesType, seriesContentFor } from './content';

export type Holder = StoredEvent & { content: SeriesContent };

/** The live series holder of that id: 404 when there is no such event, 400 when it holds no series. */
export async function loadHolder(username: string, eventId: string): Promise<Holder> {
  const event = eventFromHead(await loadEvent(username, eventId));
  if (!isSeriesType(event.type)) {
    throw errors.invalidOperation(`The event "${eventId}" is not a series event (its type has no "series:" prefix).`, { id: eventId });
  }
  // Holders carry their content from creation; derive it for any that were stored without.
  const content = (event.content as SeriesContent | undefined) ?? seriesContentFor(await getEventTypes(), event.type);
  return { ...event, content };
}

/** Reading points needs read permission on one of the holder's streams, like reading the event. */
export function checkCanRead(data: UserData, holder: Holder): void {
  if (!data.permissions.canReadEvent(holder.streamIds)) throw errors.forbidden('You do not have the permission to read this series.');
}

/** Adding points needs contribute permission on one of the holder's streams (Pryv API reference §2.2.7). */
export function checkCanWrite(data: UserData, holder: Holder): void {
  if (!holder.streamIds.some((id) => data.permissions.canCreateEvents(id))) {
    throw errors.forbidden('You do not have the permission to add points to this series.');
  }
}
