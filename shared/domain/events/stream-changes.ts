import { errors } from '../../errors';
import type { StoredStream } from '../../model/streams';
import { eventFromHead } from '../../store/events/items';
import { eventIdsInStream, getEventHead } from '../../store/events/read';
import { updateEvent } from '../../store/events/write';
import { deleteStreams } from '../../store/streams';
import type { Caller } from '../caller';
import { retryOnStale, STALE } from '../concurrency';
import type { StreamTree } from '../streams/tree';
import { loadUserData } from '../user-data';
import { deleteEventForGood } from './delete';
import { updateEventWith } from './update';
import { placementFor } from './write-checks';

/** What stream changes do to events: a moved stream's events are re-indexed, a deleted stream's events merged, cut or deleted. */

async function eventIdsInStreams(u: string, streamIds: string[]): Promise<string[]> {
  const ids = new Set<string>();
  for (const s of streamIds) for (const id of await eventIdsInStream(u, s)) ids.add(id);
  return [...ids];
}

/** After a stream moved: rewrite the index items of the events below it (their ancestors changed). */
export async function reindexStreamEvents(u: string, tree: StreamTree, streamIds: string[]): Promise<void> {
  for (const id of await eventIdsInStreams(u, streamIds)) {
    await retryOnStale(
      async () => {
        const { head } = await getEventHead(u, id);
        if (!head) return;
        const event = eventFromHead(head);
        const outcome = await updateEvent(u, head, event, placementFor(tree, event.streamIds), { keepHistory: false, liveStreams: [] });
        return outcome === 'ok' ? undefined : STALE;
      },
      // An event that other writers change in every round is left as they wrote it.
      { giveUp: () => undefined },
    );
  }
}

export type UpdatedEventAction = 'mergedToParent' | 'deleted' | 'updatedStreamIds';

/**
 * The second step of `streams.delete` (spec §2.3): the streams go first, so no event can
 * be created in them any more, then every event that referenced them is merged into the
 * parent, deleted, or loses the deleted stream ids.
 */
export async function removeStreamsFromEvents(
  caller: Caller,
  doomed: StoredStream[],
  parentId: string | null,
  merge: boolean | undefined,
): Promise<Array<{ id: string; action: UpdatedEventAction }>> {
  const u = caller.username;
  const doomedIds = doomed.map((s) => s.id);
  const before = await eventIdsInStreams(u, doomedIds);
  if (before.length > 0 && merge === undefined) {
    throw errors.invalidParametersFormat('Parameter "mergeEventsWithParent" is required when the streams to delete have events.', [
      {
        code: 'OBJECT_MISSING_REQUIRED_PROPERTY',
        message: 'Missing required property: mergeEventsWithParent',
        path: '#/mergeEventsWithParent',
        params: ['mergeEventsWithParent'],
      },
    ]);
  }
  if (merge === true && parentId === null) throw errors.invalidOperation('A root stream has no parent to merge its events into.');

  await deleteStreams(u, doomed, caller.now);
  const ids = new Set([...before, ...(await eventIdsInStreams(u, doomedIds))]);
  const gone = new Set(doomedIds);
  const data = await loadUserData(caller);
  const updated: Array<{ id: string; action: UpdatedEventAction }> = [];
  for (const id of ids) {
    const { head } = await getEventHead(u, id);
    if (!head) continue;
    const remaining = head.streamIds.filter((s) => !gone.has(s));
    if (merge) {
      const streamIds = remaining.includes(parentId!) ? remaining : [...remaining, parentId!];
      await updateEventWith(caller, id, { streamIds }, { data, skipPermission: true, allowTrashedStreams: true });
      updated.push({ id, action: 'mergedToParent' });
    } else if (remaining.length === 0) {
      await deleteEventForGood(u, id, caller.now);
      updated.push({ id, action: 'deleted' });
    } else {
      await updateEventWith(caller, id, { streamIds: remaining }, { data, skipPermission: true, allowTrashedStreams: true });
      updated.push({ id, action: 'updatedStreamIds' });
    }
  }
  return updated;
}
