import { errors } from '../../errors';
import { RESERVED_IDS } from '../../ids';
import type { EventsState, ExpandedQuery, StreamsQuery } from '../../model/streams';
import type { AccessPermissions } from '../accesses/permissions';
import {
  hiddenAccountFields,
  isKnownSystemStream,
  isSystemStreamId,
  shownSubtree,
  shownSystemStreams,
  systemStream,
} from '../system-streams/definitions';
import type { StreamTree } from './tree';

/** Characters never allowed in stream ids of queries/permissions (spec §8): `"` `'` `\` NUL `\b` `\t` `\n` `\r` `\x1a`. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these control characters are the ones refused
export const FORBIDDEN_STREAM_ID_CHARS = /["'\\\u0000\u0008\u0009\u000a\u000d\u001a]/;

export function hasForbiddenChars(id: string): boolean {
  return FORBIDDEN_STREAM_ID_CHARS.test(id);
}

/** A usable stream id: a non-empty string without forbidden characters, not `null`/`undefined`/`*`. */
export function isValidStreamId(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && !hasForbiddenChars(id) && !RESERVED_IDS.has(id);
}

/**
 * RFC 3986-style slug for client-chosen stream ids (and access tokens), case kept:
 * accents are dropped (`é` → `e`, via Unicode NFKD), every run of characters outside
 * the unreserved set `[A-Za-z0-9-._~]` (spaces included) becomes one `-`, repeated `-`
 * collapse to one, and leading/trailing `-` are trimmed. May return `""` (e.g. for
 * `"!!!"`): the caller must then refuse the id or generate one.
 */
export function slugifyStreamId(id: string): string {
  return id
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9\-._~]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** Without the trailing `!` ("this stream, not its descendants"). */
function baseId(id: string): string {
  return id.endsWith('!') ? id.slice(0, -1) : id;
}

/**
 * The store a stream id belongs to (spec §3.7): `:{storeId}:{itemId}` ids belong to
 * `storeId`, except the local system prefixes `:_system:`/`:system:`; everything else
 * (and `*`) is `local`.
 */
export function storeIdOf(id: string): string {
  const base = baseId(id);
  if (!base.startsWith(':')) return 'local';
  const end = base.indexOf(':', 1);
  if (end < 0) return 'local';
  const store = base.slice(1, end);
  return store === '_system' || store === 'system' ? 'local' : store;
}

const bad = (message: string) => errors.invalidRequestStructure(message);

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkId(id: unknown, where: string): string {
  if (typeof id !== 'string') throw bad(`Streams query: "${where}" must contain only stream id strings.`);
  const base = baseId(id);
  if (base.length === 0) throw bad(`Streams query: empty stream id in "${where}".`);
  if (hasForbiddenChars(base)) {
    throw bad(`Streams query: stream id ${JSON.stringify(id)} contains a forbidden character (one of " ' \\ NUL \\b \\t \\n \\r \\x1a).`);
  }
  if (base === '#*') throw bad('Streams query: "#*" is not supported.');
  if (base === '*' && id !== '*') throw bad('Streams query: "*" cannot be suffixed with "!".');
  if (base === '*' && where !== 'any') throw bad(`Streams query: "*" is only allowed in "any", not in "${where}".`);
  return id;
}

function checkIdList(value: unknown, where: 'any' | 'all' | 'not'): string[] {
  if (!Array.isArray(value)) throw bad(`Streams query: "${where}" must be an array of stream ids.`);
  if (where === 'any' && value.length === 0) throw bad('Streams query: "any" must not be empty.');
  return value.map((id) => checkId(id, where));
}

function checkQuery(q: Record<string, unknown>): StreamsQuery {
  for (const key of Object.keys(q)) {
    if (key !== 'any' && key !== 'all' && key !== 'not') {
      throw bad(`Streams query: unknown property "${key}" (allowed: "any", "all", "not").`);
    }
  }
  if (q.any === undefined) throw bad('Streams query: "any" is required.');
  const any = checkIdList(q.any, 'any');
  const all = q.all === undefined ? undefined : checkIdList(q.all, 'all');
  const not = q.not === undefined ? undefined : checkIdList(q.not, 'not');
  if (any.includes('*')) {
    if (any.length > 1) throw bad('Streams query: "*" must be alone in "any".');
    if (all && all.length > 0) throw bad('Streams query: "*" cannot be combined with "all".');
  }
  const stores = new Set([...any, ...(all ?? []), ...(not ?? [])].map(storeIdOf));
  if (stores.size > 1) throw bad('Streams query: all streams of one query must belong to the same store.');
  const out: StreamsQuery = { any };
  if (all !== undefined) out.all = all;
  if (not !== undefined) out.not = not;
  return out;
}

function parseValue(value: unknown): StreamsQuery[] {
  if (typeof value === 'string') return [checkQuery({ any: [value] })];
  if (Array.isArray(value)) {
    if (value.length === 0) throw bad('Streams query: the "streams" array must not be empty.');
    if (value.every((v) => typeof v === 'string')) return [checkQuery({ any: value })];
    if (value.every(isPlainObject)) return value.map((q) => checkQuery(q as Record<string, unknown>));
    if (value.some((v) => typeof v === 'string') && value.some(isPlainObject)) {
      throw bad('Streams query: the "streams" array cannot mix stream ids and query objects.');
    }
    throw bad('Streams query: the "streams" array must contain either stream ids or query objects.');
  }
  if (isPlainObject(value)) return [checkQuery(value)];
  throw bad(
    'Streams query: "streams" must be a stream id, an array of stream ids, a query object ({any, all?, not?}) or an array of query objects.',
  );
}

/**
 * Parses and validates the `streams` parameter of `events.get` (spec §2.2.1).
 * - `undefined` → `undefined` (all accessible streams);
 * - a string starting with `[` or `{` (HTTP query strings) → parsed as JSON
 *   (invalid JSON → 400), then as below; any other string → one stream id;
 * - an array of ids (also a repeated HTTP param) → `[{any: ids}]`;
 * - a query object → `[query]`; an array of query objects → OR of them.
 * Every failure is `400 invalid-request-structure`. `null`, `[]` and other types are refused.
 * The result keeps ids as given (trailing `!` included) and omits absent `all`/`not`.
 */
export function parseStreamsParam(raw: unknown): StreamsQuery[] | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw === 'string' && (raw.startsWith('[') || raw.startsWith('{'))) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw bad('Streams query: the "streams" parameter starts with "[" or "{" but is not valid JSON.');
    }
    return parseValue(parsed);
  }
  return parseValue(raw);
}

function dedupe(ids: Iterable<string>): string[] {
  return [...new Set(ids)];
}

/**
 * Resolves parsed streams queries into concrete stream ids for an access (spec §2.2.1).
 *
 * - `undefined` queries = `[{any: ["*"]}]`.
 * - Every `any` id (without `!`, other than `*`) must exist in the tree — otherwise
 *   `400 unknown-referenced-resource` with `data.streams` = all unknown ids of all queries —
 *   and be readable (read/contribute/manage) — otherwise `403 forbidden`. Unknown ids are
 *   reported before unreadable ones.
 * - `*`: for a personal access or a readable `*` permission, every root of the tree; else
 *   the access's readable roots ({@link AccessPermissions.readableRoots}); each is then expanded.
 * - Expansion: an id is replaced by its subtree, or by itself alone with a trailing `!`.
 *   With state `default`, trashed streams and their subtrees are excluded from the
 *   expansion of `any` and `all` (spec §2.2.1): a named stream that is trashed, or below a
 *   trashed stream, expands to nothing (it still has to exist and be readable); trashed
 *   streams below a named stream are dropped with their subtrees; roots implied by `*` are
 *   dropped likewise, as in `streams.get`. States `trashed`/`all` expand everything. `not`
 *   is always fully expanded.
 * - `all`/`not` ids are not permission-checked; an unknown id there is not an error: it
 *   stands for itself (no descendants), so an unknown `all` id makes the query match
 *   only events carrying that id, an unknown `not` id excludes only such events.
 * - `not` also gets every stream the access cannot read (`none`/`create-only`,
 *   {@link AccessPermissions.unreadableStreams}); ids in `not` are removed from `any`
 *   (equivalent for matching), so `any` may end up empty, which matches nothing.
 */
export function expandStreamsQueries(
  queries: StreamsQuery[] | undefined,
  tree: StreamTree,
  permissions: AccessPermissions,
  options: { state: EventsState },
): ExpandedQuery[] {
  const list: StreamsQuery[] = queries ?? [{ any: ['*'] }];

  const unknown: string[] = [];
  for (const q of list) {
    for (const id of q.any) {
      const base = baseId(id);
      if (base !== '*' && !tree.has(base) && !isKnownSystemStream(base) && !unknown.includes(base)) unknown.push(base);
    }
  }
  if (unknown.length > 0) throw errors.unknownReferencedResource('stream(s)', { streams: unknown });

  const unreadableNamed: string[] = [];
  for (const q of list) {
    for (const id of q.any) {
      const base = baseId(id);
      if (base !== '*' && !permissions.canReadEvents(base) && !unreadableNamed.includes(base)) unreadableNamed.push(base);
    }
  }
  if (unreadableNamed.length > 0) {
    throw errors.forbidden(`You do not have permission to read events of stream(s) ${unreadableNamed.map((id) => `"${id}"`).join(', ')}.`);
  }

  const prune = options.state === 'default';

  /**
   * Subtree of `id` (or just `id` with `!`). When pruning, trashed streams are skipped with
   * their subtrees: a named stream that is trashed, or below a trashed stream, expands to
   * nothing (spec §2.2.1; v1 intersects the query with the non-trashed tree).
   */
  const expand = (id: string, pruneTrashed: boolean): string[] => {
    const base = baseId(id);
    // Account system streams (Pryv API reference §7) expand along their own tree, hidden ones left out.
    if (isSystemStreamId(base)) return id.endsWith('!') || !isKnownSystemStream(base) ? [base] : shownSubtree(base);
    if (pruneTrashed && tree.has(base) && tree.isTrashed(base)) return [];
    if (id.endsWith('!') || !tree.has(base)) return [base];
    if (!pruneTrashed) return tree.subtree(base);
    const out: string[] = [];
    const stack = [base];
    while (stack.length > 0) {
      const cur = stack.pop()!;
      out.push(cur);
      const kids = tree.children(cur);
      for (let i = kids.length - 1; i >= 0; i--) if (kids[i]!.trashed !== true) stack.push(kids[i]!.id);
    }
    return out;
  };

  // `*` covers account streams only where the access reads them: shown ones for the personal
  // access, explicitly granted ones for others (never through the `*` permission).
  const readableSystemRoots = shownSystemStreams().filter((id) => {
    if (!permissions.canReadEvents(id)) return false;
    const parent = systemStream(id)?.parentId ?? null;
    return parent === null || !permissions.canReadEvents(parent);
  });
  const starRoots = (): string[] => {
    const roots = permissions.hasReadableStar() ? tree.roots().map((s) => s.id) : permissions.readableRoots(tree);
    return [...(prune ? roots.filter((id) => !tree.isTrashed(id)) : roots), ...readableSystemRoots];
  };

  // Hidden account fields are never read, whoever asks (their values carry the shown helper marks).
  const unreadable = [...permissions.unreadableStreams(), ...hiddenAccountFields()];
  return list.map((q) => {
    const notIds = dedupe([...(q.not ?? []).flatMap((id) => expand(id, false)), ...unreadable]);
    const notSet = new Set(notIds);
    const anySources = q.any.flatMap((id) => (id === '*' ? starRoots() : [id]));
    const any = dedupe(anySources.flatMap((id) => expand(id, prune))).filter((id) => !notSet.has(id));
    const all = (q.all ?? []).map((id) => dedupe(expand(id, prune)));
    return { any, all, not: notIds };
  });
}

/** Reference semantics of one expanded query: in some `any` id, in each `all` set, in no `not` id. */
export function eventMatches(eventStreamIds: readonly string[], q: ExpandedQuery): boolean {
  const ids = new Set(eventStreamIds);
  if (!q.any.some((id) => ids.has(id))) return false;
  if (!q.all.every((set) => set.some((id) => ids.has(id)))) return false;
  return !q.not.some((id) => ids.has(id));
}

/** An event matches a list of expanded queries when it matches at least one (OR). */
export function eventMatchesAny(eventStreamIds: readonly string[], qs: readonly ExpandedQuery[]): boolean {
  return qs.some((q) => eventMatches(eventStreamIds, q));
}

/** Expanded queries' ids as sets: what matching many events against the same queries needs. */
export interface StreamMatcher {
  any: Set<string>;
  all: Array<Set<string>>;
  not: Set<string>;
}

/** One expanded query as sets, built once for the events it is matched against. */
export const toMatcher = (q: ExpandedQuery): StreamMatcher => ({
  any: new Set(q.any),
  all: q.all.map((s) => new Set(s)),
  not: new Set(q.not),
});

/**
 * eventMatchesAny on matchers: an event costs its own stream ids' lookups, not a walk of every
 * id the queries name (a personal access's `*` names every stream of the tree).
 */
export function matchesStreams(streamIds: readonly string[], matchers: readonly StreamMatcher[]): boolean {
  return matchers.some(
    (m) =>
      streamIds.some((id) => m.any.has(id)) &&
      m.all.every((set) => streamIds.some((id) => set.has(id))) &&
      !streamIds.some((id) => m.not.has(id)),
  );
}

/** eventMatchesAny for many events against the same queries, their sets built once. */
export function streamsMatcher(qs: readonly ExpandedQuery[]): (eventStreamIds: readonly string[]) => boolean {
  const matchers = qs.map(toMatcher);
  return (ids) => matchesStreams(ids, matchers);
}
