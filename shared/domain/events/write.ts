import type { MethodContext } from '../../api/types';
import { errors } from '../../errors';
import type { StreamTree } from '../streams/tree';
import type { StoredStream } from '../../model/streams';
import type { StoredEvent } from '../../model/events';
import { author, loadUserData, type UserData } from '../user-data';
import { cleanTags, mergeClientData, resolveStreamIds, type EventInput } from './fields';
import { getEventTypes } from './event-types';
import { newId } from '../../ids';
import { isValidEventId } from './fields';
import { createEvent, deleteEvent, updateEvent } from '../../store/events/write';
import { eventFromHead, MAX_INDEX_ITEMS, type EventHead, type IndexPlacement } from '../../store/events/items';
import { eventIdsInStream, getEventHead } from '../../store/events/read';
import { deleteStreams, raiseMaxDuration } from '../../store/streams';
import { adjustAttachedFiles } from '../../store/accounts';
import { deleteFile, deletePrefix, putFile } from '../../store/files';
import type { UploadedFile } from '../../model/uploads';
import type { Attachment } from '../../model/events';
import { createHash } from 'node:crypto';
import { objectKeys } from '../../store/keys';

/**
 * Concurrent writers of one item: re-read, re-apply, retry. Every lost round means another
 * writer committed, so N concurrent writers need up to N − 1 retries; the jittered pause
 * keeps the same writer from losing every round.
 */
export const MAX_STALE_RETRIES = 20;
export function staleBackoff(attempt: number): Promise<void> {
  const ms = Math.random() * 10 * 2 ** Math.min(attempt, 4);
  return new Promise((resolve) => setTimeout(resolve, ms));
}
export const SERIES_PREFIX = 'series:';

/** Where an event is indexed: its streams, and their ancestors for subtree reads. */
export function placementFor(tree: StreamTree, streamIds: string[]): IndexPlacement {
  const inherited = new Set<string>();
  for (const id of streamIds) for (const ancestor of tree.ancestors(id)) inherited.add(ancestor);
  const placement = { direct: streamIds, inherited: [...inherited] };
  if (placement.direct.length + placement.inherited.length + 3 > MAX_INDEX_ITEMS) {
    throw errors.invalidParametersFormat('The event belongs to too many streams (with their ancestors).', { streamIds });
  }
  return placement;
}

/** Every stream exists (400 unknown-referenced-resource) and none is trashed (400 invalid-operation). */
function checkStreams(tree: StreamTree, streamIds: string[]): void {
  const missing = streamIds.filter((id) => !tree.has(id));
  if (missing.length > 0) throw errors.unknownReferencedResource('stream(s)', { streamIds: missing });
  const trashed = streamIds.filter((id) => tree.isTrashed(id));
  if (trashed.length > 0) {
    throw errors.invalidOperation('Events cannot be written into trashed streams.', { trashedReference: 'streamIds', streamIds: trashed });
  }
}

async function validateContent(type: string, content: unknown): Promise<void> {
  (await getEventTypes()).validateContent(type, content);
}

const keepHistory = () => process.env.KEEP_EVENT_HISTORY !== 'false';

/** `events.create` after parameter validation (spec §2.2.3 order of checks). */
export async function createEventFrom(ctx: MethodContext, input: EventInput, files: UploadedFile[] = []): Promise<StoredEvent> {
  const streamIds = resolveStreamIds(input, true)!;
  if (input.id !== undefined && !isValidEventId(input.id)) {
    throw errors.invalidParametersFormat("The parameters' format is invalid.", [
      { code: 'PATTERN', message: 'Event ids must be cuids.', path: '#/id', params: [input.id] },
    ]);
  }
  const data = await loadUserData(ctx);
  checkStreams(data.tree, streamIds);
  await validateContent(input.type, input.content);
  if (!data.permissions.canCreateEvent(streamIds)) {
    throw errors.forbidden('You do not have the permission to create events in all of these streams.');
  }
  const by = author(ctx);
  const event: StoredEvent & { tags?: string[] } = {
    id: input.id ?? newId(),
    streamIds,
    time: input.time ?? ctx.now,
    type: input.type,
    created: ctx.now,
    createdBy: by,
    modified: ctx.now,
    modifiedBy: by,
  };
  if (input.duration !== undefined && input.duration !== 0) event.duration = input.duration;
  if (input.type.startsWith(SERIES_PREFIX)) event.duration = 0;
  if (input.content !== undefined) event.content = input.content;
  if (input.description !== undefined && input.description !== null) event.description = input.description;
  if (input.clientData) event.clientData = input.clientData;
  if (input.trashed) event.trashed = true;
  const tags = cleanTags(input.tags);
  if (tags && tags.length > 0) event.tags = tags;

  if (typeof event.duration === 'number' && event.duration > data.meta.maxDuration) {
    await raiseMaxDuration(ctx.username!, event.duration);
  }
  const placement = placementFor(data.tree, streamIds);
  // Files first, event second: a failed write removes the files, so nothing is left half-done.
  const uploaded = files.length > 0 ? await storeUploadedFiles(ctx, event.id, files) : undefined;
  if (uploaded) event.attachments = uploaded.attachments;
  let outcome;
  try {
    outcome = await createEvent(ctx.username!, event, placement);
  } catch (err) {
    await uploaded?.cleanUp();
    throw err;
  }
  if (outcome !== 'ok') await uploaded?.cleanUp();
  if (outcome === 'exists') throw errors.itemAlreadyExists('event', { id: event.id });
  if (outcome === 'streams-gone') throw errors.unknownReferencedResource('stream(s)', { streamIds });
  if (uploaded) await adjustAttachedFiles(ctx.username!, totalSize(uploaded.attachments));
  return event;
}

export async function loadEvent(ctx: MethodContext, id: string): Promise<EventHead> {
  const { head, deletion } = await getEventHead(ctx.username!, id);
  if (!head || deletion) throw errors.unknownResource('event', id);
  return head;
}

export type EventChanges = Partial<EventInput> & Record<string, unknown>;

/**
 * Applies changes to an event (spec §2.2.4): read, check, write conditionally on the
 * version read; if another writer got there first, start over from its version.
 */
export async function updateEventWith(
  ctx: MethodContext,
  id: string,
  changes: EventChanges,
  options: { data?: UserData; skipPermission?: boolean; allowTrashedStreams?: boolean } = {},
): Promise<StoredEvent> {
  for (let attempt = 0; ; attempt++) {
    const head = await loadEvent(ctx, id);
    const current = eventFromHead(head);
    const data = attempt === 0 && options.data ? options.data : await loadUserData(ctx);
    const streamIds = resolveStreamIds(changes, false) ?? current.streamIds;
    const added = streamIds.filter((s) => !current.streamIds.includes(s));
    if (!options.skipPermission && !data.permissions.canUpdateEvent(current.streamIds, streamIds)) {
      throw errors.forbidden('You do not have the permission to change this event in these streams.');
    }
    const missing = streamIds.filter((s) => !data.tree.has(s));
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
    if (changes.type !== undefined || 'content' in changes) {
      if (!next.type.startsWith(SERIES_PREFIX) || 'content' in changes) await validateContent(next.type, next.content);
    }
    next.modified = ctx.now > current.modified ? ctx.now : current.modified + 0.001;
    next.modifiedBy = author(ctx);
    if (typeof next.duration === 'number' && next.duration > data.meta.maxDuration) {
      await raiseMaxDuration(ctx.username!, next.duration);
    }
    const outcome = await updateEvent(ctx.username!, head, next, placementFor(data.tree, streamIds), {
      keepHistory: keepHistory(),
      liveStreams: options.allowTrashedStreams ? [] : added,
    });
    if (outcome === 'ok') return next;
    if (outcome === 'streams-gone') throw errors.unknownReferencedResource('stream(s)', { streamIds: added });
    if (attempt >= MAX_STALE_RETRIES) throw errors.invalidOperation('The event is being changed by another request; retry.');
    await staleBackoff(attempt);
  }
}

/** Deletes an event for good (it is trashed already), retrying if it changed meanwhile. */
export async function deleteEventForGood(ctx: MethodContext, id: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const head = await loadEvent(ctx, id);
    const outcome = await deleteEvent(ctx.username!, head, ctx.now);
    if (outcome === 'ok') {
      if (head.attachments?.length) {
        await deletePrefix(objectKeys.eventFiles(ctx.username!, id));
        await adjustAttachedFiles(ctx.username!, -totalSize(head.attachments));
      }
      return;
    }
    if (attempt >= MAX_STALE_RETRIES) throw errors.invalidOperation('The event is being changed by another request; retry.');
    await staleBackoff(attempt);
  }
}

async function eventIdsInStreams(u: string, streamIds: string[]): Promise<string[]> {
  const ids = new Set<string>();
  for (const s of streamIds) for (const id of await eventIdsInStream(u, s)) ids.add(id);
  return [...ids];
}

/** After a stream moved: rewrite the index items of the events below it (their ancestors changed). */
export async function reindexStreamEvents(u: string, tree: StreamTree, streamIds: string[]): Promise<void> {
  for (const id of await eventIdsInStreams(u, streamIds)) {
    for (let attempt = 0; attempt <= MAX_STALE_RETRIES; attempt++) {
      const { head } = await getEventHead(u, id);
      if (!head) break;
      const event = eventFromHead(head);
      const outcome = await updateEvent(u, head, event, placementFor(tree, event.streamIds), { keepHistory: false, liveStreams: [] });
      if (outcome === 'ok') break;
      await staleBackoff(attempt);
    }
  }
}

export type UpdatedEventAction = 'mergedToParent' | 'deleted' | 'updatedStreamIds';

/**
 * The second step of `streams.delete` (spec §2.3): the streams go first, so no event can
 * be created in them any more, then every event that referenced them is merged into the
 * parent, deleted, or loses the deleted stream ids.
 */
export async function removeStreamsFromEvents(
  ctx: MethodContext,
  doomed: StoredStream[],
  parentId: string | null,
  merge: boolean | undefined,
): Promise<Array<{ id: string; action: UpdatedEventAction }>> {
  const u = ctx.username!;
  const doomedIds = doomed.map((s) => s.id);
  const before = await eventIdsInStreams(u, doomedIds);
  if (before.length > 0 && merge === undefined) {
    throw errors.invalidParametersFormat('Parameter "mergeEventsWithParent" is required when the streams to delete have events.', [
      { code: 'OBJECT_MISSING_REQUIRED_PROPERTY', message: 'Missing required property: mergeEventsWithParent', path: '#/mergeEventsWithParent', params: ['mergeEventsWithParent'] },
    ]);
  }
  if (merge === true && parentId === null) throw errors.invalidOperation('A root stream has no parent to merge its events into.');

  await deleteStreams(u, doomed, ctx.now);
  const ids = new Set([...before, ...(await eventIdsInStreams(u, doomedIds))]);
  const gone = new Set(doomedIds);
  const data = await loadUserData(ctx);
  const updated: Array<{ id: string; action: UpdatedEventAction }> = [];
  for (const id of ids) {
    const { head } = await getEventHead(u, id);
    if (!head) continue;
    const remaining = head.streamIds.filter((s) => !gone.has(s));
    if (merge) {
      const streamIds = remaining.includes(parentId!) ? remaining : [...remaining, parentId!];
      await updateEventWith(ctx, id, { streamIds }, { data, skipPermission: true, allowTrashedStreams: true });
      updated.push({ id, action: 'mergedToParent' });
    } else if (remaining.length === 0) {
      await deleteEventForGood(ctx, id);
      updated.push({ id, action: 'deleted' });
    } else {
      await updateEventWith(ctx, id, { streamIds: remaining }, { data, skipPermission: true, allowTrashedStreams: true });
      updated.push({ id, action: 'updatedStreamIds' });
    }
  }
  return updated;
}

/**
 * Stores uploaded files in S3 under the event. Checks every size before writing anything;
 * `cleanUp` removes what was written (for the caller's failure path).
 */
export async function storeUploadedFiles(
  ctx: MethodContext,
  eventId: string,
  files: UploadedFile[],
): Promise<{ attachments: Attachment[]; cleanUp: () => Promise<void> }> {
  const max = ctx.config.uploadMaxBytes;
  if (files.some((f) => f.data.length > max)) throw errors.payloadTooLarge(max);
  const attachments: Attachment[] = files.map((f) => ({
    id: newId(),
    fileName: f.fileName,
    type: f.type,
    size: f.data.length,
    integrity: `sha256-${createHash('sha256').update(f.data).digest('base64')}`,
  }));
  const written: string[] = [];
  const cleanUp = async () => {
    await Promise.all(written.map((key) => deleteFile(key).catch(() => undefined)));
  };
  try {
    for (const [i, file] of files.entries()) {
      const key = objectKeys.file(ctx.username!, eventId, attachments[i]!.id);
      written.push(key);
      await putFile(key, file.data, file.type);
    }
  } catch (err) {
    await cleanUp();
    throw err;
  }
  return { attachments, cleanUp };
}

/**
 * Changes an event's attachment list (add or remove), conditionally on the version read
 * like any update; `onFailure` undoes the S3 side when the event cannot be written.
 */
export async function changeAttachments(
  ctx: MethodContext,
  id: string,
  change: (current: Attachment[]) => Attachment[],
  options: { onFailure?: () => Promise<void> } = {},
): Promise<StoredEvent> {
  try {
    for (let attempt = 0; ; attempt++) {
      const head = await loadEvent(ctx, id);
      const current = eventFromHead(head);
      const data = await loadUserData(ctx);
      const next: StoredEvent = { ...current, modified: ctx.now > current.modified ? ctx.now : current.modified + 0.001, modifiedBy: author(ctx) };
      const attachments = change(current.attachments ?? []);
      if (attachments.length > 0) next.attachments = attachments;
      else delete next.attachments;
      const outcome = await updateEvent(ctx.username!, head, next, placementFor(data.tree, next.streamIds), {
        keepHistory: keepHistory(),
        liveStreams: [],
      });
      if (outcome === 'ok') {
        await adjustAttachedFiles(ctx.username!, totalSize(attachments) - totalSize(current.attachments ?? []));
        return next;
      }
      if (attempt >= MAX_STALE_RETRIES) throw errors.invalidOperation('The event is being changed by another request; retry.');
      await staleBackoff(attempt);
    }
  } catch (err) {
    await options.onFailure?.();
    throw err;
  }
}

const totalSize = (attachments: Attachment[]) => attachments.reduce((sum, a) => sum + a.size, 0);
