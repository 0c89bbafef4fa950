import type { PryvError } from '../errors';
import { newId } from '../ids';
import { log } from '../log';
import { countMetric, METRIC } from '../metrics';
import type { AuditItem } from '../model/audit';
import { putAuditItems } from '../store/audit';
import type { AuditWrite } from '../store/call-records';
import { keys } from '../store/keys';
import { storable, storableKey } from '../store/storable';
import type { MethodContext } from './types';

/**
 * Recording calls in the audit log (spec §2.10): one record per API call that reached a
 * user's data through one of their accesses — method id, access id, time, outcome (HTTP
 * status, error id), client IP and user agent, and the shape of the query without secrets.
 *
 * Records are collected in memory while the request runs and written once its answer is
 * computed, concurrently with the access usage write (flushUsage in ./execute.ts), so the
 * caller never waits for an audit write before its result exists; a failed call's record
 * is written before its error is answered.
 *
 * No record is lost (README "Faults and retries"): whatever a call carried is made storable
 * (shared/store/storable.ts: numbers out of DynamoDB's range as text, long strings and deep
 * values cut with a marker, odd keys renamed); a write that fails is retried, then each
 * record alone, and a record that still cannot be written is logged whole (it holds no
 * secrets) as one `audit failure` error line, for an operator to alert on.
 */

/**
 * Parameters whose values say what was asked and hold no personal content: recorded as given
 * (every filter of the read methods, test/unit/audit.test.ts checks). Not here, so recorded as
 * their shape: names and content, filters naming a person (`username`, `email`, `ip`:
 * a pseudonymised record must not keep them in its query), and content-query conditions
 * (`content`, `clientData`: they quote values of the user's data).
 */
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
  'includeExpired',
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
  'action',
  'fromDeltaTime',
  'toDeltaTime',
]);
/** Never recorded, not even their shape: tokens, passwords, secrets. */
const SECRET_PARAM = /token|password|secret|auth|passphrase|key|code/i;
const MAX_QUERY_CHARS = 2000; // a record stays small; longer queries keep their shape only
const MAX_VALUE_DEPTH = 6;
/** A batch's record lists its method ids, each cut to this, up to MAX_BATCH_CALLS (the pryv library sends 1,000). */
const MAX_METHOD_ID_CHARS = 100;
const MAX_BATCH_CALLS = 1000;
const STORABLE = { maxDepth: MAX_VALUE_DEPTH + 2, maxString: 1000 };
const WRITE_ATTEMPTS = 3;
const WRITE_RETRY_MS = 200; // doubled at each attempt

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
    for (const [k, v] of Object.entries(value)) if (!SECRET_PARAM.test(k)) out[storableKey(k)] = withoutSecrets(v, depth + 1);
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
    const calls = params
      .slice(0, MAX_BATCH_CALLS)
      .map((c) => (c && typeof c === 'object' ? String((c as { method?: unknown }).method).slice(0, MAX_METHOD_ID_CHARS) : shapeOf(c)));
    return params.length > MAX_BATCH_CALLS ? { calls, callCount: params.length } : { calls };
  }
  if (!params || typeof params !== 'object' || Array.isArray(params)) return shapeOf(params);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) {
    if (SECRET_PARAM.test(k)) continue;
    if (k === 'update' && v && typeof v === 'object') out[k] = queryShape('', v);
    else out[storableKey(k)] = VALUE_PARAMS.has(k) ? withoutSecrets(v) : shapeOf(v);
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
    query: storable(queryShape(methodId, params), STORABLE),
  };
  if (ctx.request.userAgent) item.userAgent = ctx.request.userAgent.slice(0, 300);
  if (error) Object.assign(item, failure(error));
  const list = pending.get(ctx) ?? [];
  list.push(item);
  pending.set(ctx, list);
}

/** What a record of a failed call says of its outcome. */
const failure = (error: PryvError) => ({ status: error.status, errorId: error.id, errorMessage: error.message.slice(0, 300) });

/** Records taken for a call that then failed (its method had returned; a write after it did not happen): they say so. */
export function withFailure(batch: AuditWrite, error: PryvError): AuditWrite {
  return { ...batch, records: batch.records.map((record) => ({ ...record, ...failure(error) })) };
}

/** Writes the records noted so far. Never throws: a record that cannot be written is logged whole. */
export async function flushAudit(ctx: MethodContext): Promise<void> {
  const batch = takeAuditRecords(ctx);
  if (batch) await writeAuditRecords(ctx, batch);
}

/** The records noted so far and where they go, taken out of the call (its usage write may carry them: ./execute.ts). */
export function takeAuditRecords(ctx: MethodContext): AuditWrite | undefined {
  const records = pending.get(ctx);
  if (!records || records.length === 0 || !ctx.username) return undefined;
  pending.delete(ctx);
  const expires = Math.floor(Date.now() / 1000 + ctx.config.auditRetentionDays * 86_400);
  return { partition: keys.audit(ctx.username), records, expires };
}

/** Writes records with bounded retries, then one at a time. Never throws: a record that cannot be written is logged whole. */
export async function writeAuditRecords(ctx: MethodContext, batch: AuditWrite): Promise<void> {
  const { partition, records, expires } = batch;
  if (await written(() => putAuditItems(partition, records, expires))) return;
  // One at a time: a record DynamoDB refuses does not take the others with it.
  for (const record of records) {
    let failure: unknown;
    const ok = await written(
      () => putAuditItems(partition, [record], expires),
      (err) => (failure = err),
    );
    if (!ok) {
      log.error('audit failure', { err: failure, username: ctx.username, auditRecord: record, requestId: ctx.request.requestId });
      countMetric(METRIC.auditWriteFailures);
    }
  }
}

/** Runs an audit write with bounded retries; false (after telling `onFailure` the last error) if it never succeeded. */
async function written(write: () => Promise<void>, onFailure?: (err: unknown) => void): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      await write();
      return true;
    } catch (err) {
      if (attempt >= WRITE_ATTEMPTS) {
        onFailure?.(err);
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, WRITE_RETRY_MS * 2 ** (attempt - 1)));
    }
  }
}
