import { errors } from '../../errors';
import type { Access, Permission } from '../../model/accesses';
import { getAccessById, getAccessVersion, listAccesses, listAccessVersions, updateAccess } from '../../store/accesses';
import type { Caller } from '../caller';
import { mergeClientData } from '../events/fields';
import { commitAccessChange, socketsHinted } from '../sockets';
import { loadUserData } from '../user-data';
import { sealAccess } from './integrity';
import { isExpired } from './liveness';
import { checkDeviceName, checkExpireAfter, checkPermissionStreamIds, grantedPermissions, withoutEchoedNames } from './manage';
import { AccessPermissions, canReadAccess, checkAccessUpdate, checkExpiryWithinParent, createdByAccess, delegates } from './permissions';
import { parseAccessRef, wireAccessId } from './versions';
import { accessForApi } from './view';

/**
 * [v2] One access and its versions (`accesses.getOne`), and access updates (`accesses.update`),
 * spec §2.4. An update keeps the version it replaces; the access's id gains `:{serial}`.
 */

const view = (caller: Caller, access: Access) => accessForApi(access, caller.config.publicUrl, caller.username);

/**
 * `accesses.getOne`: the access the id names. A bare id or the current `{id}:{serial}` gives
 * the access as it is; an older serial gives that version, with `current` the id of the
 * current one (the version as created is in the history only: its id is the bare one).
 * `includeHistory` adds every previous version, oldest first.
 */
export async function readAccess(caller: Caller, id: string, includeHistory = false): Promise<Record<string, unknown>> {
  const ref = parseAccessRef(id);
  const current = await getAccessById(caller.username, ref.base);
  if (!current) throw errors.unknownResource('access', id);
  if (!canReadAccess(caller.access, current)) throw errors.forbidden('Your access token has insufficient permissions to read this access.');
  const result: Record<string, unknown> = {};
  if (ref.serial === undefined || ref.serial === current.serial) {
    result.access = view(caller, current);
  } else {
    const version = ref.serial < (current.serial ?? 0) ? await getAccessVersion(caller.username, current.id, ref.serial) : undefined;
    if (!version) throw errors.unknownResource('access', id);
    result.access = view(caller, version);
    result.current = wireAccessId(current);
  }
  if (includeHistory) result.history = (await listAccessVersions(caller.username, current.id)).map((v) => view(caller, v));
  return result;
}

/** What `accesses.update` may change (spec §2.4 [v2]); the API's schema refuses anything else. */
export interface AccessChanges {
  name?: string;
  deviceName?: string | null;
  permissions?: Permission[];
  expireAfter?: number;
  /** Only `null`: the access stops expiring. */
  expires?: null;
  clientData?: Record<string, unknown> | null;
}

/** The app access managing a shared one (its creator, when that is an app access), if any. */
async function managingApp(caller: Caller, target: Access): Promise<Access | undefined> {
  const creatorId = createdByAccess(target);
  const creator = creatorId === caller.access.id ? caller.access : await getAccessById(caller.username, creatorId);
  return creator?.type === 'app' ? creator : undefined;
}

/**
 * `accesses.update`: who may update what (permissions.ts checkAccessUpdate), the version the
 * client read (`409 stale-resource` otherwise), the same grant rules as accesses.create, and
 * the chain rules between an app access and the shared accesses it manages — a shared access
 * stays within its app's permissions and expiry, and an app access cannot be narrowed below
 * what one of its live shared accesses holds (`400 invalid-operation`, `offendingChildren`).
 */
export async function updateAccessFrom(caller: Caller, id: string, changes: AccessChanges): Promise<Record<string, unknown>> {
  const hinted = socketsHinted(caller); // before the tree's read takes the data meta
  const ref = parseAccessRef(id);
  const target = await getAccessById(caller.username, ref.base);
  if (!target) throw errors.unknownResource('access', id);
  checkAccessUpdate(caller.access, target);
  if (ref.serial !== target.serial) throw errors.staleResource('access', id, target.serial ?? null);
  if (changes.expireAfter !== undefined && changes.expires !== undefined) {
    throw errors.invalidParametersFormat('Give either expireAfter or expires: null, not both.', [
      { code: 'NOT', message: 'expireAfter and expires cannot be combined', path: '#/expires', params: [] },
    ]);
  }
  checkDeviceName(target.type, changes.deviceName);
  checkExpireAfter(changes.expireAfter);

  const { now, author } = caller;
  const next: Access = { ...target, modified: now, modifiedBy: author, serial: (target.serial ?? 0) + 1 };
  if (changes.name !== undefined) next.name = changes.name;
  if (changes.deviceName !== undefined) next.deviceName = changes.deviceName ?? undefined;
  if (changes.clientData !== undefined) next.clientData = mergeClientData(target.clientData, changes.clientData) ?? undefined;
  const expiresChanged = changes.expireAfter !== undefined || changes.expires !== undefined;
  if (changes.expireAfter !== undefined) next.expires = now + changes.expireAfter;
  else if (changes.expires === null) next.expires = undefined;

  const permissionsChanged = changes.permissions !== undefined;
  if (permissionsChanged || expiresChanged) {
    if (permissionsChanged) checkPermissionStreamIds(changes.permissions!);
    const data = await loadUserData(caller);
    const asked = permissionsChanged ? withoutEchoedNames(changes.permissions!) : target.permissions;
    if (target.type === 'shared') {
      const parent = await managingApp(caller, target);
      if (parent && permissionsChanged && !delegates(new AccessPermissions(parent, data.tree), asked)) {
        throw errors.invalidOperation('The permissions exceed those of the app access managing this access.', {
          managingAccessId: wireAccessId(parent),
        });
      }
      if (parent && expiresChanged) checkExpiryWithinParent(parent.expires, next.expires ?? null);
    } else if (target.type === 'app') {
      const narrowed = new AccessPermissions({ ...target, permissions: asked }, data.tree);
      const offendingChildren = (await listAccesses(caller.username))
        .filter((a) => a.type === 'shared' && createdByAccess(a) === target.id && !isExpired(a, now))
        .filter(
          (child) =>
            (permissionsChanged && !delegates(narrowed, child.permissions)) ||
            // Only a new expiry is judged; a child that never expires is not (as Pryv v2 does).
            (expiresChanged && next.expires !== undefined && child.expires !== undefined && child.expires > next.expires),
        )
        .map(wireAccessId);
      if (offendingChildren.length > 0) {
        throw errors.invalidOperation('The change would leave shared accesses managed by this app access outside its rights.', {
          offendingChildren,
        });
      }
    }
    if (permissionsChanged) next.permissions = await grantedPermissions(caller, data, target.type, changes.permissions!);
  }

  const sealed = sealAccess(next);
  let outcome = 'updated' as Awaited<ReturnType<typeof updateAccess>>;
  if (permissionsChanged || expiresChanged) {
    // What its sockets may hear of may narrow: none is pushed to on the old permissions once this commits.
    await commitAccessChange(caller, hinted, { tokens: [target.token], serial: sealed.serial }, async (guard) => {
      outcome = await updateAccess(caller.username, target, sealed, guard);
      return outcome !== 'guard-failed';
    });
  } else outcome = await updateAccess(caller.username, target, sealed);
  if (outcome === 'name-taken') {
    throw errors.itemAlreadyExists('access', { type: next.type, name: next.name, deviceName: next.deviceName ?? null });
  }
  if (outcome === 'stale') {
    // Another update (or a deletion) got there first: say which version is current now.
    const latest = await getAccessById(caller.username, target.id);
    if (!latest) throw errors.unknownResource('access', id);
    throw errors.staleResource('access', id, latest.serial ?? null);
  }
  return view(caller, sealed);
}
