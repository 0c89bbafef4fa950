import { isDeepStrictEqual } from 'node:util';
import { defineMethod, SERVER_OWNED_FIELDS, type MethodContext } from '../types';
import { errors } from '../../errors';
import type { Access, AccessType, Permission } from '../../model/accesses';
import { accessForApi } from '../../domain/accesses/view';
import { author, loadUserData } from '../../domain/user-data';
import { canDeleteAccess, checkAccessCreation, createdByAccess } from '../../domain/accesses/permissions';
import { hasForbiddenChars, isValidStreamId, slugifyStreamId } from '../../domain/streams/query';
import { newId, newToken, RESERVED_IDS } from '../../ids';
import { createAccessItems, deleteAccesses, findAccessByName, getAccessById, listAccessDeletions, listAccesses } from '../../store/accesses';
import { transactWrite } from '../../store/transact';
import { createStream, updateStream } from '../../store/streams';

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

const isExpired = (a: Access, now: number) => a.expires !== undefined && a.expires !== null && a.expires <= now;

function view(ctx: MethodContext, access: Access): Record<string, unknown> {
  return accessForApi(access, ctx.config.publicUrl, ctx.username!);
}

export const accessesGet = defineMethod<{ includeExpired?: boolean; includeDeletions?: boolean }>({
  id: 'accesses.get',
  routes: [{ verb: 'GET', path: '/{username}/accesses' }],
  auth: 'token',
  accessTypes: ['personal', 'app'],
  params: { type: 'object', properties: { includeExpired: { type: 'boolean' }, includeDeletions: { type: 'boolean' } } },
  run: async (ctx, params) => {
    const caller = ctx.access!;
    const mine = (a: Access) => caller.type === 'personal' || createdByAccess(a) === caller.id;
    const accesses = (await listAccesses(ctx.username!))
      .filter(mine)
      .filter((a) => params.includeExpired || !isExpired(a, ctx.now))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const result: Record<string, unknown> = { accesses: accesses.map((a) => view(ctx, a)) };
    if (params.includeDeletions) {
      const deletions = (await listAccessDeletions(ctx.username!)).filter(mine);
      result.accessDeletions = deletions.map((a) => view(ctx, a));
    }
    return result;
  },
});

interface AccessCreateParams {
  name: string;
  type?: AccessType;
  permissions?: Permission[];
  token?: string;
  deviceName?: string | null;
  expireAfter?: number;
  clientData?: Record<string, unknown> | null;
}

/** Streams named in a personal caller's permissions with `defaultName` are created if missing (spec §2.4). */
async function createRequestedStreams(ctx: MethodContext, permissions: Permission[]): Promise<void> {
  const { tree } = await loadUserData(ctx);
  const by = author(ctx);
  for (const p of permissions) {
    if (!p.streamId || p.streamId === '*' || p.defaultName === undefined) continue;
    const existing = tree.get(p.streamId);
    if (existing) {
      if (existing.trashed) {
        const { trashed: _t, ...restored } = existing;
        await updateStream(ctx.username!, existing, { ...restored, modified: ctx.now, modifiedBy: by });
      }
      continue;
    }
    if (!/^[a-z0-9-]{1,100}$/.test(p.streamId)) {
      throw errors.invalidRequestStructure(`Cannot create stream "${p.streamId}": ids of created streams are made of a-z, 0-9 and "-".`);
    }
    const outcome = await createStream(ctx.username!, {
      id: p.streamId,
      name: p.defaultName,
      parentId: null,
      created: ctx.now,
      createdBy: by,
      modified: ctx.now,
      modifiedBy: by,
    });
    if (outcome === 'name-taken') throw errors.itemAlreadyExists('stream', { name: p.defaultName });
  }
}

export const accessesCreate = defineMethod<AccessCreateParams>({
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
      token: { type: 'string', minLength: 1 },
      deviceName: { type: ['string', 'null'] },
      expireAfter: { type: 'number' },
      clientData: { type: ['object', 'null'] },
      ...SERVER_OWNED_FIELDS,
    },
    required: ['name'],
    additionalProperties: false,
  },
  run: async (ctx, params) => {
    const type = params.type ?? 'shared';
    const permissions = (params.permissions ?? []).map(({ name: _n, ...p }) => p);
    if (type === 'personal') throw errors.forbidden('Personal accesses are created automatically on login.');
    if (params.permissions === undefined) {
      throw errors.invalidParametersFormat("The parameters' format is invalid.", [
        { code: 'OBJECT_MISSING_REQUIRED_PROPERTY', message: 'Missing required property: permissions', path: '#/permissions', params: ['permissions'] },
      ]);
    }
    const badId = permissions.find((p) => typeof p.streamId === 'string' && hasForbiddenChars(p.streamId));
    if (badId) {
      throw errors.invalidRequestStructure(
        `The permission stream id ${JSON.stringify(badId.streamId)} contains a forbidden character (one of " ' \\ NUL \\b \\t \\n \\r \\x1a).`,
        params.permissions,
      );
    }
    if (type === 'shared' && params.deviceName) {
      throw errors.invalidParametersFormat('Shared accesses cannot have a device name.', [
        { code: 'INVALID_TYPE', message: 'deviceName is for app accesses only', path: '#/deviceName', params: [] },
      ]);
    }
    if (params.expireAfter !== undefined && params.expireAfter < 0) {
      throw errors.invalidParametersFormat('expireAfter must be 0 or more seconds.', [
        { code: 'MINIMUM', message: 'expireAfter must be >= 0', path: '#/expireAfter', params: [0] },
      ]);
    }
    let token = newToken();
    if (params.token !== undefined) {
      token = slugifyStreamId(params.token);
      if (RESERVED_IDS.has(params.token) || token === '' || !isValidStreamId(token)) {
        throw errors.invalidItemId(`The token "${params.token}" is not allowed.`);
      }
    }
    const data = await loadUserData(ctx);
    checkAccessCreation(data.permissions, { type, permissions });
    if (ctx.access!.type === 'personal') await createRequestedStreams(ctx, permissions);

    const by = author(ctx);
    const access: Access = {
      id: newId(),
      token,
      type,
      name: params.name,
      // `defaultName` only serves the stream creation above: stripped like `name` (spec §3.3).
      permissions: permissions.map(({ defaultName: _d, ...p }) => p),
      calls: {},
      created: ctx.now,
      createdBy: by,
      modified: ctx.now,
      modifiedBy: by,
    };
    if (type === 'app' && params.deviceName) access.deviceName = params.deviceName;
    if (params.expireAfter !== undefined) access.expires = ctx.now + params.expireAfter;
    if (params.clientData) access.clientData = params.clientData;
    const failed = await transactWrite(createAccessItems(ctx.username!, access));
    if (failed.includes(0)) throw errors.itemAlreadyExists('access', { token: '(hidden)' });
    if (failed.length > 0) {
      throw errors.itemAlreadyExists('access', { type, name: params.name, deviceName: access.deviceName ?? null });
    }
    return { access: view(ctx, access) };
  },
});

/** v1: accesses cannot be updated (spec §2.4). */
export const accessesUpdate = defineMethod({
  id: 'accesses.update',
  routes: [{ verb: 'PUT', path: '/{username}/accesses/{id}' }],
  auth: 'token',
  accessTypes: ['personal', 'app', 'shared'],
  params: { type: 'object' },
  run: async () => {
    throw errors.removedMethod('accesses.update');
  },
});

export const accessesDelete = defineMethod<{ id: string }>({
  id: 'accesses.delete',
  routes: [{ verb: 'DELETE', path: '/{username}/accesses/{id}' }],
  auth: 'token',
  accessTypes: ['personal', 'app', 'shared'],
  params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'], additionalProperties: false },
  run: async (ctx, params) => {
    const target = await getAccessById(ctx.username!, params.id);
    if (!target) throw errors.unknownResource('access', params.id);
    if (!canDeleteAccess(ctx.access!, target)) throw errors.forbidden('You cannot delete this access.');
    // Accesses the deleted one created (and that still live) go with it; not for personal ones (v2 fix).
    const related =
      target.type === 'personal'
        ? []
        : (await listAccesses(ctx.username!)).filter((a) => createdByAccess(a) === target.id && !isExpired(a, ctx.now));
    await deleteAccesses(ctx.username!, [target, ...related], ctx.now);
    const result: Record<string, unknown> = { accessDeletion: { id: target.id } };
    if (related.length > 0) result.relatedDeletions = related.map((a) => ({ id: a.id }));
    return result;
  },
});

interface CheckAppParams {
  requestingAppId: string;
  requestedPermissions: Permission[];
  deviceName?: string;
  clientData?: Record<string, unknown>;
}

const samePermissions = (a: Permission[], b: Permission[]) => {
  const key = (p: Permission) => JSON.stringify([p.streamId ?? null, p.level ?? null, p.feature ?? null, p.setting ?? null]);
  const left = a.map(key).sort();
  const right = b.map(key).sort();
  return left.length === right.length && left.every((k, i) => k === right[i]);
};

export const accessesCheckApp = defineMethod<CheckAppParams>({
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
  run: async (ctx, params) => {
    const missingName = params.requestedPermissions.filter((p) => p.streamId && p.streamId !== '*' && !p.defaultName);
    if (missingName.length > 0) {
      throw errors.invalidParametersFormat('Every requested stream permission needs a "defaultName".', [
        { code: 'OBJECT_MISSING_REQUIRED_PROPERTY', message: 'Missing required property: defaultName', path: '#/requestedPermissions', params: ['defaultName'] },
      ]);
    }
    const existing = await findAccessByName(ctx.username!, 'app', params.requestingAppId, params.deviceName ?? null);
    if (
      existing &&
      !isExpired(existing, ctx.now) &&
      samePermissions(existing.permissions, params.requestedPermissions) &&
      isDeepStrictEqual(existing.clientData ?? undefined, params.clientData ?? undefined)
    ) {
      return { matchingAccess: view(ctx, existing) };
    }
    const { tree } = await loadUserData(ctx);
    const rootNames = new Set(tree.roots().map((s) => s.name));
    let clash = false;
    const checkedPermissions = params.requestedPermissions.map((p) => {
      const { defaultName, name: _n, ...rest } = p;
      if (!p.streamId || p.streamId === '*') return { ...rest, ...(defaultName ? { defaultName } : {}) };
      const stream = tree.get(p.streamId);
      if (stream) return { ...rest, name: stream.name };
      let candidate = defaultName!;
      for (let n = 1; rootNames.has(candidate); n++) {
        candidate = `${defaultName} (${n})`;
        clash = true;
      }
      return { ...rest, defaultName: candidate };
    });
    const result: Record<string, unknown> = { checkedPermissions };
    if (existing) result.mismatchingAccess = view(ctx, existing);
    if (clash) result.error = { id: 'item-already-exists', message: 'A root stream already has one of the requested default names.' };
    return result;
  },
});

