import type { MethodContext } from '../../api/types';
import type { Access } from '../../model/accesses';
import { errors, type PryvError } from '../../errors';
import { newId } from '../../ids';
import { log } from '../../log';
import { putAuditItems, queryAudit } from '../../store/audit';
import { keys } from '../../store/keys';
import type { AuditItem } from '../../model/audit';

/**
 * The audit log (spec §2.10): one record per API call that reached a user's data through
 * one of their accesses — method id, access id, time, outcome (HTTP status, error id),
 * client IP and user agent, and the shape of the query without secrets.
 *
 * Records are collected in memory while the request runs and written once its answer is
 * computed, concurrently with the access usage write (flushUsage in shared/api/execute.ts),
 * so the caller never waits for an audit write before its result exists; a failed call's
 * record is written before its error is answered. A write that still fails after the
 * store's retries is logged in full (it holds no secrets) at error level: never dropped
 * silently.
 */

/** Parameters whose values say what was asked and hold no personal content: recorded as given. */
const VALUE_PARAMS = new Set([
  'id',
  'streams',
  'types',
  'fromTime',
  'toTime',
  'sortAscending',
  'skip',
  'limit',
  'state',
  'modifiedSince',
  'includeDeletions',
  'includeDeletionsSince',
  'running',
  'tags',
  'streamId',
  'streamIds',
  'parentId',
  'type',
  'trashed',
  'includeHistory',
  'mergeEventsWithParent',
  'fileId',
  'accessId',
  'status',
  'errorId',
  'method',
]);
/** Never recorded, not even their shape: tokens, passwords, secrets. */
const SECRET_PARAM = /token|password|secret|auth|passphrase|key|code/i;
const MAX_QUERY_CHARS = 2000; // a record stays small; longer queries keep their shape only
const MAX_VALUE_DEPTH = 6;

/** What a value looks like, without its content (personal data stays out of the audit log). */
function shapeOf(value: unknown): string {
  if (value === null) return '<null>';
  if (Array.isArray(value)) return `<array:${value.length}>`;
  return `<${typeof value}>`;
}

function withoutSecrets(value: unknown, depth = 0): unknown {
  if (depth > MAX_VALUE_DEPTH) return shapeOf(value);
  if (Array.isArray(value)) return value.map((v) => withoutSecrets(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (!SECRET_PARAM.test(k)) out[k] = withoutSecrets(v, depth + 1);
    return out;
  }
  return value;
}

/**
 * The query as recorded: filter and id parameters as given (secret keys removed at any
 * depth), any other parameter (event content, names, descriptions, clientData…) as its
 * shape only; a batch as the list of its method ids.
 */
export function queryShape(methodId: string, params: unknown): unknown {
  if (methodId === 'callBatch' && Array.isArray(params)) {
    return { calls: params.map((c) => (c && typeof c === 'object' ? String((c as { method?: unknown }).method) : shapeOf(c))) };
  }
  if (!params || typeof params !== 'object' || Array.isArray(params)) return shapeOf(params);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) {
    if (SECRET_PARAM.test(k)) continue;
    if (k === 'update' && v && typeof v === 'object') out[k] = queryShape('', v);
    else out[k] = VALUE_PARAMS.has(k) ? withoutSecrets(v) : shapeOf(v);
  }
  const text = JSON.stringify(out);
  if (text.length > MAX_QUERY_CHARS) return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, shapeOf(v)]));
  return out;
}

const pending = new WeakMap<MethodContext, AuditItem[]>();
/** Pryv's `content.source.name` values (spec §2.10). */
const SOURCE_NAMES: Record<MethodContext['request']['transport'], string> = { http: 'http', batch: 'http', socket: 'socket.io' };

/** Notes a call for the audit log (only calls made with one of the user's accesses). */
export function recordCall(ctx: MethodContext, methodId: string, params: unknown, status: number, error?: PryvError): void {
  const access = ctx.access;
  if (!access || !ctx.username) return;
  const item: AuditItem = {
    id: newId(),
    time: Date.now() / 1000,
    accessId: access.id,
    action: methodId,
    status,
    source: { name: SOURCE_NAMES[ctx.request.transport], ...(ctx.request.ip ? { ip: ctx.request.ip } : {}) },
    query: queryShape(methodId, params),
  };
  if (ctx.request.userAgent) item.userAgent = ctx.request.userAgent.slice(0, 300);
  if (error) {
    item.errorId = error.id;
    item.errorMessage = error.message.slice(0, 300);
  }
  const list = pending.get(ctx) ?? [];
  list.push(item);
  pending.set(ctx, list);
}

/** Writes the records noted so far. Never throws: a record that cannot be written is logged whole. */
export async function flushAudit(ctx: MethodContext): Promise<void> {
  const records = pending.get(ctx);
  if (!records || records.length === 0 || !ctx.username) return;
  pending.delete(ctx);
  const expires = Math.floor(Date.now() / 1000 + ctx.config.auditRetentionDays * 86_400);
  try {
    await putAuditItems(keys.audit(ctx.username), records, expires);
  } catch (err) {
    log.error('audit records not written', { err, username: ctx.username, auditRecords: records, requestId: ctx.request.requestId });
  }
}

/** The audit streams an access may read (spec §2.10): personal all, others their own and explicitly granted ones. */
export function readableAccessIds(access: Access): { all: true } | { all: false; ids: Set<string> } {
  if (access.type === 'personal') return { all: true };
  const ids = new Set<string>();
  const self = access.permissions.find((p) => p.feature === 'selfAudit');
  if (self?.setting !== 'forbidden') ids.add(access.id);
  for (const p of access.permissions) {
    const prefix = ':_audit:access-';
    if (p.streamId?.startsWith(prefix) && p.level && p.level !== 'none') ids.add(p.streamId.slice(prefix.length));
  }
  return { all: false, ids };
}

export interface AuditFilter {
  accessId?: string;
  action?: string;
  fromTime?: number;
  toTime?: number;
  limit: number;
  sortAscending?: boolean;
  status?: number;
  errorId?: string;
  ip?: string;
}

/** Records of a user visible to `access` and matching the filter, newest first by default. */
export async function readAudit(username: string, access: Access, filter: AuditFilter, now: number): Promise<AuditItem[]> {
  const visible = readableAccessIds(access);
  if (filter.accessId !== undefined && !visible.all && !visible.ids.has(filter.accessId)) {
    throw errors.forbidden('You cannot read the audit of another access.');
  }
  if (!visible.all && visible.ids.size === 0) throw errors.forbidden('This access may not read audit logs (selfAudit).');
  return queryAudit(keys.audit(username), {
    fromTime: filter.fromTime ?? -Infinity,
    toTime: filter.toTime ?? Infinity,
    ascending: filter.sortAscending ?? false,
    limit: filter.limit,
    now,
    accept: (item) =>
      (visible.all || visible.ids.has(item.accessId)) &&
      (filter.accessId === undefined || item.accessId === filter.accessId) &&
      (filter.action === undefined || item.action === filter.action) &&
      (filter.status === undefined || item.status === filter.status) &&
      (filter.errorId === undefined || item.errorId === filter.errorId) &&
      (filter.ip === undefined || item.source.ip === filter.ip),
  });
}

/** A record as the legacy `GET /audit/logs` answers it. */
export function auditLogForApi(item: AuditItem): Record<string, unknown> {
  const { pseudonym: _p, ...rest } = item;
  return rest;
}

export const AUDIT_STORE_PREFIX = ':_audit:';
const ACCESS_STREAM = ':_audit:access-';
const ACTION_STREAM = ':_audit:action-';

/** A record as an `audit-log/pryv-api` event of the `:_audit:` store (spec §2.10). */
export function auditEvent(item: AuditItem): Record<string, unknown> {
  const content: Record<string, unknown> = {
    source: item.source,
    action: item.action,
    query: item.query ?? {},
    status: item.status,
  };
  if (item.userAgent) content.userAgent = item.userAgent;
  if (item.errorId) content.error = { id: item.errorId, message: item.errorMessage ?? '' };
  return {
    id: `${AUDIT_STORE_PREFIX}${item.id}`,
    streamIds: [`${ACCESS_STREAM}${item.accessId}`, `${ACTION_STREAM}${item.action}`],
    streamId: `${ACCESS_STREAM}${item.accessId}`,
    type: item.errorId ? 'audit-log/pryv-api-error' : 'audit-log/pryv-api',
    time: item.time,
    content,
    tags: [],
    created: item.time,
    createdBy: 'system',
    modified: item.time,
    modifiedBy: 'system',
  };
}

/** Stream ids of a `streams` parameter, if it names the audit store (string, array, JSON, `{any:[…]}`). */
export function auditStreamsOf(streams: unknown): string[] | undefined {
  let value = streams;
  if (typeof value === 'string' && /^\s*[[{]/.test(value)) {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  const ids: string[] = [];
  const collect = (v: unknown): void => {
    if (typeof v === 'string') ids.push(v);
    else if (Array.isArray(v)) v.forEach(collect);
    else if (v && typeof v === 'object') collect((v as { any?: unknown }).any);
  };
  collect(value);
  if (ids.length === 0 || !ids.some((id) => id.startsWith(AUDIT_STORE_PREFIX))) return undefined;
  return ids;
}

/**
 * `events.get` on the audit store: `:_audit:` (every visible record),
 * `:_audit:access-{id}`, `:_audit:action-{methodId}`; mixing with ordinary streams is refused.
 */
export async function auditEventsGet(
  username: string,
  access: Access,
  streamIds: string[],
  params: { fromTime?: number; toTime?: number; limit?: number; sortAscending?: boolean },
  now: number,
): Promise<Array<Record<string, unknown>>> {
  const limit = params.limit ?? (params.fromTime === undefined && params.toTime === undefined ? DEFAULT_EVENTS_LIMIT : MAX_AUDIT_PAGE);
  const results = new Map<string, AuditItem>();
  for (const streamId of new Set(streamIds)) {
    let filter: Partial<AuditFilter>;
    if (streamId === AUDIT_STORE_PREFIX) filter = {};
    else if (streamId.startsWith(ACCESS_STREAM)) filter = { accessId: streamId.slice(ACCESS_STREAM.length) };
    else if (streamId.startsWith(ACTION_STREAM)) filter = { action: streamId.slice(ACTION_STREAM.length) };
    else throw errors.invalidRequestStructure(`The audit store cannot be queried together with "${streamId}".`);
    const items = await readAudit(username, access, { ...filter, fromTime: params.fromTime, toTime: params.toTime, sortAscending: params.sortAscending, limit }, now);
    for (const item of items) results.set(item.id, item);
  }
  const sorted = [...results.values()].sort((a, b) => (params.sortAscending ? a.time - b.time : b.time - a.time));
  return sorted.slice(0, limit).map(auditEvent);
}

export const DEFAULT_EVENTS_LIMIT = 20; // events.get's default page (spec §2.2.1)
export const MAX_AUDIT_PAGE = 1000; // largest page of audit records one call returns
