import { isDeepStrictEqual } from 'node:util';
import { errors } from '../../errors';
import { newId, newToken, RESERVED_IDS } from '../../ids';
import type { Access, AccessType, Permission } from '../../model/accesses';
import {
  createAccessItems,
  deleteAccesses,
  findAccessByName,
  getAccessById,
  listAccessDeletions,
  listAccesses,
} from '../../store/accesses';
import { createStream, updateStream } from '../../store/streams';
import { transactWrite } from '../../store/transact';
import type { Caller } from '../caller';
import { commitAccessChange, socketsHinted } from '../sockets';
import { hasForbiddenChars, isValidStreamId, slugifyStreamId } from '../streams/query';
import { checkSystemStreamPermissions } from '../system-streams/access-rules';
import { isSystemStreamId } from '../system-streams/definitions';
import { loadUserData, type UserData } from '../user-data';
import { sealAccess } from './integrity';
import { isExpired } from './liveness';
import { canDeleteAccess, checkAccessCreation, checkExpiryWithinParent, createdByAccess } from './permissions';
import { parseAccessRef } from './versions';
import { accessForApi } from './view';

/** Accesses (spec §2.4): what an access sees of the others, and the ones it creates and deletes. */

const view = (caller: Caller, access: Access) => accessForApi(access, caller.config.publicUrl, caller.username);

/** `accesses.get`: a personal access sees every access, an app the ones it created; by name. */
export async function listVisibleAccesses(
  caller: Caller,
  options: { includeExpired?: boolean; includeDeletions?: boolean },
): Promise<{ accesses: Array<Record<string, unknown>>; accessDeletions?: Array<Record<string, unknown>> }> {
  const mine = (a: Access) => caller.access.type === 'personal' || createdByAccess(a) === caller.access.id;
  const accesses = (await listAccesses(caller.username))
    .filter(mine)
    .filter((a) => options.includeExpired || !isExpired(a, caller.now))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const result: { accesses: Array<Record<string, unknown>>; accessDeletions?: Array<Record<string, unknown>> } = {
    accesses: accesses.map((a) => view(caller, a)),
  };
  if (options.includeDeletions) {
    result.accessDeletions = (await listAccessDeletions(caller.username)).filter(mine).map((a) => view(caller, a));
  }
  return result;
}

export interface AccessInput {
  name: string;
  type?: AccessType;
  permissions?: Permission[];
  token?: string;
  deviceName?: string | null;
  expireAfter?: number;
  clientData?: Record<string, unknown> | null;
}

/** Streams named in a personal caller's permissions with `defaultName` are created if missing (spec §2.4). */
async function createRequestedStreams(caller: Caller, permissions: Permission[]): Promise<void> {
  const { tree } = await loadUserData(caller);
  const { now, author } = caller;
  for (const p of permissions) {
    if (!p.streamId || p.streamId === '*' || p.defaultName === undefined || isSystemStreamId(p.streamId)) continue;
    const existing = tree.get(p.streamId);
    if (existing) {
      if (existing.trashed) {
        const { trashed: _t, ...restored } = existing;
        await updateStream(caller.username, existing, { ...restored, modified: now, modifiedBy: author });
      }
      continue;
    }
    if (!/^[a-z0-9-]{1,100}$/.test(p.streamId)) {
      throw errors.invalidRequestStructure(`Cannot create stream "${p.streamId}": ids of created streams are made of a-z, 0-9 and "-".`);
    }
    const outcome = await createStream(caller.username, {
      id: p.streamId,
      name: p.defaultName,
      parentId: null,
      created: now,
      createdBy: author,
      modified: now,
      modifiedBy: author,
    });
    if (outcome === 'name-taken') throw errors.itemAlreadyExists('stream', { name: p.defaultName });
  }
}

/** `expireAfter` (create, update): seconds from now, never negative (spec §3.3). */
export function checkExpireAfter(expireAfter: number | undefined): void {
  if (expireAfter !== undefined && expireAfter < 0) {
    throw errors.invalidParametersFormat('expireAfter must be 0 or more seconds.', [
      { code: 'MINIMUM', message: 'expireAfter must be >= 0', path: '#/expireAfter', params: [0] },
    ]);
  }
}

/** A shared access has no device name (spec §3.3), at creation as on update. */
export function checkDeviceName(type: AccessType, deviceName: string | null | undefined): void {
  if (type === 'shared' && deviceName) {
    throw errors.invalidParametersFormat('Shared accesses cannot have a device name.', [
      { code: 'INVALID_TYPE', message: 'deviceName is for app accesses only', path: '#/deviceName', params: [] },
    ]);
  }
}

/** Permissions as a client sent them, without the `name` it may echo from checkApp (accepted and stripped, spec §2.4). */
export const withoutEchoedNames = (permissions: Permission[]): Permission[] => permissions.map(({ name: _n, ...p }) => p);

/** Stream ids of permissions are held to what a stream id may hold (`400 invalid-request-structure`). */
export function checkPermissionStreamIds(requested: Permission[]): void {
  const badId = requested.find((p) => typeof p.streamId === 'string' && hasForbiddenChars(p.streamId));
  if (badId) {
    throw errors.invalidRequestStructure(
      `The permission stream id ${JSON.stringify(badId.streamId)} contains a forbidden character (one of " ' \\ NUL \\b \\t \\n \\r \\x1a).`,
      requested,
    );
  }
}

/**
 * The permissions an access of `type` gets from this caller (accesses.create, accesses.update):
 * stream ids checked, the caller's right to grant them (spec §4.4), missing streams created
 * from `defaultName` for a personal caller; `defaultName` then stripped like `name` (§3.3).
 */
export async function grantedPermissions(caller: Caller, data: UserData, type: AccessType, requested: Permission[]): Promise<Permission[]> {
  checkPermissionStreamIds(requested);
  const permissions = withoutEchoedNames(requested);
  checkSystemStreamPermissions(permissions);
  checkAccessCreation(data.permissions, { type, permissions });
  if (caller.access.type === 'personal') await createRequestedStreams(caller, permissions);
  return permissions.map(({ defaultName: _d, ...p }) => p);
}

/** `accesses.create`: who may create what (spec §4.4), unique token and (type, name, deviceName). */
export async function createAccessFrom(caller: Caller, input: AccessInput): Promise<Record<string, unknown>> {
  const type = input.type ?? 'shared';
  if (type === 'personal') throw errors.forbidden('Personal accesses are created automatically on login.');
  if (input.permissions === undefined) {
    throw errors.invalidParametersFormat("The parameters' format is invalid.", [
      {
        code: 'OBJECT_MISSING_REQUIRED_PROPERTY',
        message: 'Missing required property: permissions',
        path: '#/permissions',
        params: ['permissions'],
      },
    ]);
  }
  checkDeviceName(type, input.deviceName);
  checkExpireAfter(input.expireAfter);
  let token = newToken();
  if (input.token !== undefined) {
    token = slugifyStreamId(input.token);
    if (RESERVED_IDS.has(input.token) || token === '' || !isValidStreamId(token)) {
      throw errors.invalidItemId(`The token "${input.token}" is not allowed.`);
    }
  }
  const { now, author } = caller;
  const data = await loadUserData(caller);
  const permissions = await grantedPermissions(caller, data, type, input.permissions);
  // [v2] what an app creates does not outlive it (spec §4.4); a creation without expireAfter asks nothing.
  if (input.expireAfter !== undefined && caller.access.type === 'app') {
    checkExpiryWithinParent(caller.access.expires, now + input.expireAfter);
  }

  let access: Access = {
    id: newId(),
    token,
    type,
    name: input.name,
    permissions,
    calls: {},
    created: now,
    createdBy: author,
    modified: now,
    modifiedBy: author,
  };
  if (type === 'app' && input.deviceName) access.deviceName = input.deviceName;
  if (input.expireAfter !== undefined) access.expires = now + input.expireAfter;
  if (input.clientData) access.clientData = input.clientData;
  access = sealAccess(access);
  const failed = await transactWrite(createAccessItems(caller.username, access));
  if (failed.includes(0)) throw errors.itemAlreadyExists('access', { token: '(hidden)' });
  if (failed.length > 0) {
    throw errors.itemAlreadyExists('access', { type, name: input.name, deviceName: access.deviceName ?? null });
  }
  return view(caller, access);
}

/** `accesses.delete` (spec §4.5): the accesses the deleted one created (still live) go with it, except for personal ones. */
export async function deleteAccessWith(caller: Caller, id: string): Promise<{ deleted: Access; related: Access[] }> {
  const hinted = socketsHinted(caller);
  const ref = parseAccessRef(id);
  const target = await getAccessById(caller.username, ref.base);
  if (!target) throw errors.unknownResource('access', id);
  if (!canDeleteAccess(caller.access, target)) throw errors.forbidden('You cannot delete this access.');
  // [v2] a client deletes the version it read (spec §2.4): an older one means it missed an update.
  if (ref.serial !== target.serial) throw errors.staleResource('access', id, target.serial ?? null);
  const related =
    target.type === 'personal'
      ? []
      : (await listAccesses(caller.username)).filter((a) => createdByAccess(a) === target.id && !isExpired(a, caller.now));
  // Their sockets hear nothing more from writing calls; the fan-out closes them.
  // Each is kept as a deletion record, the whole access with `deleted`, sealed like any version.
  const records = [target, ...related].map((a) => sealAccess({ ...a, deleted: caller.now }));
  let done = 0;
  await commitAccessChange(caller, hinted, { tokens: records.map((a) => a.token) }, async (guard) => {
    done += await deleteAccesses(caller.username, records.slice(done), guard);
    return done === records.length;
  });
  return { deleted: target, related };
}

export interface AppRequest {
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

/**
 * `accesses.checkApp` (spec §2.4): the app's live access if it matches the request exactly;
 * otherwise the permissions as they would be granted (existing streams with their names,
 * new ones with a free default name) and the mismatching access, if any.
 */
export async function checkAppAccess(caller: Caller, request: AppRequest): Promise<Record<string, unknown>> {
  const missingName = request.requestedPermissions.filter((p) => p.streamId && p.streamId !== '*' && !p.defaultName);
  if (missingName.length > 0) {
    throw errors.invalidParametersFormat('Every requested stream permission needs a "defaultName".', [
      {
        code: 'OBJECT_MISSING_REQUIRED_PROPERTY',
        message: 'Missing required property: defaultName',
        path: '#/requestedPermissions',
        params: ['defaultName'],
      },
    ]);
  }
  const existing = await findAccessByName(caller.username, 'app', request.requestingAppId, request.deviceName ?? null);
  if (
    existing &&
    !isExpired(existing, caller.now) &&
    samePermissions(existing.permissions, request.requestedPermissions) &&
    isDeepStrictEqual(existing.clientData ?? undefined, request.clientData ?? undefined)
  ) {
    return { matchingAccess: view(caller, existing) };
  }
  const { tree } = await loadUserData(caller);
  const rootNames = new Set(tree.roots().map((s) => s.name));
  let clash = false;
  const checkedPermissions = request.requestedPermissions.map((p) => {
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
  if (existing) result.mismatchingAccess = view(caller, existing);
  if (clash) result.error = { id: 'item-already-exists', message: 'A root stream already has one of the requested default names.' };
  return result;
}
