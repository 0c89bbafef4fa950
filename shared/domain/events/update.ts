import { errors } from '../../errors';
import type { StoredEvent } from '../../model/events';
import { eventFromHead } from '../../store/events/items';
import { updateEvent } from '../../store/events/write';
import { raiseMaxDuration } from '../../store/streams';
import type { Caller } from '../caller';
import { nextModified, retryOnStale, STALE } from '../concurrency';
import { startDirectPush } from '../notifications/direct-push';
import { eventVersionOf } from '../notifications/event-versions';
import { seriesContentFor } from '../series/content';
import { checkAccountEventUpdate } from '../system-streams/event-rules';
import { hasSystemStreams, replaceAccountEvent } from '../system-streams/values';
import { loadUserData, type UserData } from '../user-data';
import { getEventTypes, SERIES_PREFIX } from './event-types';
import { cleanTags, type EventInput, mergeClientData, resolveStreamIds } from './fields';
import { sealEvent } from './integrity';
import { beforeStoringRunning } from './running';
import { checkStreams, keepHistory, loadEvent, placementFor, validateContent } from './write-checks';

export type EventChanges = Partial<EventInput> & Record<string, unknown>;

/**
 * Applies changes to an event (spec §2.2.4): read, check, write conditionally on the
 * version read; if another writer got there first, start over from its version.
 */
export function updateEventWith(
  caller: Caller,
  id: string,
  changes: EventChanges,
  options: { data?: UserData; skipPermission?: boolean; allowTrashedStreams?: boolean } = {},
): Promise<StoredEvent> {
  return retryOnStale(
    async (attempt) => {
      const head = await loadEvent(caller.username, id);
      const current = eventFromHead(head);
      const data = attempt === 0 && options.data ? options.data : await loadUserData(caller);
      const requested = resolveStreamIds(changes, false);
      // Account events (Pryv API reference §7) stay in their one account stream, under their own rules.
      const account = hasSystemStreams(current.streamIds) || (requested !== undefined && hasSystemStreams(requested));
      const streamIds = account
        ? checkAccountEventUpdate(
            head,
            requested,
            {
              content: 'content' in changes ? changes.content : current.content,
              trashed: changes.trashed,
              duration: changes.duration,
            },
            data.permissions,
          )
        : (requested ?? current.streamIds);
      const added = streamIds.filter((s) => !current.streamIds.includes(s));
      if (!account && !options.skipPermission && !data.permissions.canUpdateEvent(current.streamIds, streamIds)) {
        throw errors.forbidden('You do not have the permission to change this event in these streams.');
      }
      const missing = account ? [] : streamIds.filter((s) => !data.tree.has(s));
      if (missing.length > 0) throw errors.unknownReferencedResource('stream(s)', { streamIds: missing });
      // streams.delete merging into a trashed parent moves events there (as Pryv does).
      if (!options.allowTrashedStreams) checkStreams(data.tree, added);

      const next: StoredEvent & { tags?: string[] } = { ...current, streamIds };
      if (changes.time !== undefined) next.time = changes.time;
      if (changes.duration !== undefined) {
        if (changes.duration === 0) delete next.duration;
        else next.duration = changes.duration;
      }
      if (changes.type !== undefined) {
        if (changes.type.startsWith(SERIES_PREFIX) !== current.type.startsWith(SERIES_PREFIX)) {
          throw errors.invalidOperation('The type of an event cannot change between a normal and a series type.');
        }
        next.type = changes.type;
      }
      if ('content' in changes) {
        if (changes.content === undefined || changes.content === null) delete next.content;
        else next.content = changes.content;
      }
      if ('description' in changes) {
        if (changes.description === null || changes.description === undefined) delete next.description;
        else next.description = changes.description;
      }
      if ('clientData' in changes) {
        const merged = mergeClientData(current.clientData, changes.clientData);
        if (merged) next.clientData = merged;
        else delete next.clientData;
      }
      if (changes.trashed !== undefined) {
        if (changes.trashed) next.trashed = true;
        else delete next.trashed;
      }
      if (changes.tags !== undefined) {
        const tags = cleanTags(changes.tags);
        if (tags && tags.length > 0) next.tags = tags;
        else delete next.tags;
      }
      if (next.type.startsWith(SERIES_PREFIX)) {
        // A holder's content is the server's (spec §2.2.7): given content is refused, a new series type gets its own.
        if ('content' in changes || changes.type !== undefined) await validateContent(next.type, changes.content);
        next.content = seriesContentFor(await getEventTypes(), next.type);
      } else if (!account && (changes.type !== undefined || 'content' in changes)) await validateContent(next.type, next.content);
      next.modified = nextModified(caller.now, current.modified);
      next.modifiedBy = caller.author;
      if (typeof next.duration === 'number' && next.duration > data.meta.maxDuration) {
        await raiseMaxDuration(caller.username, next.duration);
      }
      await beforeStoringRunning(caller.username, data.meta.runningFrom, next);
      const sealed = sealEvent(next);
      if (account) return (await replaceAccountEvent(caller.username, head, sealed, keepHistory())) === 'ok' ? sealed : STALE;
      const push = startDirectPush(caller, data.meta);
      const outcome = await updateEvent(caller.username, head, sealed, placementFor(data.tree, streamIds), {
        keepHistory: keepHistory(),
        liveStreams: options.allowTrashedStreams ? [] : added,
        push: push?.mark,
      });
      if (outcome === 'streams-gone') throw errors.unknownReferencedResource('stream(s)', { streamIds: added });
      if (outcome !== 'ok') return STALE;
      // The user's sockets hear of it now, before the call's own bookkeeping and answer.
      const version = (e: StoredEvent) => eventVersionOf(e as unknown as Record<string, unknown>);
      await push?.committed({ kind: 'event', id, before: version(current), after: version(sealed) }, data.tree);
      return sealed;
    },
    { what: 'event' },
  );
}
