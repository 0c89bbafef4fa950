import { followedSlicesOf, followSlice, unfollowSlice, updateSlice } from '../../domain/followed-slices';
import { callerOf } from '../caller';
import { acceptedFields, defineMethod } from '../types';

/** Followed slices (spec §2.6, §3.5): personal accesses only. */

const NAME = { type: 'string', minLength: 1, maxLength: 500 } as const;

export const followedSlicesGet = /* @__PURE__ */ defineMethod({
  id: 'followedSlices.get',
  routes: [{ verb: 'GET', path: '/{username}/followed-slices' }],
  auth: 'token',
  accessTypes: ['personal'],
  params: { type: 'object' },
  run: async (ctx) => ({ followedSlices: await followedSlicesOf(callerOf(ctx).username) }),
});

export const followedSlicesCreate = /* @__PURE__ */ defineMethod<{ name: string; url: string; accessToken: string }>({
  id: 'followedSlices.create',
  routes: [{ verb: 'POST', path: '/{username}/followed-slices' }],
  auth: 'token',
  accessTypes: ['personal'],
  status: 201,
  params: {
    type: 'object',
    properties: {
      id: { type: 'string' }, // server-assigned: a given id is ignored, as Pryv does
      name: NAME,
      url: { type: 'string', minLength: 1, maxLength: 2048 },
      accessToken: { type: 'string', minLength: 1, maxLength: 500 },
    },
    required: ['name', 'url', 'accessToken'],
    additionalProperties: false,
  },
  run: async (ctx, params) => ({ followedSlice: await followSlice(callerOf(ctx).username, params) }),
});

export const followedSlicesUpdate = /* @__PURE__ */ defineMethod<{ id: string; update: { name?: string } }>({
  id: 'followedSlices.update',
  routes: [{ verb: 'PUT', path: '/{username}/followed-slices/{id}' }],
  auth: 'token',
  accessTypes: ['personal'],
  params: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      // Only `name` is alterable (spec §2.6); url and accessToken are known but refused (403).
      update: { type: 'object', properties: { name: NAME, ...acceptedFields(['id', 'url', 'accessToken']) }, additionalProperties: false },
    },
    required: ['id', 'update'],
    additionalProperties: false,
  },
  httpParams: (request) => ({ id: request.pathParams.id, update: request.body ?? {} }),
  run: async (ctx, params) => ({ followedSlice: await updateSlice(callerOf(ctx).username, params.id, params.update) }),
});

export const followedSlicesDelete = /* @__PURE__ */ defineMethod<{ id: string }>({
  id: 'followedSlices.delete',
  routes: [{ verb: 'DELETE', path: '/{username}/followed-slices/{id}' }],
  auth: 'token',
  accessTypes: ['personal'],
  params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'], additionalProperties: false },
  run: async (ctx, params) => {
    const slice = await unfollowSlice(callerOf(ctx).username, params.id);
    return { followedSliceDeletion: { id: slice.id } };
  },
});
