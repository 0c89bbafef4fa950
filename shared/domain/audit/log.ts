import { errors } from '../../errors';
import type { Access } from '../../model/accesses';
import type { AuditItem } from '../../model/audit';
import { queryAudit } from '../../store/audit';
import { keys } from '../../store/keys';
import { parseAccessRef } from '../accesses/versions';

/**
 * Reading the audit log (spec §2.10): the records of the calls that reached a user's data
 * through one of their accesses (written by shared/api/audit-calls.ts), as `audit.getLogs`
 * answers them and as events of the `:_audit:` streams.
 */

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
  // Records name an access by the id it was created with; `{id}:{serial}` (an updated access, spec §2.4 [v2]) is the same access.
  const accessId = filter.accessId === undefined ? undefined : parseAccessRef(filter.accessId).base;
  if (accessId !== undefined && !visible.all && !visible.ids.has(accessId)) {
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
      (accessId === undefined || item.accessId === accessId) &&
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
    const items = await readAudit(
      username,
      access,
      { ...filter, fromTime: params.fromTime, toTime: params.toTime, sortAscending: params.sortAscending, limit },
      now,
    );
    for (const item of items) results.set(item.id, item);
  }
  const sorted = [...results.values()].sort((a, b) => (params.sortAscending ? a.time - b.time : b.time - a.time));
  return sorted.slice(0, limit).map(auditEvent);
}

export const DEFAULT_EVENTS_LIMIT = 20; // events.get's default page (spec §2.2.1)
export const MAX_AUDIT_PAGE = 1000; // largest page of audit records one call returns
