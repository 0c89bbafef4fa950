import {
  acceptedRequest,
  acceptingAccessKind,
  alreadyAnswered,
  closedRequest,
  requestView,
  STATUS_CODES,
} from '../../domain/access-requests/flow';
import { checkKey, newAccessRequest, parseAnswer, unknownKey } from '../../domain/access-requests/input';
import { RegisterError } from '../../errors';
import type { AccessRequest } from '../../model/access-requests';
import type { Access, Permission } from '../../model/accesses';
import { answerAccessRequest, createAccessRequest, getAccessRequest } from '../../store/access-requests';
import { findAccessByName, getAccessByToken } from '../../store/accesses';
import { callerOf } from '../caller';
import { flushUsage, runMethod } from '../execute';
import { defineMethod, type MethodContext } from '../types';
import { accessesCheckApp, accessesCreate, accessesDelete } from './accesses';
import { serviceInfoFor } from './service';

/**
 * The access-request flow (spec §2.14) at `service.access` = `{publicUrl}/reg/access/`:
 * apps create and poll requests, the consent page (shared/web/access/) answers them.
 */

/** A method context acting as the user's personal access (the grant runs accesses.* as the user would). */
function actingAs(ctx: MethodContext, username: string, access: Access): MethodContext {
  return { ...ctx, username, access, usage: new Map(), response: { headers: {}, cookies: [] } };
}

const KEY_ATTEMPTS = 3; // a 16-character random key colliding even once is already unheard of

function answer(ctx: MethodContext, request: AccessRequest): Record<string, unknown> {
  ctx.response.status = STATUS_CODES[request.status];
  return requestView(ctx.config, request, serviceInfoFor(ctx.config));
}

export const accessRequestsCreate = /* @__PURE__ */ defineMethod<unknown>({
  id: 'accessRequests.create',
  routes: [{ verb: 'POST', path: '/reg/access' }],
  auth: 'none',
  batchable: false,
  status: 201,
  params: {},
  httpParams: (request) => request.body,
  run: async (ctx, body) => {
    for (let attempt = 0; attempt < KEY_ATTEMPTS; attempt++) {
      const request = newAccessRequest(ctx.config, body, ctx.now);
      if (await createAccessRequest(request)) return answer(ctx, request);
    }
    throw new RegisterError('INTERNAL_ERROR', 500, 'Could not store the access request.');
  },
});

export const accessRequestsPoll = /* @__PURE__ */ defineMethod<{ key: string }>({
  id: 'accessRequests.poll',
  routes: [{ verb: 'GET', path: '/reg/access/{key}' }],
  auth: 'none',
  batchable: false,
  params: {},
  httpParams: (request) => ({ key: request.pathParams.key ?? '' }),
  run: async (ctx, { key }) => {
    checkKey(key);
    const request = await getAccessRequest(key, ctx.now);
    if (!request) throw unknownKey();
    return answer(ctx, request);
  },
});

/**
 * Grants the request as the signed-in user: the app's existing access if it matches
 * (accesses.checkApp), else a new app access with the requested permissions (an outdated
 * one of the same app and device is replaced, as Pryv's consent app does); missing streams
 * are created with their `defaultName` by accesses.create. Runs the very methods an app
 * would call, with the user's personal access, so every permission rule applies.
 */
async function grant(ctx: MethodContext, request: AccessRequest): Promise<string> {
  const { username } = callerOf(ctx);
  const deviceName = request.deviceName ?? null;
  const check = await runMethod(
    accessesCheckApp,
    ctx,
    {
      requestingAppId: request.requestingAppId,
      requestedPermissions: request.requestedPermissions,
      ...(request.deviceName ? { deviceName: request.deviceName } : {}),
      ...(request.clientData ? { clientData: request.clientData } : {}),
    },
    { coerce: false },
  );
  if (check.matchingAccess) {
    const existing = await findAccessByName(username, 'app', request.requestingAppId, deviceName);
    if (existing) return existing.token;
  }
  const mismatching = check.mismatchingAccess as { id: string } | undefined;
  if (mismatching) await runMethod(accessesDelete, ctx, { id: mismatching.id }, { coerce: false });
  const created = await runMethod(
    accessesCreate,
    ctx,
    {
      type: 'app',
      name: request.requestingAppId,
      // checkApp's view: existing streams keep their names, new ones get a free defaultName.
      permissions: (check.checkedPermissions as Permission[]).map(({ name: _n, ...p }) => p),
      ...(request.deviceName ? { deviceName: request.deviceName } : {}),
      ...(request.expireAfter !== undefined ? { expireAfter: request.expireAfter } : {}),
      ...(request.clientData ? { clientData: request.clientData } : {}),
    },
    { coerce: false },
  );
  return (created.access as { token: string }).token;
}

export const accessRequestsUpdate = /* @__PURE__ */ defineMethod<{ key: string; body: unknown }>({
  id: 'accessRequests.update',
  // grant() runs these through runMethod, their parameter checks included.
  alsoRuns: [accessesCheckApp.id, accessesDelete.id, accessesCreate.id],
  routes: [{ verb: 'POST', path: '/reg/access/{key}' }],
  auth: 'none',
  batchable: false,
  params: {},
  httpParams: (request) => ({ key: request.pathParams.key ?? '', body: request.body }),
  run: async (ctx, { key, body }) => {
    checkKey(key);
    const answerGiven = parseAnswer(body);
    const request = await getAccessRequest(key, ctx.now);
    if (!request) throw unknownKey();
    if (request.status !== 'NEED_SIGNIN') throw alreadyAnswered(request);

    let next: AccessRequest;
    if (answerGiven.status === 'ACCEPTED') {
      const { username, token } = answerGiven;
      const access = await getAccessByToken(username, token);
      const kind = acceptingAccessKind(request, access, ctx.now);
      let granted = token;
      if (kind === 'personal') {
        const userCtx = actingAs(ctx, username, access!);
        granted = await grant(userCtx, request);
        await flushUsage(userCtx);
      }
      next = acceptedRequest(ctx.config, request, username, granted);
    } else {
      next = closedRequest(request, answerGiven);
    }
    if (!(await answerAccessRequest(next, ctx.now))) {
      const current = await getAccessRequest(key, ctx.now);
      if (!current) throw unknownKey();
      throw alreadyAnswered(current);
    }
    return answer(ctx, next);
  },
});
