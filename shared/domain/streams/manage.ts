import { errors } from '../../errors';
import { newId, RESERVED_IDS } from '../../ids';
import { LIMITS } from '../../limits';
import type { StoredStream, StreamsState } from '../../model/streams';
import { createStream, listStreamDeletions, updateStream } from '../../store/streams';
import { isSystemStreamId } from '../accesses/permissions';
import type { Caller } from '../caller';
import { nextModified, retryOnStale, STALE } from '../concurrency';
import { beforeRewritingEvents } from '../events/answer-cache';
import { mergeClientData } from '../events/fields';
import { reindexStreamEvents, removeStreamsFromEvents, type UpdatedEventAction } from '../events/stream-changes';
import { systemStreamsForApi } from '../system-streams/listing';
import { loadUserData, loadUserDataAround, type UserData } from '../user-data';
import { isValidStreamId, slugifyStreamId } from './query';
import type { ApiStream } from './tree';

/** Siblings order of `streams.get` (by name, then id), for the user's and the system streams together. */
const byName = (a: ApiStream, b: ApiStream) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Streams (spec §2.3): the tree as an access sees it, and its changes. */

/** `streams.get`: the tree (or the subtree under `parentId`) the access may list, and deletions since a time. */
export async function getStreams(
  caller: Caller,
  params: { parentId?: string | null; state?: StreamsState; includeDeletionsSince?: number },
): Promise<{ streams: ApiStream[]; streamDeletions?: Array<{ id: string; deleted: number }> }> {
  const { tree, permissions } = await loadUserData(caller);
  const parentId = params.parentId ?? null;
  if (parentId !== null && !isSystemStreamId(parentId)) {
    if (!tree.has(parentId)) throw errors.unknownReferencedResource('parent stream', { parentId });
    if (!permissions.canList(parentId)) throw errors.forbidden('It is forbidden to access this stream.');
  }
  const system = systemStreamsForApi(permissions, parentId);
  const streams =
    parentId !== null && isSystemStreamId(parentId)
      ? system
      : [...tree.toApiForest({ parentId, state: params.state ?? 'default', isListable: (id) => permissions.canList(id) }), ...system].sort(
          byName,
        );
  if (params.includeDeletionsSince === undefined) return { streams };
  return { streams, streamDeletions: await listStreamDeletions(caller.username, params.includeDeletionsSince) };
}

const SYSTEM_STREAMS_FIXED = 'System streams cannot be created or changed through the streams API.';

/** Account system streams (Pryv API reference §7) are defined by the server: the streams API changes none. */
function refuseSystemStream(id: string): void {
  if (isSystemStreamId(id)) throw errors.invalidOperation(SYSTEM_STREAMS_FIXED, { id });
}

export interface StreamInput {
  id?: string;
  name: string;
  parentId?: string | null;
  clientData?: Record<string, unknown> | null;
  trashed?: boolean;
}

/** `streams.create`: a client-chosen id is slugified (spec §2.3); a unique name among its siblings. */
export async function createStreamFrom(caller: Caller, input: StreamInput): Promise<StoredStream> {
  const id = input.id === undefined ? newId() : slugifyStreamId(input.id);
  if (input.id !== undefined && (RESERVED_IDS.has(input.id) || id === '' || !isValidStreamId(id))) {
    throw errors.invalidItemId(`The stream id "${input.id}" is not allowed.`);
  }
  const parentId = input.parentId ?? null;
  // The given id is checked before slugification too (`:_system:x` would become `_system-x`).
  const systemId = isSystemStreamId(id) || (input.id !== undefined && isSystemStreamId(input.id));
  if (systemId || (parentId !== null && isSystemStreamId(parentId))) throw errors.invalidOperation(SYSTEM_STREAMS_FIXED);
  // Only the parent and its ancestors matter here (existence, trashed, permissions); the
  // transaction checks the id, the sibling name and the parent again at commit.
  const { tree, permissions } = await loadUserDataAround(caller, [parentId]);
  if (parentId !== null) {
    if (!tree.has(parentId)) throw errors.unknownReferencedResource('parent stream', { parentId });
    if (!permissions.canManage(parentId)) throw errors.forbidden('Managing this stream requires a "manage" permission.');
    if (tree.isTrashed(parentId)) throw errors.invalidOperation('The parent stream is trashed.', { trashedReference: 'parentId' });
  } else if (!permissions.canCreateRootStreams()) {
    throw errors.forbidden('Creating root streams requires a "manage" permission on "*".');
  }
  const { now, author } = caller;
  const stream: StoredStream = {
    id,
    name: input.name,
    parentId,
    ...(input.clientData ? { clientData: input.clientData } : {}),
    ...(input.trashed ? { trashed: true } : {}),
    created: now,
    createdBy: author,
    modified: now,
    modifiedBy: author,
  };
  const outcome = await createStream(caller.username, stream);
  if (outcome === 'id-taken') throw errors.itemAlreadyExists('stream', { id });
  if (outcome === 'name-taken') throw errors.itemAlreadyExists('stream', { name: input.name });
  if (outcome === 'parent-gone') throw errors.unknownReferencedResource('parent stream', { parentId });
  return stream;
}

export type StreamChanges = Partial<Pick<StoredStream, 'name' | 'parentId' | 'clientData' | 'trashed'>>;

/**
 * `streams.update`: permission, tree and sibling checks, then a write conditional on the
 * version read. The checks read the stream, the target parent and their ancestors only
 * (`view`: already read by the caller, for the first attempt).
 */
export async function updateStreamWith(caller: Caller, id: string, update: StreamChanges, view?: UserData): Promise<StoredStream> {
  refuseSystemStream(id);
  let given = view;
  const { before, after } = await retryOnStale(
    async () => {
      const { tree, permissions } = given ?? (await loadUserDataAround(caller, [id, update.parentId]));
      given = undefined;
      const before = tree.get(id);
      if (!before) throw errors.unknownResource('stream', id);
      if (!permissions.canManage(id)) throw errors.forbidden('Managing this stream requires a "manage" permission.');
      const parentId = update.parentId === undefined ? before.parentId : update.parentId;
      if (parentId !== before.parentId) {
        if (parentId === id) throw errors.invalidOperation('A stream cannot be its own parent.', { parentId });
        if (parentId !== null) {
          if (isSystemStreamId(parentId)) throw errors.invalidOperation('System streams cannot be parents of user streams.');
          if (!tree.has(parentId)) throw errors.unknownReferencedResource('parent stream', { parentId });
          if (tree.wouldCreateCycle(id, parentId)) {
            throw errors.invalidOperation('A stream cannot be moved into one of its descendants.', { parentId });
          }
          if (!permissions.canManage(parentId)) throw errors.forbidden('Managing the target parent requires a "manage" permission.');
          if (tree.isTrashed(parentId)) throw errors.invalidOperation('The parent stream is trashed.', { trashedReference: 'parentId' });
        } else if (!permissions.canCreateRootStreams()) {
          throw errors.forbidden('Moving a stream to the root requires a "manage" permission on "*".');
        }
      }
      const after: StoredStream = {
        ...before,
        name: update.name ?? before.name,
        parentId,
        modified: nextModified(caller.now, before.modified),
        modifiedBy: caller.author,
      };
      const clientData = mergeClientData(before.clientData, update.clientData);
      if (clientData) after.clientData = clientData;
      else delete after.clientData;
      if (update.trashed !== undefined) {
        if (update.trashed) after.trashed = true;
        else delete after.trashed;
      }
      // On a move, the target's ancestry as read must still hold at commit (no concurrent cycle).
      const moved = parentId !== null && parentId !== before.parentId;
      const newAncestors = moved ? [parentId, ...tree.ancestors(parentId)].map((a) => tree.get(a)!) : [];
      // The re-indexing below rewrites event copies without a new `modified`: cached reads must know first.
      if (parentId !== before.parentId) await beforeRewritingEvents(caller.username, caller.now, LIMITS.apiCallSeconds);
      const outcome = await updateStream(caller.username, before, after, newAncestors);
      if (outcome === 'name-taken') throw errors.itemAlreadyExists('stream', { name: after.name });
      if (outcome === 'parent-gone') throw errors.unknownReferencedResource('parent stream', { parentId });
      return outcome === 'stale' ? STALE : { before, after };
    },
    { what: 'stream' },
  );
  if (after.parentId !== before.parentId) {
    // Events below the moved stream are indexed under its ancestors: re-index them.
    const { tree } = await loadUserData(caller);
    await reindexStreamEvents(caller.username, tree, tree.subtree(id));
  }
  return after;
}

/**
 * `streams.delete` (spec §2.3): trash first; deleting a trashed stream deletes its subtree
 * and merges its events into the parent, cuts the streams from them, or deletes them.
 */
export async function trashOrDeleteStream(
  caller: Caller,
  id: string,
  mergeEventsWithParent: boolean | undefined,
): Promise<{ trashed: StoredStream } | { updatedEvents: Array<{ id: string; action: UpdatedEventAction }> }> {
  refuseSystemStream(id);
  const view = await loadUserDataAround(caller, [id]);
  const stream = view.tree.get(id);
  if (!stream) throw errors.unknownResource('stream', id);
  if (!view.permissions.canManage(id)) throw errors.forbidden('Managing this stream requires a "manage" permission.');
  if (!stream.trashed) return { trashed: await updateStreamWith(caller, id, { trashed: true }, view) };
  // Deleting for good takes the whole subtree: the full tree.
  const { tree } = await loadUserData(caller);
  const doomed = tree.subtree(id).map((s) => tree.get(s)!);
  return { updatedEvents: await removeStreamsFromEvents(caller, doomed, stream.parentId, mergeEventsWithParent) };
}
