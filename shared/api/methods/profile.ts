import { appProfileSet, readProfile, updateProfile } from '../../domain/profile';
import type { AccessType } from '../../model/accesses';
import { callerOf } from '../caller';
import { ALL_ACCESS_TYPES, defineMethod, type MethodContext, type MethodDef } from '../types';

/**
 * Profile sets (spec §2.7). Method ids are the reference docs' ones (spec §2.0 note).
 */
type SetOf = (ctx: MethodContext) => string;

const appSet: SetOf = (ctx) => appProfileSet(callerOf(ctx).access);

const updateSchema = {
  type: 'object',
  properties: { update: { type: 'object' } },
  required: ['update'],
  additionalProperties: false,
};

function getter(id: string, path: string, accessTypes: AccessType[], setOf: SetOf): MethodDef {
  return defineMethod({
    id,
    routes: [{ verb: 'GET', path: `/{username}/profile/${path}` }],
    auth: 'token',
    accessTypes,
    params: { type: 'object' },
    run: async (ctx) => ({ profile: await readProfile(callerOf(ctx).username, setOf(ctx)) }),
  });
}

function updater(id: string, path: string, accessTypes: AccessType[], setOf: SetOf): MethodDef<{ update: Record<string, unknown> }> {
  return defineMethod<{ update: Record<string, unknown> }>({
    id,
    routes: [{ verb: 'PUT', path: `/{username}/profile/${path}` }],
    auth: 'token',
    accessTypes,
    params: updateSchema,
    httpParams: (request) => ({ update: request.body ?? {} }),
    run: async (ctx, params) => ({ profile: await updateProfile(callerOf(ctx).username, setOf(ctx), params.update) }),
  });
}

export const profileGetPublic = /* @__PURE__ */ getter('profile.getPublic', 'public', ALL_ACCESS_TYPES, () => 'public');
export const profileUpdatePublic = /* @__PURE__ */ updater('profile.updatePublic', 'public', ['personal'], () => 'public');
export const profileGetPrivate = /* @__PURE__ */ getter('profile.getPrivate', 'private', ['personal'], () => 'private');
export const profileUpdatePrivate = /* @__PURE__ */ updater('profile.updatePrivate', 'private', ['personal'], () => 'private');
export const profileGetApp = /* @__PURE__ */ getter('profile.getApp', 'app', ALL_ACCESS_TYPES, appSet);
export const profileUpdateApp = /* @__PURE__ */ updater('profile.updateApp', 'app', ALL_ACCESS_TYPES, appSet);
