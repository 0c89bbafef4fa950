import { defineMethod, ALL_ACCESS_TYPES } from '../types';
import { errors, rejectProtectedFields } from '../../errors';
import { loadUserData } from '../../domain/user-data';
import {
  EVENT_TYPE_FILTER_PATTERN,
  eventCreateSchema,
  eventUpdateSchema,
  PROTECTED_UPDATE_FIELDS,
  type EventInput,
} from '../../domain/events/fields';
import { getEvents, type EventsGetParams } from '../../domain/events/get';
import { createEventFrom, deleteEventForGood, loadEvent, updateEventWith, type EventChanges } from '../../domain/events/write';
import { eventFromHead } from '../../store/events/items';
import { getEventHead, getHistory } from '../../store/events/read';
import { eventForReader, eventsForReader } from '../../domain/events/read-view';
import { auditEventsGet, auditStreamsOf } from '../../domain/audit/log';

export const eventsGet = defineMethod<EventsGetParams>({
  id: 'events.get',
  routes: [{ verb: 'GET', path: '/{username}/events' }],
  auth: 'token',
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
    },
    additionalProperties: false,
  },
  run: async (ctx, params) => {
    // The audit store (spec §2.10): `:_audit:` streams are answered from the audit log.
    const auditStreams = auditStreamsOf(params.streams);
    if (auditStreams) return { events: await auditEventsGet(ctx.username!, ctx.access!, auditStreams, params, ctx.now) };
    const data = await loadUserData(ctx);
    const result = await getEvents(ctx.username!, params, data, ctx.now);
    const out: Record<string, unknown> = { events: await eventsForReader(ctx, result.events) };
    if (result.eventDeletions) out.eventDeletions = result.eventDeletions;
    return out;
  },
});

export const eventsGetOne = defineMethod<{ id: string; includeHistory?: boolean }>({
  id: 'events.getOne',
  routes: [{ verb: 'GET', path: '/{username}/events/{id}' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  params: {
    type: 'object',
    properties: { id: { type: 'string' }, includeHistory: { type: 'boolean' } },
    required: ['id'],
    additionalProperties: false,
  },
  run: async (ctx, params) => {
    const { head, deletion } = await getEventHead(ctx.username!, params.id);
    if (deletion) return { event: deletion };
    if (!head) throw errors.unknownResource('event', params.id);
    const { permissions } = await loadUserData(ctx);
    if (!permissions.canReadEvent(head.streamIds)) throw errors.forbidden('You cannot read this event with the given access.');
    const result: Record<string, unknown> = { event: await eventForReader(ctx, eventFromHead(head)) };
    if (params.includeHistory) {
      result.history = await eventsForReader(ctx, (await getHistory(ctx.username!, params.id)).map((v) => ({ ...v, id: params.id })));
    }
    return result;
  },
});

export const eventsCreate = defineMethod<EventInput>({
  id: 'events.create',
  routes: [{ verb: 'POST', path: '/{username}/events' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  status: 201,
  params: eventCreateSchema,
  httpParams: (request) => {
    // multipart/form-data: the JSON part is the event, the file parts its attachments.
    if (request.files && request.body === undefined) {
      throw errors.invalidRequestStructure('A multipart event needs one non-file part holding the event JSON.');
    }
    return request.body ?? {};
  },
  run: async (ctx, params) => ({ event: await eventForReader(ctx, await createEventFrom(ctx, params, ctx.request.files)) }),
});

export const eventsUpdate = defineMethod<{ id: string; update: EventChanges }>({
  id: 'events.update',
  routes: [{ verb: 'PUT', path: '/{username}/events/{id}' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  params: eventUpdateSchema,
  httpParams: (request) => ({ id: request.pathParams.id, update: request.body ?? {} }),
  run: async (ctx, params) => {
    rejectProtectedFields(params.update, PROTECTED_UPDATE_FIELDS);
    return { event: await eventForReader(ctx, await updateEventWith(ctx, params.id, params.update)) };
  },
});

/** Trash first, delete for good the second time (spec §2.2.5). */
export const eventsDelete = defineMethod<{ id: string }>({
  id: 'events.delete',
  routes: [{ verb: 'DELETE', path: '/{username}/events/{id}' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'], additionalProperties: false },
  run: async (ctx, params) => {
    const head = await loadEvent(ctx, params.id);
    const data = await loadUserData(ctx);
    if (!data.permissions.canDeleteEvent(head.streamIds)) {
      throw errors.forbidden('You do not have the permission to delete this event.');
    }
    if (!head.trashed) {
      return { event: await eventForReader(ctx, await updateEventWith(ctx, params.id, { trashed: true }, { data })) };
    }
    await deleteEventForGood(ctx, params.id);
    return { eventDeletion: { id: params.id } };
  },
});
