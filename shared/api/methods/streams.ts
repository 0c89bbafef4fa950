import {
  createStreamFrom,
  getStreams,
  type StreamChanges,
  type StreamInput,
  trashOrDeleteStream,
  updateStreamWith,
} from '../../domain/streams/manage';
import { streamForApi } from '../../domain/streams/tree';
import { rejectProtectedFields } from '../../errors';
import { callerOf } from '../caller';
import { ALL_ACCESS_TYPES, acceptedFields, defineMethod, SERVER_OWNED_FIELDS } from '../types';

/** Streams (spec §2.3): parameter schemas here, the rules in shared/domain/streams/. */

export const streamsGet = /* @__PURE__ */ defineMethod<{ parentId?: string; state?: 'default' | 'all'; includeDeletionsSince?: number }>({
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
  run: async (ctx, params) => ({ ...(await getStreams(callerOf(ctx), params)) }),
});

interface StreamCreateParams extends StreamInput {
  children?: unknown;
}

const streamFields = {
  name: { type: 'string', minLength: 1 },
  parentId: { type: ['string', 'null'] },
  clientData: { type: ['object', 'null'] },
  trashed: { type: 'boolean' },
};

export const streamsCreate = /* @__PURE__ */ defineMethod<StreamCreateParams>({
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
  run: async (ctx, params) => ({ stream: streamForApi(await createStreamFrom(callerOf(ctx), params)) }),
});

const PROTECTED_STREAM_FIELDS = ['id', 'children', 'created', 'createdBy', 'modified', 'modifiedBy', 'childrenHidden'];

interface StreamUpdateParams {
  id: string;
  update: StreamChanges & Record<string, unknown>;
}

export const streamsUpdate = /* @__PURE__ */ defineMethod<StreamUpdateParams>({
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
    return { stream: streamForApi(await updateStreamWith(callerOf(ctx), params.id, params.update)) };
  },
});

export const streamsDelete = /* @__PURE__ */ defineMethod<{ id: string; mergeEventsWithParent?: boolean }>({
  id: 'streams.delete',
  bucket: ['files'],
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
    const outcome = await trashOrDeleteStream(callerOf(ctx), params.id, params.mergeEventsWithParent);
    if ('trashed' in outcome) return { stream: streamForApi(outcome.trashed) };
    return { updatedEvents: outcome.updatedEvents, streamDeletion: { id: params.id } };
  },
});
