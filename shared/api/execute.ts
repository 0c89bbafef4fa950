import { timingSafeEqual } from 'node:crypto';
import type { MethodContext, MethodDef, MethodResult, RequestInfo } from './types';
import { validateParams } from '../validation';
import { errors, PryvError } from '../errors';
import { config } from '../config';
import { getAccessByToken, getAccessWithDataMeta, recordAccessUsage } from '../store/accesses';
import { userExists } from '../store/accounts';
import { adminKey } from '../adapters/secrets';
import { assertAccessLive } from '../domain/accesses/liveness';
import { log } from '../log';
import { flushAudit, recordCall } from './audit-calls';

export function newContext(methodId: string, request: RequestInfo): MethodContext {
  return {
    methodId,
    config: config(),
    request,
    now: Date.now() / 1000,
    response: { headers: {}, cookies: [] },
    usage: new Map(),
  };
}

/** `events.get` → `events:get`, the key of an access's `calls` counters (spec §1.3). */
export const methodKey = (methodId: string) => methodId.replace(/\./g, ':');

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Methods that read the stream tree (domain/user-data.ts): their token lookup reads the
 * user's data meta in the same round trip, which tells whether a cached tree is current.
 */
const TREE_READERS = ['events.', 'streams.', 'accesses.', 'callBatch'];
const readsStreamTree = (methodId: string) => TREE_READERS.some((prefix) => methodId.startsWith(prefix));

/**
 * Establishes who is calling, before any parameter is looked at: the path user must exist
 * (404), the token must open a live access of that user (401/403), the admin key must
 * match (404, deliberately, spec §2.16).
 */
export async function authenticate(method: MethodDef, ctx: MethodContext): Promise<void> {
  const { request } = ctx;
  const username = request.pathParams.username;
  if (username !== undefined) ctx.username = username;

  if (method.auth === 'admin') {
    const given = request.headers.authorization;
    const expected = await adminKey();
    if (!given || !expected || !sameSecret(given, expected)) throw errors.unknownResource();
    return;
  }
  if (method.auth === 'none') {
    if (username !== undefined && !(await userExists(username))) throw errors.unknownUser(username);
    return;
  }
  if (username === undefined) throw new Error(`method ${method.id} needs a token but its route has no {username}`);
  const token = request.token;
  if (!token) {
    if (!(await userExists(username))) throw errors.unknownUser(username);
    throw errors.missingToken();
  }
  let access;
  if (readsStreamTree(method.id)) {
    const found = await getAccessWithDataMeta(username, token);
    access = found.access;
    ctx.prefetched = { dataMeta: found.meta };
  } else {
    access = await getAccessByToken(username, token);
  }
  if (!access) {
    if (!(await userExists(username))) throw errors.unknownUser(username);
    throw errors.invalidAccessToken();
  }
  ctx.access = access;
  ctx.response.headers['Pryv-Access-Id'] = access.id;
  assertAccessLive(access, ctx.now);
}

/**
 * Runs one method for an authenticated context: access type, parameters, implementation,
 * usage count. Shared by HTTP, callBatch and sockets.
 */
export async function runMethod(
  method: MethodDef,
  ctx: MethodContext,
  params: unknown,
  options: { coerce: boolean },
): Promise<MethodResult> {
  ctx.methodId = method.id;
  try {
    if (method.auth === 'token') {
      const access = ctx.access;
      if (!access) throw errors.invalidAccessToken();
      if (method.accessTypes && !method.accessTypes.includes(access.type)) {
        throw errors.forbidden(`You cannot access ${method.id} resource using the given access`);
      }
    }
    const input = params ?? {};
    validateParams(method.params, input, options.coerce);
    const result = await method.run(ctx, input);
    if (ctx.access) {
      const key = methodKey(method.id);
      ctx.usage.set(key, (ctx.usage.get(key) ?? 0) + 1);
    }
    if (method.auth === 'token') recordCall(ctx, method.id, params, ctx.response.status ?? method.status ?? 200);
    return result;
  } catch (err) {
    // Audit (spec §2.10): a failed call is recorded before its error is answered (no usage
    // flush follows an error).
    if (method.auth === 'token') {
      const rendered = err instanceof PryvError ? err : errors.unexpected();
      recordCall(ctx, method.id, params, rendered.status, rendered);
      await flushAudit(ctx);
    }
    throw err;
  }
}

/**
 * After the answer is computed: writes the request's access usage and, concurrently, its
 * audit records (./audit-calls.ts).
 */
export async function flushUsage(ctx: MethodContext): Promise<void> {
  await Promise.all([writeUsage(ctx), flushAudit(ctx)]);
}

/** The access's calls counters and last use; personal sessions slide forward (spec §2.9). */
async function writeUsage(ctx: MethodContext): Promise<void> {
  const access = ctx.access;
  if (!access || !ctx.username || ctx.usage.size === 0) return;
  const session = access.type === 'personal' && !ctx.sessionEnded ? ctx.now + ctx.config.sessionMaxAgeS : undefined;
  try {
    await recordAccessUsage(ctx.username, access.token, ctx.usage, ctx.now, session);
  } catch (err) {
    // Usage stats must not fail the call that already succeeded.
    log.error('access usage not recorded', { err, methodId: ctx.methodId, requestId: ctx.request.requestId });
  }
}

/** An error as the caller sees it: PryvErrors as they are, anything else a generic 500. */
export function asPryvError(err: unknown, ctx?: MethodContext): PryvError {
  if (err instanceof PryvError) return err;
  log.error('unexpected error', { err, methodId: ctx?.methodId, requestId: ctx?.request.requestId });
  return errors.unexpected();
}
