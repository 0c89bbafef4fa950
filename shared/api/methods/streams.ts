import { acceptedFields, defineMethod, ALL_ACCESS_TYPES, SERVER_OWNED_FIELDS, type MethodContext } from '../types';
import { errors, rejectProtectedFields } from '../../errors';
import { loadUserData, author } from '../../domain/user-data';
import { streamForApi } from '../../domain/streams/tree';
import { isValidStreamId, slugifyStreamId } from '../../domain/streams/query';
import { isSystemStreamId } from '../../domain/accesses/permissions';
import { newId, RESERVED_IDS } from '../../ids';
import type { StoredStream } from '../../model/streams';
import { createStream, listStreamDeletions, updateStream } from '../../store/streams';
import { mergeClientData } from '../../domain/events/fields';
import { MAX_STALE_RETRIES, reindexStreamEvents, removeStreamsFromEvents, staleBackoff } from '../../domain/events/write';

export const streamsGet = defineMethod<{ parentId?: string; state?: 'default' | 'all'; includeDeletionsSince?: number }>({
  id: 'streams.get',
  routes: [{ verb: 'GET', path: '/{username}/streams' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  params: {
    type: 'object',
    properties: {
      parentId: { type: ['string', 'null'] },
      state: { type: 'string', enum: ['default', 'all'] },
      includeDeletionsSince: { type: 'number' },
    },
  },
  run: async (ctx, params) => {
    const { tree, permissions } = await loadUserData(ctx);
    const parentId = params.parentId ?? null;
    if (parentId !== null) {
      if (!tree.has(parentId)) throw errors.unknownReferencedResource('parent stream', { parentId });
      if (!permissions.canList(parentId)) throw errors.forbidden('It is forbidden to access this stream.');
    }
    const streams = tree.toApiForest({ parentId, state: params.state ?? 'default', isListable: (id) => permissions.canList(id) });
    const result: Record<string, unknown> = { streams };
    if (params.includeDeletionsSince !== undefined) {
      result.streamDeletions = await listStreamDeletions(ctx.username!, params.includeDeletionsSince);
    }
    return result;
  },
});

interface StreamCreateParams {
  id?: string;
  name: string;
  parentId?: string | null;
  clientData?: Record<string, unknown> | null;
  trashed?: boolean;
  children?: unknown;
}

const streamFields = {
  name: { type: 'string', minLength: 1 },
  parentId: { type: ['string', 'null'] },
  clientData: { type: ['object', 'null'] },
  trashed: { type: 'boolean' },
};

export const streamsCreate = defineMethod<StreamCreateParams>({
  id: 'streams.create',
  routes: [{ verb: 'POST', path: '/{username}/streams' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  status: 201,
  params: {
    type: 'object',
    properties: {
      id: { type: 'string', minLength: 1 },
      ...streamFields,
      children: {},
      ...SERVER_OWNED_FIELDS,
    },
    required: ['name'],
    additionalProperties: false,
  },
  run: async (ctx, params) => {
    const id = params.id === undefined ? newId() : slugifyStreamId(params.id);
    if (params.id !== undefined && (RESERVED_IDS.has(params.id) || id === '' || !isValidStreamId(id))) {
      throw errors.invalidItemId(`The stream id "${params.id}" is not allowed.`);
    }
    const parentId = params.parentId ?? null;
    // The given id is checked before slugification too (`:_system:x` would become `_system-x`).
    const systemId = isSystemStreamId(id) || (params.id !== undefined && isSystemStreamId(params.id));
    if (systemId || (parentId !== null && isSystemStreamId(parentId))) {
      throw errors.invalidOperation('System streams cannot be created or changed through the streams API.');
    }
    const { tree, permissions } = await loadUserData(ctx);
    if (parentId !== null) {
      if (!tree.has(parentId)) throw errors.unknownReferencedResource('parent stream', { parentId });
      if (!permissions.canManage(parentId)) throw errors.forbidden('Managing this stream requires a "manage" permission.');
      if (tree.isTrashed(parentId)) throw errors.invalidOperation('The parent stream is trashed.', { trashedReference: 'parentId' });
    } else if (!permissions.canCreateRootStreams()) {
      throw errors.forbidden('Creating root streams requires a "manage" permission on "*".');
    }
    const by = author(ctx);
    const stream: StoredStream = {
      id,
      name: params.name,
      parentId,
      ...(params.clientData ? { clientData: params.clientData } : {}),
      ...(params.trashed ? { trashed: true } : {}),
      created: ctx.now,
      createdBy: by,
      modified: ctx.now,
      modifiedBy: by,
    };
    const outcome = await createStream(ctx.username!, stream);
    if (outcome === 'id-taken') throw errors.itemAlreadyExists('stream', { id });
    if (outcome === 'name-taken') throw errors.itemAlreadyExists('stream', { name: params.name });
    if (outcome === 'parent-gone') throw errors.unknownReferencedResource('parent stream', { parentId });
    return { stream: streamForApi(stream) };
  },
});

const PROTECTED_STREAM_FIELDS = ['id', 'children', 'created', 'createdBy', 'modified', 'modifiedBy', 'childrenHidden'];

interface StreamUpdateParams {
  id: string;
  update: Partial<Pick<StoredStream, 'name' | 'parentId' | 'clientData' | 'trashed'>> & Record<string, unknown>;
}

/** Applies a stream update: permission, tree and sibling checks, then a versioned write. */
async function applyStreamUpdate(ctx: MethodContext, id: string, update: StreamUpdateParams['update']): Promise<StoredStream> {
  for (let attempt = 0; ; attempt++) {
    const { tree, permissions } = await loadUserData(ctx);
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
      // Always a new version, even for a retry whose request began before the version it read.
      modified: ctx.now > before.modified ? ctx.now : before.modified + 0.001,
      modifiedBy: author(ctx),
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
    const outcome = await updateStream(ctx.username!, before, after, newAncestors);
    if (outcome === 'name-taken') throw errors.itemAlreadyExists('stream', { name: after.name });
    if (outcome === 'parent-gone') throw errors.unknownReferencedResource('parent stream', { parentId });
    if (outcome === 'stale') {
      if (attempt < MAX_STALE_RETRIES) {
        await staleBackoff(attempt);
        continue;
      }
      throw errors.invalidOperation('The stream is being changed by another request; retry.');
    }
    if (parentId !== before.parentId) {
      // Events below the moved stream are indexed under its ancestors: re-index them.
      const { tree: newTree } = await loadUserData(ctx);
      await reindexStreamEvents(ctx.username!, newTree, newTree.subtree(id));
    }
    return after;
  }
}

export const streamsUpdate = defineMethod<StreamUpdateParams>({
  id: 'streams.update',
  routes: [{ verb: 'PUT', path: '/{username}/streams/{id}' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  params: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      update: {
        type: 'object',
        properties: { ...streamFields, ...acceptedFields(PROTECTED_STREAM_FIELDS) },
        additionalProperties: false,
      },
    },
    required: ['id', 'update'],
  },
  httpParams: (request) => ({ id: request.pathParams.id, update: request.body ?? {} }),
  run: async (ctx, params) => {
    rejectProtectedFields(params.update, PROTECTED_STREAM_FIELDS);
    const stream = await applyStreamUpdate(ctx, params.id, params.update);
    return { stream: streamForApi(stream) };
  },
});

export const streamsDelete = defineMethod<{ id: string; mergeEventsWithParent?: boolean }>({
  id: 'streams.delete',
  routes: [{ verb: 'DELETE', path: '/{username}/streams/{id}' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  params: {
    type: 'object',
    properties: { id: { type: 'string' }, mergeEventsWithParent: { type: 'boolean' } },
    required: ['id'],
    additionalProperties: false,
  },
  run: async (ctx, params) => {
    const { tree, permissions } = await loadUserData(ctx);
    const stream = tree.get(params.id);
    if (!stream) throw errors.unknownResource('stream', params.id);
    if (!permissions.canManage(params.id)) throw errors.forbidden('Managing this stream requires a "manage" permission.');
    if (!stream.trashed) {
      const trashed = await applyStreamUpdate(ctx, params.id, { trashed: true });
      return { stream: streamForApi(trashed) };
    }
    const doomed = tree.subtree(params.id).map((id) => tree.get(id)!);
    const updatedEvents = await removeStreamsFromEvents(ctx, doomed, stream.parentId, params.mergeEventsWithParent);
    return { updatedEvents, streamDeletion: { id: params.id } };
  },
});

