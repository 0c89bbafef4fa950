import { errors } from '../../errors';
import { newId } from '../../ids';
import type { StoredEvent } from '../../model/events';
import type { UploadedFile } from '../../model/uploads';
import { adjustAttachedFiles } from '../../store/accounts';
import { createEvent } from '../../store/events/write';
import { raiseMaxDuration } from '../../store/streams';
import type { Caller } from '../caller';
import { startDirectPush } from '../notifications/direct-push';
import { eventVersionOf } from '../notifications/event-versions';
import { seriesContentFor } from '../series/content';
import { createAccountEvent } from '../system-streams/event-rules';
import { hasSystemStreams } from '../system-streams/values';
import { loadUserData } from '../user-data';
import { storeUploadedFiles } from './attachments';
import { getEventTypes, SERIES_PREFIX } from './event-types';
import { cleanTags, type EventInput, isValidEventId, resolveStreamIds } from './fields';
import { sealEvent } from './integrity';
import { beforeStoringRunning } from './running';
import { checkStreams, keepHistory, placementFor, totalSize, validateContent } from './write-checks';

/** `events.create` after parameter validation (spec §2.2.3 order of checks), with the files of a multipart request. */
export async function createEventFrom(caller: Caller, input: EventInput, files: UploadedFile[] = []): Promise<StoredEvent> {
  const streamIds = resolveStreamIds(input, true)!;
  if (input.id !== undefined && !isValidEventId(input.id)) {
    throw errors.invalidParametersFormat("The parameters' format is invalid.", [
      { code: 'PATTERN', message: 'Event ids must be cuids.', path: '#/id', params: [input.id] },
    ]);
  }
  const data = await loadUserData(caller);
  if (hasSystemStreams(streamIds)) {
    // Account streams have their own rules and write path (Pryv API reference §7).
    return createAccountEvent(caller, { ...input, streamIds }, data.permissions, {
      hasFiles: files.length > 0,
      keepHistory: keepHistory(),
    });
  }
  checkStreams(data.tree, streamIds);
  await validateContent(input.type, input.content);
  if (!data.permissions.canCreateEvent(streamIds)) {
    throw errors.forbidden('You do not have the permission to create events in all of these streams.');
  }
  const { now, author } = caller;
  let event: StoredEvent & { tags?: string[] } = {
    id: input.id ?? newId(),
    streamIds,
    time: input.time ?? now,
    type: input.type,
    created: now,
    createdBy: author,
    modified: now,
    modifiedBy: author,
  };
  if (input.duration !== undefined && input.duration !== 0) event.duration = input.duration;
  if (input.content !== undefined) event.content = input.content;
  if (input.type.startsWith(SERIES_PREFIX)) {
    // A series holder: the server sets its content and, while it has no points, duration 0 (spec §2.2.7).
    event.duration = 0;
    event.content = seriesContentFor(await getEventTypes(), input.type);
  }
  if (input.description !== undefined && input.description !== null) event.description = input.description;
  if (input.clientData) event.clientData = input.clientData;
  if (input.trashed) event.trashed = true;
  const tags = cleanTags(input.tags);
  if (tags && tags.length > 0) event.tags = tags;

  if (typeof event.duration === 'number' && event.duration > data.meta.maxDuration) {
    await raiseMaxDuration(caller.username, event.duration);
  }
  await beforeStoringRunning(caller.username, data.meta.runningFrom, event);
  const placement = placementFor(data.tree, streamIds);
  // Files first, event second: a failed write removes the files, so nothing is left half-done.
  const uploaded = files.length > 0 ? await storeUploadedFiles(caller, event.id, files) : undefined;
  if (uploaded) event.attachments = uploaded.attachments;
  event = sealEvent(event);
  const push = startDirectPush(caller, data.meta);
  let outcome: Awaited<ReturnType<typeof createEvent>>;
  try {
    outcome = await createEvent(caller.username, event, placement, push?.mark);
  } catch (err) {
    await uploaded?.cleanUp();
    throw err;
  }
  if (outcome !== 'ok') await uploaded?.cleanUp();
  if (outcome === 'exists') throw errors.itemAlreadyExists('event', { id: event.id });
  if (outcome === 'streams-gone') throw errors.unknownReferencedResource('stream(s)', { streamIds });
  // The user's sockets hear of it now, before the call's own bookkeeping and answer.
  await push?.committed({ kind: 'event', id: event.id, after: eventVersionOf(event as unknown as Record<string, unknown>) }, data.tree);
  if (uploaded) await adjustAttachedFiles(caller.username, totalSize(uploaded.attachments));
  return event;
}
