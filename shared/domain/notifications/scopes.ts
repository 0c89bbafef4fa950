import { errors, PryvError } from '../../errors';
import type { AccessType } from '../../model/accesses';
import { type ChangeDetail, type NamedScopes, SCOPE_KINDS, type ScopeKind, type ScopeQuery } from '../../model/notifications';
import type { EventsState } from '../../model/streams';
import type { AccessPermissions } from '../accesses/permissions';
import { auditStreamsOf } from '../audit/log';
import { type ContentCondition, meetsConditions, parseContentConditions } from '../events/content-query';
import { inEventsState, typeMatches } from '../events/fields';
import { expandStreamsQueries, matchesStreams, parseStreamsParam, type StreamMatcher, toMatcher } from '../streams/query';
import type { StreamTree } from '../streams/tree';

/**
 * Named notification scopes (spec §6.1 `subscribe`, §3.6 webhook `scopes`): a client names
 * what it wants to hear of, `{key: {kind, query}}`, with the query in `events.get` terms.
 * A scope is bound to what its access may read: its streams go through the same expansion
 * as an `events.get` streams query (unknown stream → 400 unknown-referenced-resource,
 * unreadable → 403 forbidden), and a scope without streams covers every readable stream.
 * Events scopes also take `events.get`'s content conditions (`content`, `clientData`), checked
 * and matched by the one parser and matcher (domain/events/content-query.ts).
 */

export const MAX_SCOPES = 50;
export const MAX_SCOPE_KEY_LENGTH = 100;
const STATES: readonly EventsState[] = ['default', 'trashed', 'all'];
const ACCESS_TYPES: readonly AccessType[] = ['personal', 'app', 'shared'];

/** Query properties each kind accepts. */
const QUERY_FIELDS: Record<ScopeKind, readonly string[]> = {
  events: ['streams', 'types', 'state', 'content', 'clientData'],
  streams: ['streams'],
  accesses: ['accessIds', 'types', 'streams'],
};

const bad = (message: string) => errors.invalidRequestStructure(message);
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function stringArray(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string' && v.length > 0)) {
    throw bad(`Scope "${where}": must be a non-empty array of non-empty strings.`);
  }
  return value as string[];
}

function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_SCOPE_KEY_LENGTH) {
    throw bad(`A scope key must be a string of 1 to ${MAX_SCOPE_KEY_LENGTH} characters.`);
  }
  return key;
}

/** One scope's `{kind, query}`, checked for shape (kind, known query properties, value types). */
function checkScope(key: string, raw: unknown, defaultKind: ScopeKind | undefined): { kind: ScopeKind; query: ScopeQuery } {
  if (!isPlainObject(raw)) throw bad(`Scope "${key}": must be an object {kind, query}.`);
  for (const field of Object.keys(raw)) {
    if (field !== 'kind' && field !== 'query' && field !== 'key')
      throw bad(`Scope "${key}": unknown property "${field}" (allowed: "kind", "query").`);
  }
  const kind = raw.kind ?? defaultKind;
  if (typeof kind !== 'string' || !(SCOPE_KINDS as readonly string[]).includes(kind)) {
    throw bad(`Scope "${key}": "kind" must be one of ${SCOPE_KINDS.join(', ')}.`);
  }
  const k = kind as ScopeKind;
  const rawQuery = raw.query ?? {};
  if (!isPlainObject(rawQuery)) throw bad(`Scope "${key}": "query" must be an object.`);
  const query: ScopeQuery = {};
  for (const [field, value] of Object.entries(rawQuery)) {
    if (!QUERY_FIELDS[k].includes(field)) {
      throw bad(
        `Scope "${key}": unknown query property "${field}" for kind "${k}" (allowed: ${QUERY_FIELDS[k].map((f) => `"${f}"`).join(', ')}).`,
      );
    }
    if (field === 'streams') {
      parseStreamsParam(value); // the events.get structure checks, with their messages
      query.streams = value;
    } else if (field === 'types') {
      const types = stringArray(value, `${key}.query.types`);
      if (k === 'accesses' && !types.every((t) => (ACCESS_TYPES as readonly string[]).includes(t))) {
        throw bad(`Scope "${key}": accesses "types" must be among ${ACCESS_TYPES.join(', ')}.`);
      }
      query.types = types;
    } else if (field === 'state') {
      if (typeof value !== 'string' || !(STATES as readonly string[]).includes(value))
        throw bad(`Scope "${key}": "state" must be one of ${STATES.join(', ')}.`);
      query.state = value as EventsState;
    } else if (field === 'accessIds') {
      query.accessIds = stringArray(value, `${key}.query.accessIds`);
    } else if (field === 'content' || field === 'clientData') {
      query[field] = value;
    }
  }
  if (k === 'events') scopeConditions(key, query);
  if (k === 'accesses' && query.streams === undefined && query.types === undefined && query.accessIds === undefined) {
    throw bad(`Scope "${key}": an accesses scope needs at least one of "streams", "types", "accessIds".`);
  }
  return { kind: k, query };
}

/**
 * An events scope's content conditions, checked as `events.get` checks them (same parser, same
 * 400 invalid-parameters-format, the scope's key added to the message), and refused on the
 * audit streams as `events.get` refuses them (400 invalid-operation).
 */
function scopeConditions(key: string, query: ScopeQuery): ContentCondition[] {
  if (query.content == null && query.clientData == null) return [];
  if (auditStreamsOf(query.streams)) {
    throw errors.invalidOperation(`Scope "${key}": content queries ("content", "clientData") do not apply to the audit streams.`);
  }
  try {
    return parseContentConditions(query);
  } catch (err) {
    if (err instanceof PryvError) throw new PryvError(err.id, err.status, `Scope "${key}": ${err.message}`, err.data);
    throw err;
  }
}

/** Webhook `scopes` (spec §3.6): an object key → {kind, query}; checked for shape. */
export function parseNamedScopes(raw: unknown): NamedScopes {
  if (!isPlainObject(raw)) throw bad('"scopes" must be an object whose keys name scopes: {key: {kind, query}}.');
  const entries = Object.entries(raw);
  if (entries.length > MAX_SCOPES) throw bad(`At most ${MAX_SCOPES} scopes.`);
  const out: NamedScopes = {};
  for (const [key, value] of entries) out[checkKey(key)] = checkScope(key, value, undefined);
  return out;
}

/**
 * A socket `subscribe` payload (spec §6.1): one scope `{key, kind?, query}` or several
 * `{scopes: {key: {kind?, query}}}`; `kind` defaults to `events`.
 */
export function parseSubscribePayload(raw: unknown): NamedScopes {
  if (!isPlainObject(raw)) throw bad('subscribe expects {key, kind, query} or {scopes: {key: {kind, query}}}.');
  if (raw.scopes !== undefined) {
    if (!isPlainObject(raw.scopes)) throw bad('"scopes" must be an object whose keys name scopes: {key: {kind, query}}.');
    const entries = Object.entries(raw.scopes);
    if (entries.length === 0 || entries.length > MAX_SCOPES) throw bad(`"scopes" must name 1 to ${MAX_SCOPES} scopes.`);
    const out: NamedScopes = {};
    for (const [key, value] of entries) out[checkKey(key)] = checkScope(key, value, 'events');
    return out;
  }
  const key = checkKey(raw.key);
  return { [key]: checkScope(key, raw, 'events') };
}

/** An `unsubscribe` payload: `{key}`, `{keys: […]}` or `{all: true}`; the keys to drop (`'all'` for every one). */
export function parseUnsubscribePayload(raw: unknown): string[] | 'all' {
  if (!isPlainObject(raw)) throw bad('unsubscribe expects {key}, {keys: […]} or {all: true}.');
  if (raw.all === true) return 'all';
  if (raw.keys !== undefined) return stringArray(raw.keys, 'keys');
  if (raw.key !== undefined) return [checkKey(raw.key)];
  throw bad('unsubscribe expects {key}, {keys: […]} or {all: true}.');
}

/** What an access may read of the events, as `events.get` without a streams query decides it (trashed streams included). */
export function readableEventStreams(tree: StreamTree, permissions: AccessPermissions): StreamMatcher[] {
  return expandStreamsQueries(undefined, tree, permissions, { state: 'all' }).map(toMatcher);
}

/** A scope made ready to match changes, for one access over one version of the tree. */
export interface CompiledScope {
  key: string;
  kind: ScopeKind;
  events?: StreamMatcher[];
  /** Events scopes: which events count by their trash state, as `events.get`'s `state` (default `default`). */
  state?: EventsState;
  types?: string[];
  /** Events scopes: content conditions the event must meet (before or after the change). */
  conditions?: ContentCondition[];
  /** Streams and accesses scopes: the stream ids they name, subtrees included (undefined = all). */
  streamIds?: Set<string>;
  accessIds?: Set<string>;
  accessTypes?: Set<string>;
}

/**
 * Resolves a scope against the access and the tree, with the errors `events.get` would
 * give for its streams; accesses scopes need a personal access (they watch the lifecycle of
 * every access of the account). Throws on a scope the access may not hold.
 */
export function compileScope(
  key: string,
  scope: { kind: ScopeKind; query: ScopeQuery },
  tree: StreamTree,
  permissions: AccessPermissions,
): CompiledScope {
  const { kind, query } = scope;
  const out: CompiledScope = { key, kind };
  if (kind === 'accesses' && !permissions.isPersonal) throw errors.forbidden('Watching access changes requires a personal access.');
  // An events scope reads as an `events.get` query, whose state is `default` when not given.
  const state = kind === 'events' ? (query.state ?? 'default') : 'all';
  const expanded =
    query.streams === undefined && kind !== 'events'
      ? undefined
      : expandStreamsQueries(parseStreamsParam(query.streams), tree, permissions, { state });
  if (kind === 'events') {
    out.events = expanded!.map(toMatcher);
    out.state = state;
    if (query.types) out.types = query.types;
    const conditions = scopeConditions(key, query);
    if (conditions.length > 0) out.conditions = conditions;
  } else if (expanded) {
    out.streamIds = new Set(expanded.flatMap((q) => q.any));
  }
  if (kind === 'accesses') {
    if (query.accessIds) out.accessIds = new Set(query.accessIds);
    if (query.types) out.accessTypes = new Set(query.types);
  }
  return out;
}

/** Checks every scope against the caller's access and tree (subscribe, webhooks.create/update). */
export function checkScopesFor(scopes: NamedScopes, tree: StreamTree, permissions: AccessPermissions): void {
  for (const [key, scope] of Object.entries(scopes)) compileScope(key, scope, tree, permissions);
}

/** Whether a change (that the access may hear of) falls in a compiled scope. */
export function scopeMatches(scope: CompiledScope, change: ChangeDetail): boolean {
  if (scope.kind === 'events') {
    if (change.kind !== 'event') return false;
    return [change.before, change.after].some(
      (v) =>
        v !== undefined &&
        inEventsState(v, scope.state ?? 'default') &&
        matchesStreams(v.streamIds, scope.events!) &&
        (!scope.types || (v.type !== undefined && typeMatches(v.type, scope.types))) &&
        (!scope.conditions || meetsConditions(v, scope.conditions)),
    );
  }
  if (scope.kind === 'streams') {
    if (change.kind !== 'stream') return false;
    const named = scope.streamIds;
    return !named || named.has(change.id) || change.places.some((p) => typeof p === 'string' && named.has(p));
  }
  if (change.kind !== 'access') return false;
  if (scope.accessIds && !scope.accessIds.has(change.id)) return false;
  if (scope.accessTypes && (change.type === undefined || !scope.accessTypes.has(change.type))) return false;
  if (scope.streamIds && !change.streamIds.some((id) => scope.streamIds!.has(id))) return false;
  return true;
}
