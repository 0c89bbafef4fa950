import { createEventFrom } from '../../domain/events/create';
import { trashOrDeleteEvent } from '../../domain/events/delete';
import type { EventInput } from '../../domain/events/fields';
import { type EventsGetParams, getEventsFor, getOneEvent } from '../../domain/events/get';
import { eventForReader } from '../../domain/events/read-view';
import { type EventChanges, updateEventWith } from '../../domain/events/update';
import { errors, rejectProtectedFields } from '../../errors';
import { callerOf } from '../caller';
import { ALL_ACCESS_TYPES, acceptedFields, defineMethod } from '../types';

/** Events (spec §2.2): parameter schemas here, the rules in shared/domain/events/. */

/** Event type syntax (spec §3.1, §8). */
const EVENT_TYPE_PATTERN = '^(series:)?[a-z0-9-]+/[a-z0-9-]+$';
/** `types` filter entries may use `class/*` (spec §2.2.1). */
const EVENT_TYPE_FILTER_PATTERN = '^(series:)?[a-z0-9-]+/(\\*|[a-z0-9-]+)$';

/** Numbers DynamoDB can store (±1e125): times and durations outside are refused with a 400. */
const STORABLE = 9.9e125;

const eventFields = {
  id: { type: 'string' },
  streamId: { type: 'string', minLength: 1 },
  streamIds: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
  time: { type: 'number', minimum: -STORABLE, maximum: STORABLE },
  duration: { type: ['number', 'null'], minimum: 0, maximum: STORABLE },
  type: { type: 'string', pattern: EVENT_TYPE_PATTERN },
  content: {},
  description: { type: ['string', 'null'] },
  clientData: { type: ['object', 'null'] },
  tags: { type: 'array', items: { type: 'string', maxLength: 500 } },
  trashed: { type: 'boolean' },
} as const;

/** Fields the server owns: accepted at creation (and overwritten), refused in updates. */
const SERVER_FIELDS = ['created', 'createdBy', 'modified', 'modifiedBy', 'integrity'] as const;

const eventCreateSchema = {
  type: 'object',
  properties: {
    ...eventFields,
    ...acceptedFields(SERVER_FIELDS),
  },
  required: ['type'],
  additionalProperties: false,
};

/** Known fields that exist on events but may not be updated (spec §2.2.4 → 403). */
const PROTECTED_UPDATE_FIELDS = new Set(['id', 'attachments', 'headId', 'deleted', ...SERVER_FIELDS]);

const eventUpdateSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    update: {
      type: 'object',
      properties: { ...eventFields, ...acceptedFields(PROTECTED_UPDATE_FIELDS) },
      additionalProperties: false,
    },
  },
  required: ['id', 'update'],
  additionalProperties: false,
};

export const eventsGet = /* @__PURE__ */ defineMethod<EventsGetParams>({
  id: 'events.get',
  routes: [{ verb: 'GET', path: '/{username}/events' }],
  auth: 'token',
  capabilities: ['filesSecret'],
  accessTypes: ALL_ACCESS_TYPES,
  params: {
    type: 'object',
    properties: {
      streams: {},
      types: { type: 'array', items: { type: 'string', pattern: EVENT_TYPE_FILTER_PATTERN } },
      fromTime: { type: 'number' },
      toTime: { type: 'number' },
      sortAscending: { type: 'boolean' },
      skip: { type: 'integer', minimum: 0 },
      limit: { type: 'integer', minimum: 0 },
      state: { type: 'string', enum: ['default', 'trashed', 'all'] },
      modifiedSince: { type: 'number' },
      includeDeletions: { type: 'boolean' },
      running: { type: 'boolean' },
      tags: { type: 'array', items: { type: 'string' } },
      // Content queries: a JSON array, stringified over HTTP; checked in domain/events/content-query.ts.
      content: { type: ['string', 'array'] },
      clientData: { type: ['string', 'array'] },
    },
    additionalProperties: false,
  },
  run: async (ctx, params) => getEventsFor(callerOf(ctx), params),
});

export const eventsGetOne = /* @__PURE__ */ defineMethod<{ id: string; includeHistory?: boolean }>({
  id: 'events.getOne',
  routes: [{ verb: 'GET', path: '/{username}/events/{id}' }],
  auth: 'token',
  capabilities: ['filesSecret'],
  accessTypes: ALL_ACCESS_TYPES,
  params: {
    type: 'object',
    properties: { id: { type: 'string' }, includeHistory: { type: 'boolean' } },
    required: ['id'],
    additionalProperties: false,
  },
  run: async (ctx, params) => getOneEvent(callerOf(ctx), params.id, params.includeHistory === true),
});

export const eventsCreate = /* @__PURE__ */ defineMethod<EventInput>({
  id: 'events.create',
  bucket: ['files'],
  routes: [{ verb: 'POST', path: '/{username}/events' }],
  auth: 'token',
  capabilities: ['filesSecret', 'socketManagement'], // its event writes push to sockets
  accessTypes: ALL_ACCESS_TYPES,
  status: 201,
  files: 'optional',
  params: eventCreateSchema,
  httpParams: (request) => {
    // multipart/form-data: the JSON part is the event, the file parts its attachments.
    if (request.files && request.body === undefined) {
      throw errors.invalidRequestStructure('A multipart event needs one non-file part holding the event JSON.');
    }
    return request.body ?? {};
  },
  run: async (ctx, params) => {
    const caller = callerOf(ctx);
    return { event: await eventForReader(caller.access, await createEventFrom(caller, params, ctx.request.files)) };
  },
});

export const eventsUpdate = /* @__PURE__ */ defineMethod<{ id: string; update: EventChanges }>({
  id: 'events.update',
  routes: [{ verb: 'PUT', path: '/{username}/events/{id}' }],
  auth: 'token',
  capabilities: ['filesSecret', 'socketManagement'], // its event writes push to sockets
  accessTypes: ALL_ACCESS_TYPES,
  params: eventUpdateSchema,
  httpParams: (request) => ({ id: request.pathParams.id, update: request.body ?? {} }),
  run: async (ctx, params) => {
    rejectProtectedFields(params.update, PROTECTED_UPDATE_FIELDS);
    const caller = callerOf(ctx);
    return { event: await eventForReader(caller.access, await updateEventWith(caller, params.id, params.update)) };
  },
});

/** Trash first, delete for good the second time (spec §2.2.5). */
export const eventsDelete = /* @__PURE__ */ defineMethod<{ id: string }>({
  id: 'events.delete',
  bucket: ['files'],
  routes: [{ verb: 'DELETE', path: '/{username}/events/{id}' }],
  auth: 'token',
  capabilities: ['filesSecret', 'socketManagement'], // its event writes push to sockets
  accessTypes: ALL_ACCESS_TYPES,
  params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'], additionalProperties: false },
  run: async (ctx, params) => {
    const caller = callerOf(ctx);
    const outcome = await trashOrDeleteEvent(caller, params.id);
    if ('trashed' in outcome) return { event: await eventForReader(caller.access, outcome.trashed) };
    return { eventDeletion: { id: outcome.deleted } };
  },
});
