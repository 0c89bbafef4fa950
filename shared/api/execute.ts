import { timingSafeEqual } from 'node:crypto';
import { adminKey } from '../adapters/secrets';
import { config } from '../config';
import { assertAccessLive } from '../domain/accesses/liveness';
import { errors, PryvError } from '../errors';
import { checkParamsNumbers, checkParamsShape, isPossibleToken, isPossibleUsername, LIMITS, shown } from '../limits';
import { log } from '../log';
import type { Access } from '../model/accesses';
import { getAccessByToken, getAccessWithDataMeta, getAccessWithEventHead, recordAccessUsage } from '../store/accesses';
import { userExists } from '../store/accounts';
import { addCounters, CALL_RECORDS_MAX_STATEMENTS, insertItem, type UsageWrite, writeUsageAndAudit } from '../store/call-records';
import { isServiceFault } from '../store/faults';
import { checkParams } from '../validation';
import { flushAudit, recordCall, takeAuditRecords, withFailure, writeAuditRecords } from './audit-calls';
import { paramsValidator } from './params-validators';
import type { MethodContext, MethodDef, MethodResult, RequestInfo } from './types';

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
/** And `auth.logout`, whose data meta's sockets hint tells whether it must hold its sockets first (domain/sockets.ts). */
const readsDataMeta = (methodId: string) => methodId === 'auth.logout' || TREE_READERS.some((prefix) => methodId.startsWith(prefix));
/** HF series calls on one holder (`/events/{id}/series`): their token lookup reads the holder too. */
const HOLDER_READERS = new Set(['series.get', 'series.add']);

/**
 * Establishes who is calling, before any parameter is looked at: the path user must exist
 * (404), the token must open a live access of that user (401/403), the admin key must
 * match (404, deliberately, spec §2.16).
 */
export async function authenticate(method: MethodDef, ctx: MethodContext): Promise<void> {
  const { request } = ctx;
  const username = request.pathParams.username;
  // A name no account can have is unknown without a lookup (its key may not even fit DynamoDB).
  if (username !== undefined && !isPossibleUsername(username)) {
    if (method.auth === 'admin') await checkAdminKey(request.headers.authorization);
    throw errors.unknownUser(shown(username));
  }
  if (username !== undefined) ctx.username = username;

  if (method.auth === 'admin') return checkAdminKey(request.headers.authorization);
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
  let access: Access | undefined;
  if (!isPossibleToken(token)) access = undefined;
  else if (HOLDER_READERS.has(method.id) && request.pathParams.id !== undefined && request.pathParams.id.length <= LIMITS.pathIdMaxLength) {
    const found = await getAccessWithEventHead(username, token, request.pathParams.id, method.id === 'series.add');
    access = found.access;
    ctx.prefetched = { event: { id: request.pathParams.id, ...found.event, ...(found.series ? { series: found.series } : {}) } };
  } else if (readsDataMeta(method.id)) {
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

async function checkAdminKey(given: string | undefined): Promise<void> {
  const expected = await adminKey();
  if (!given || !expected || !sameSecret(given, expected)) throw errors.unknownResource();
}

/** Ids in the path (`{id}`, `{fileId}`…) longer than any id can be name nothing: 404 before any lookup. */
function checkPathIds(request: MethodContext['request']): void {
  for (const [name, value] of Object.entries(request.pathParams)) {
    if (name !== 'username' && typeof value === 'string' && value.length > LIMITS.pathIdMaxLength) {
      throw errors.unknownResource('resource', shown(value));
    }
  }
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
    if (method.auth !== 'none') checkPathIds(ctx.request);
    const input = params ?? {};
    // callBatch's limits apply to each call, as it runs (a call's 400 is that call's result).
    const perCall = method.id === 'callBatch';
    if (!perCall) checkParamsShape(input);
    checkParams(paramsValidator(method.id, options.coerce), input);
    if (!perCall) checkParamsNumbers(input);
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
      const rendered = recordedError(err);
      recordCall(ctx, method.id, params, rendered.status, rendered);
      await flushAudit(ctx);
    }
    throw err;
  }
}

/**
 * After the answer is computed: writes the request's access usage and its audit records
 * (./audit-calls.ts), with the counter adds and new items of its writes. In one request when
 * the access already holds every counter the call increments (store/call-records.ts); else,
 * and for whatever that request could not write, the new items first and then the usage
 * update and the records' batch write side by side. Beside them, finishes what the call's
 * methods started after their commit (direct pushes to sockets:
 * domain/notifications/direct-push.ts); after them, the work the call's writes left for
 * once they are stored (a series' compaction). A new item that cannot be written fails the
 * call (503 for a fault of the service): it is the call's own data.
 */
export async function flushUsage(ctx: MethodContext): Promise<void> {
  const after = ctx.afterRecords ?? [];
  ctx.afterRecords = undefined;
  await Promise.all([writeCallRecords(ctx).then(() => Promise.all(after.map((work) => work()))), ...(ctx.afterCommit ?? [])]);
}

async function writeCallRecords(ctx: MethodContext): Promise<void> {
  const usage = usageWrite(ctx);
  const audit = takeAuditRecords(ctx);
  const counters = ctx.counters ?? [];
  const inserts = ctx.inserts ?? [];
  ctx.counters = undefined;
  ctx.inserts = undefined;
  if (
    usage &&
    audit &&
    countersExist(ctx.access?.calls, usage.calls) &&
    audit.records.length + counters.length + inserts.length < CALL_RECORDS_MAX_STATEMENTS
  ) {
    let outcome: Awaited<ReturnType<typeof writeUsageAndAudit>> | undefined;
    try {
      outcome = await writeUsageAndAudit(usage, audit, counters, inserts);
    } catch (err) {
      // Nothing is known to be written: all again, the separate way (as an SDK retry
      // would, a lost answer to a request that did go through may count the call twice).
      log.warn('usage and audit write failed, writing them apart', { err, methodId: ctx.methodId, requestId: ctx.request.requestId });
    }
    // A counter add refused (an attribute the item does not hold yet, which PartiQL cannot start) goes on its own, unlogged.
    const refused = outcome ? outcome.counters : counters;
    const refusedInserts = outcome ? outcome.inserts : inserts;
    if (outcome?.usage !== 'failed' && outcome?.audit === 'ok' && refused.length === 0 && refusedInserts.length === 0) return;
    if (outcome && (outcome.usage === 'failed' || outcome.audit === 'failed' || refusedInserts.length > 0)) {
      log.warn('usage, audit or insert statement refused, writing again', { errors: outcome.errors, requestId: ctx.request.requestId });
    }
    await Promise.all([
      outcome?.usage === 'failed' || !outcome ? writeUsage(ctx, usage) : undefined,
      outcome?.audit === 'failed' || !outcome ? writeAuditRecords(ctx, audit) : undefined,
      ...refused.map(addCounters),
      ...refusedInserts.map(insertItem),
    ]);
    return;
  }
  // The call's new items before what counts them (a series' tally), as when the method wrote
  // them itself: one that fails fails the call, recorded so in the audit log, usage not counted.
  try {
    await Promise.all(inserts.map(insertItem));
  } catch (err) {
    if (audit) await writeAuditRecords(ctx, withFailure(audit, recordedError(err)));
    throw err;
  }
  await Promise.all([
    usage ? writeUsage(ctx, usage) : undefined,
    audit ? writeAuditRecords(ctx, audit) : undefined,
    ...counters.map(addCounters),
  ]);
}

/** The error a failure is recorded as in the audit log: what its caller is answered (see asPryvError), without logging it. */
const recordedError = (err: unknown): PryvError =>
  err instanceof PryvError ? err : isServiceFault(err) ? errors.serviceFault() : errors.unexpected();

/** Whether every counter to increment is already on the access as read at the start of the call. */
function countersExist(held: Record<string, number> | undefined, increments: Map<string, number>): boolean {
  if (!held) return false;
  for (const key of increments.keys()) if (typeof held[key] !== 'number') return false;
  return true;
}

/** The access's calls counters and last use; personal sessions slide forward (spec §2.9). */
function usageWrite(ctx: MethodContext): UsageWrite | undefined {
  const access = ctx.access;
  if (!access || !ctx.username || ctx.usage.size === 0) return undefined;
  const session = access.type === 'personal' && !ctx.sessionEnded ? ctx.now + ctx.config.sessionMaxAgeS : undefined;
  return { username: ctx.username, token: access.token, calls: ctx.usage, now: ctx.now, sessionExpires: session };
}

async function writeUsage(ctx: MethodContext, u: UsageWrite): Promise<void> {
  try {
    await recordAccessUsage(u.username, u.token, u.calls, u.now, u.sessionExpires);
  } catch (err) {
    // Usage stats must not fail the call that already succeeded.
    log.error('access usage not recorded', { err, methodId: ctx.methodId, requestId: ctx.request.requestId });
  }
}

/**
 * An error as the caller sees it: PryvErrors as they are; a fault of DynamoDB or S3 (down,
 * throttled, timing out) `503 api-unavailable` with a retry hint; anything else is a bug of
 * ours, a generic 500 logged with its request id.
 */
export function asPryvError(err: unknown, ctx?: MethodContext): PryvError {
  if (err instanceof PryvError) return err;
  const where = { methodId: ctx?.methodId, requestId: ctx?.request.requestId };
  if (isServiceFault(err)) {
    log.warn('service fault', { err: faultSummary(err), ...where });
    return errors.serviceFault();
  }
  log.error('unexpected error', { err, ...where });
  return errors.unexpected();
}

/** Name, code and message of a service fault: a stack would only repeat the SDK's internals. */
function faultSummary(err: unknown): Record<string, unknown> {
  const e = err as { name?: unknown; code?: unknown; message?: unknown };
  return { name: e.name, code: e.code, message: typeof e.message === 'string' ? e.message.slice(0, 300) : undefined };
}
