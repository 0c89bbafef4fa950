import { type AuditFilter, auditLogForApi, MAX_AUDIT_PAGE, readAudit } from '../../domain/audit/log';
import { callerOf } from '../caller';
import { ALL_ACCESS_TYPES, defineMethod } from '../types';

const DEFAULT_AUDIT_LIMIT = 100; // records per page when no limit is given

/**
 * `audit.getLogs` — `GET /{username}/audit/logs` (spec §2.10, legacy route): the calls
 * recorded for this user. A personal token reads every record; an app or shared access
 * reads its own (and any `:_audit:access-{id}` stream granted to it), 403 for another
 * access's id. The same records are `audit-log/pryv-api` events of the `:_audit:` streams.
 */
export const auditGetLogs = /* @__PURE__ */ defineMethod<Omit<AuditFilter, 'limit'> & { limit?: number }>({
  id: 'audit.getLogs',
  routes: [{ verb: 'GET', path: '/{username}/audit/logs' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  params: {
    type: 'object',
    properties: {
      accessId: { type: 'string', minLength: 1 },
      action: { type: 'string', minLength: 1 },
      fromTime: { type: 'number' },
      toTime: { type: 'number' },
      limit: { type: 'integer', minimum: 1, maximum: MAX_AUDIT_PAGE },
      sortAscending: { type: 'boolean' },
      status: { type: 'integer', minimum: 100, maximum: 599 },
      errorId: { type: 'string', minLength: 1 },
      ip: { type: 'string', minLength: 1 },
    },
    additionalProperties: false,
  },
  run: async (ctx, params) => {
    const { username, access, now } = callerOf(ctx);
    const items = await readAudit(username, access, { ...params, limit: params.limit ?? DEFAULT_AUDIT_LIMIT }, now);
    return { auditLogs: items.map(auditLogForApi) };
  },
});
