import { errors } from '../../errors';
import type { StoredEvent } from '../../model/events';
import { adjustAttachedFiles, adjustDbDocuments } from '../../store/accounts';
import { deleteEvent } from '../../store/events/write';
import { deletePrefix } from '../../store/files';
import { objectKeys } from '../../store/keys';
import { deleteSeries } from '../../store/series/chunks';
import type { Caller } from '../caller';
import { retryOnStale, STALE } from '../concurrency';
import { checkAccountEventDeletion } from '../system-streams/event-rules';
import { hasSystemStreams } from '../system-streams/values';
import { loadUserData } from '../user-data';
import { SERIES_PREFIX } from './event-types';
import { deletionIntegrity } from './integrity';
import { updateEventWith } from './update';
import { loadEvent, totalSize } from './write-checks';

/** `events.delete` (spec §2.2.5): trash first, delete for good the second time. */
export async function trashOrDeleteEvent(caller: Caller, id: string): Promise<{ trashed: StoredEvent } | { deleted: string }> {
  const head = await loadEvent(caller.username, id);
  const data = await loadUserData(caller);
  if (!data.permissions.canDeleteEvent(head.streamIds)) {
    throw errors.forbidden('You do not have the permission to delete this event.');
  }
  if (hasSystemStreams(head.streamIds)) checkAccountEventDeletion(head);
  if (!head.trashed) return { trashed: await updateEventWith(caller, id, { trashed: true }, { data }) };
  await deleteEventForGood(caller.username, id, caller.now);
  return { deleted: id };
}

/** Deletes an event for good (it is trashed already) with its files, retrying if it changed meanwhile. */
export function deleteEventForGood(username: string, id: string, now: number): Promise<void> {
  return retryOnStale(
    async () => {
      const head = await loadEvent(username, id);
      if ((await deleteEvent(username, head, now, deletionIntegrity(id, now))) === 'stale') return STALE;
      // A series holder's points go with it (spec §2.2.7).
      if (head.type.startsWith(SERIES_PREFIX)) await adjustDbDocuments(username, -(await deleteSeries(username, id)));
      if (head.attachments?.length) {
        await deletePrefix(objectKeys.eventFiles(username, id));
        await adjustAttachedFiles(username, -totalSize(head.attachments));
      }
    },
    { what: 'event' },
  );
}
