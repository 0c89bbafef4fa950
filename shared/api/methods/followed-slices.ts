import { acceptedFields, defineMethod } from '../types';
import { errors, rejectProtectedFields } from '../../errors';
import { newId } from '../../ids';
import { byName } from '../../domain/followed-slices';
import {
  createFollowedSlice,
  deleteFollowedSlice,
  getFollowedSlice,
  listFollowedSlices,
  renameFollowedSlice,
} from '../../store/followed-slices';
import type { FollowedSlice } from '../../model/followed-slices';

/** Followed slices (spec §2.6, §3.5): personal accesses only. */

const NAME = { type: 'string', minLength: 1, maxLength: 500 } as const;

async function existing(username: string, id: string): Promise<FollowedSlice> {
  const slice = await getFollowedSlice(username, id);
  if (!slice) throw errors.unknownResource('followed slice', id);
  return slice;
}

export const followedSlicesGet = defineMethod({
  id: 'followedSlices.get',
  routes: [{ verb: 'GET', path: '/{username}/followed-slices' }],
  auth: 'token',
  accessTypes: ['personal'],
  params: { type: 'object' },
  run: async (ctx) => ({ followedSlices: (await listFollowedSlices(ctx.username!)).sort(byName) }),
});

export const followedSlicesCreate = defineMethod<{ name: string; url: string; accessToken: string }>({
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
  run: async (ctx, params) => {
    const slice: FollowedSlice = { id: newId(), name: params.name, url: params.url, accessToken: params.accessToken };
    const outcome = await createFollowedSlice(ctx.username!, slice);
    if (outcome === 'name') throw errors.itemAlreadyExists('followed slice', { name: slice.name });
    if (outcome === 'target') throw errors.itemAlreadyExists('followed slice', { url: slice.url, accessToken: slice.accessToken });
    return { followedSlice: slice };
  },
});

export const followedSlicesUpdate = defineMethod<{ id: string; update: { name?: string } }>({
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
  run: async (ctx, params) => {
    const slice = await existing(ctx.username!, params.id);
    rejectProtectedFields(params.update, ['id', 'url', 'accessToken']);
    const name = params.update.name;
    if (name !== undefined) {
      const outcome = await renameFollowedSlice(ctx.username!, slice, name);
      if (outcome === 'name') throw errors.itemAlreadyExists('followed slice', { name });
      if (outcome === 'gone') throw errors.unknownResource('followed slice', params.id);
    }
    return { followedSlice: { ...slice, name: name ?? slice.name } };
  },
});

export const followedSlicesDelete = defineMethod<{ id: string }>({
  id: 'followedSlices.delete',
  routes: [{ verb: 'DELETE', path: '/{username}/followed-slices/{id}' }],
  auth: 'token',
  accessTypes: ['personal'],
  params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'], additionalProperties: false },
  run: async (ctx, params) => {
    const slice = await existing(ctx.username!, params.id);
    if (!(await deleteFollowedSlice(ctx.username!, slice))) throw errors.unknownResource('followed slice', params.id);
    return { followedSliceDeletion: { id: slice.id } };
  },
});
