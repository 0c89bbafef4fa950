import { defineMethod, ALL_ACCESS_TYPES, type MethodContext, type MethodDef } from '../types';
import { errors } from '../../errors';
import { readProfile, updateProfile, PROFILE_MAX_BYTES } from '../../domain/profile';
import type { AccessType } from '../../model/accesses';

/**
 * Profile sets (spec §2.7): key-value stores. `public` (read by any access, written by
 * personal), `private` (personal only), `app` (one per app access, keyed by its name).
 * Method ids are the reference docs' ones (spec §2.0 note).
 */
type SetOf = (ctx: MethodContext) => string;

/** The app set belongs to the calling app access; other access types get 400 (spec §2.7). */
const appSet: SetOf = (ctx) => {
  if (ctx.access!.type !== 'app') throw errors.invalidOperation('This resource is only available to app accesses.');
  return `app#${ctx.access!.name}`;
};

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
    run: async (ctx) => ({ profile: await readProfile(ctx.username!, setOf(ctx)) }),
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
    run: async (ctx, params) => {
      const profile = await updateProfile(ctx.username!, setOf(ctx), params.update);
      if (profile === 'too-large') {
        throw errors.invalidParametersFormat(`The profile set would exceed ${PROFILE_MAX_BYTES} bytes.`, { limit: PROFILE_MAX_BYTES });
      }
      return { profile };
    },
  });
}

export const profileGetPublic = getter('profile.getPublic', 'public', ALL_ACCESS_TYPES, () => 'public');
export const profileUpdatePublic = updater('profile.updatePublic', 'public', ['personal'], () => 'public');
export const profileGetPrivate = getter('profile.getPrivate', 'private', ['personal'], () => 'private');
export const profileUpdatePrivate = updater('profile.updatePrivate', 'private', ['personal'], () => 'private');
export const profileGetApp = getter('profile.getApp', 'app', ALL_ACCESS_TYPES, appSet);
export const profileUpdateApp = updater('profile.updateApp', 'app', ALL_ACCESS_TYPES, appSet);
