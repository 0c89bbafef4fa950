import {
  type AccessInput,
  type AppRequest,
  checkAppAccess,
  createAccessFrom,
  deleteAccessWith,
  listVisibleAccesses,
} from '../../domain/accesses/manage';
import { type AccessChanges, readAccess, updateAccessFrom } from '../../domain/accesses/update';
import { wireAccessId } from '../../domain/accesses/versions';
import { LIMITS } from '../../limits';
import { callerOf } from '../caller';
import { defineMethod, SERVER_OWNED_FIELDS } from '../types';

/** Accesses (spec §2.4): parameter schemas here, the rules in shared/domain/accesses/. */

const LEVELS = ['read', 'contribute', 'manage', 'create-only', 'none'];

const permissionSchema = {
  type: 'object',
  properties: {
    streamId: { type: 'string', minLength: 1 },
    level: { type: 'string', enum: LEVELS },
    feature: { type: 'string', minLength: 1 },
    setting: { type: 'string', enum: ['forbidden', 'allowed'] },
    defaultName: { type: 'string', minLength: 1 },
    name: { type: 'string' },
    tag: { type: 'string' },
  },
  additionalProperties: false,
  anyOf: [{ required: ['streamId', 'level'] }, { required: ['feature', 'setting'] }, { required: ['tag', 'level'] }],
};

export const accessesGet = /* @__PURE__ */ defineMethod<{ includeExpired?: boolean; includeDeletions?: boolean }>({
  id: 'accesses.get',
  routes: [{ verb: 'GET', path: '/{username}/accesses' }],
  auth: 'token',
  accessTypes: ['personal', 'app'],
  params: { type: 'object', properties: { includeExpired: { type: 'boolean' }, includeDeletions: { type: 'boolean' } } },
  run: async (ctx, params) => ({ ...(await listVisibleAccesses(callerOf(ctx), params)) }),
});

export const accessesCreate = /* @__PURE__ */ defineMethod<AccessInput>({
  id: 'accesses.create',
  routes: [{ verb: 'POST', path: '/{username}/accesses' }],
  auth: 'token',
  accessTypes: ['personal', 'app'],
  status: 201,
  params: {
    type: 'object',
    properties: {
      name: { type: 'string', minLength: 1 },
      type: { type: 'string', enum: ['personal', 'app', 'shared'] },
      permissions: { type: 'array', items: permissionSchema },
      token: { type: 'string', minLength: 1, maxLength: LIMITS.tokenMaxLength }, // a longer one could never be looked up
      deviceName: { type: ['string', 'null'] },
      expireAfter: { type: 'number' },
      clientData: { type: ['object', 'null'] },
      ...SERVER_OWNED_FIELDS,
    },
    required: ['name'],
    additionalProperties: false,
  },
  run: async (ctx, params) => ({ access: await createAccessFrom(callerOf(ctx), params) }),
});

/** [v2] One access, by its id (versioned or not), with its previous versions on demand (spec §2.4). */
export const accessesGetOne = /* @__PURE__ */ defineMethod<{ id: string; includeHistory?: boolean }>({
  id: 'accesses.getOne',
  routes: [{ verb: 'GET', path: '/{username}/accesses/{id}' }],
  auth: 'token',
  accessTypes: ['personal', 'app'],
  params: {
    type: 'object',
    properties: { id: { type: 'string', minLength: 1 }, includeHistory: { type: 'boolean' } },
    required: ['id'],
    additionalProperties: false,
  },
  run: async (ctx, params) => readAccess(callerOf(ctx), params.id, params.includeHistory),
});

/** [v2] Changes an access's alterable fields (spec §2.4); the rules are in shared/domain/accesses/update.ts. */
export const accessesUpdate = /* @__PURE__ */ defineMethod<{ id: string; update: AccessChanges }>({
  id: 'accesses.update',
  routes: [{ verb: 'PUT', path: '/{username}/accesses/{id}' }],
  auth: 'token',
  accessTypes: ['personal', 'app'],
  params: {
    type: 'object',
    properties: {
      id: { type: 'string', minLength: 1 },
      update: {
        type: 'object',
        properties: {
          name: { type: 'string', minLength: 1 },
          deviceName: { type: ['string', 'null'] },
          permissions: { type: 'array', items: permissionSchema },
          expireAfter: { type: 'number' },
          expires: { type: 'null' },
          clientData: { type: ['object', 'null'] },
        },
        additionalProperties: false,
      },
    },
    required: ['id', 'update'],
    additionalProperties: false,
  },
  httpParams: (request) => ({ id: request.pathParams.id, update: request.body ?? {} }),
  run: async (ctx, params) => ({ access: await updateAccessFrom(callerOf(ctx), params.id, params.update) }),
});

export const accessesDelete = /* @__PURE__ */ defineMethod<{ id: string }>({
  id: 'accesses.delete',
  routes: [{ verb: 'DELETE', path: '/{username}/accesses/{id}' }],
  auth: 'token',
  accessTypes: ['personal', 'app', 'shared'],
  params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'], additionalProperties: false },
  run: async (ctx, params) => {
    const { deleted, related } = await deleteAccessWith(callerOf(ctx), params.id);
    const result: Record<string, unknown> = { accessDeletion: { id: wireAccessId(deleted) } };
    if (related.length > 0) result.relatedDeletions = related.map((a) => ({ id: wireAccessId(a) }));
    return result;
  },
});

export const accessesCheckApp = /* @__PURE__ */ defineMethod<AppRequest>({
  id: 'accesses.checkApp',
  routes: [{ verb: 'POST', path: '/{username}/accesses/check-app' }],
  auth: 'token',
  accessTypes: ['personal'],
  params: {
    type: 'object',
    properties: {
      requestingAppId: { type: 'string', minLength: 1 },
      requestedPermissions: { type: 'array', items: permissionSchema },
      deviceName: { type: 'string' },
      clientData: { type: 'object' },
    },
    required: ['requestingAppId', 'requestedPermissions'],
    additionalProperties: false,
  },
  run: async (ctx, params) => checkAppAccess(callerOf(ctx), params),
});
