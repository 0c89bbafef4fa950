import { errors } from '../../errors';
import { log } from '../../log';
import { countMetric, METRIC } from '../../metrics';
import { type EventDeletion, endTime, type StoredEvent } from '../../model/events';
import type { DataMeta, EventsState, ExpandedQuery } from '../../model/streams';
import { ALL_STREAMS, eventFromHead } from '../../store/events/items';
import { getEventHead, getHistory, type ReadStats, readChangesSince, readModifiedSince } from '../../store/events/read';
import { readByTime, type TimeSource } from '../../store/events/time-merge';
import type { EventState } from '../../store/keys';
import type { AccessPermissions } from '../accesses/permissions';
import { auditEventsGet, auditStreamsOf } from '../audit/log';
import type { Caller } from '../caller';
import { expandStreamsQueries, parseStreamsParam, streamsMatcher } from '../streams/query';
import type { StreamTree } from '../streams/tree';
import { isSystemStreamId } from '../system-streams/definitions';
import { ensureAccountEvents, withComputedValues } from '../system-streams/values';
import { loadUserData } from '../user-data';
import {
  AnswerCache,
  type AnswerWindow,
  answerCacheEnabled,
  answerKey,
  CHANGE_MARGIN_S,
  CHANGE_QUERY_LIMIT,
  touchesAnswer,
} from './answer-cache';
import { meetsConditions, parseContentConditions } from './content-query';
import { inEventsState, typeMatches } from './fields';
import { eventForReader, eventsForReader } from './read-view';
import { allRunning, runningBefore } from './running';

export const DEFAULT_LIMIT = 20; // spec §2.2.1, when no time bound is given
const DEFAULT_SPAN_S = 24 * 3600; // only toTime given: one day before it

export interface EventsGetParams {
  streams?: unknown;
  types?: string[];
  fromTime?: number;
  toTime?: number;
  sortAscending?: boolean;
  skip?: number;
  limit?: number;
  state?: EventsState;
  modifiedSince?: number;
  includeDeletions?: boolean;
  running?: boolean;
  tags?: string[];
  /** Content queries (stringified JSON over HTTP): see ./content-query.ts. */
  content?: unknown;
  clientData?: unknown;
}

/**
 * Which key ranges hold every event of the queries' `any` streams: a stream's partition
 * holds its own events (`d`) and its descendants' (`i`), so a whole subtree is two ranges;
 * when only part of a subtree is asked for, its parts are read instead. When (nearly) the
 * whole tree is asked for, the `*` partition holds everything. A stream without children
 * has an empty `i` range (copies follow the tree when streams move), which is not read.
 */
export function planSources(queries: ExpandedQuery[], tree: StreamTree, states: EventState[]): TimeSource[] {
  const any = new Set(queries.flatMap((q) => q.any));
  if (any.size === 0) return [];
  const excluded = new Set(queries.flatMap((q) => q.not));
  const everything = tree.ids().every((id) => any.has(id) || excluded.has(id) || tree.isTrashed(id));
  if (everything) return states.map((state) => ({ streamId: ALL_STREAMS, state, kind: 'i' as const }));

  const full = new Map<string, boolean>();
  const isFull = (id: string): boolean => {
    let known = full.get(id);
    if (known === undefined) {
      known = any.has(id) && tree.children(id).every((c) => isFull(c.id));
      full.set(id, known);
    }
    return known;
  };
  const touches = new Map<string, boolean>();
  const intersects = (id: string): boolean => {
    let known = touches.get(id);
    if (known === undefined) {
      known = any.has(id) || tree.children(id).some((c) => intersects(c.id));
      touches.set(id, known);
    }
    return known;
  };
  const out: Array<{ streamId: string; kind: 'd' | 'i' }> = [];
  const cover = (id: string): void => {
    if (isFull(id)) {
      out.push({ streamId: id, kind: 'd' });
      // `i` holds the descendants' events: a stream without children has none to read.
      if (tree.children(id).length > 0) out.push({ streamId: id, kind: 'i' });
      return;
    }
    if (any.has(id)) out.push({ streamId: id, kind: 'd' });
    for (const child of tree.children(id)) if (intersects(child.id)) cover(child.id);
  };
  for (const root of tree.roots()) if (intersects(root.id)) cover(root.id);
  // Account streams (expanded already, each event directly in its field's stream) are read by their own ranges.
  for (const id of any) if (isSystemStreamId(id) && !excluded.has(id)) out.push({ streamId: id, kind: 'd' });
  return states.flatMap((state) => out.map((s) => ({ ...s, state })));
}

const statesOf = (state: EventsState): EventState[] => (state === 'default' ? ['a'] : state === 'trashed' ? ['t'] : ['a', 't']);

/** What a read's streams parameter comes to for an access on a tree: matcher, key ranges, ids a wide read keeps. */
interface ReadPlan {
  matchesStreams: (eventStreamIds: readonly string[]) => boolean;
  sources: TimeSource[];
  wideStreams: string[];
}

/** Streams parameters longer than this are planned on every call, not kept beside the tree. */
const PLAN_KEY_MAX = 4096;

/**
 * The read plan of a streams parameter, state and access on a tree: it depends on nothing
 * else, so it is kept beside the tree (StreamTree.derived) and a warm call with the same
 * parameter and permissions costs what it reads, not a walk of the tree (an account's
 * thousand streams, a personal access's `*` naming every one of them). Invalid parameters
 * throw before anything is kept.
 */
export function readPlan(streams: unknown, state: EventsState, tree: StreamTree, permissions: AccessPermissions): ReadPlan {
  const build = (): ReadPlan => {
    const queries = expandStreamsQueries(parseStreamsParam(streams), tree, permissions, { state });
    return {
      matchesStreams: streamsMatcher(queries),
      sources: planSources(queries, tree, statesOf(state)),
      wideStreams: [...new Set(queries.flatMap((q) => q.any))],
    };
  };
  const param = streams === undefined ? '' : typeof streams === 'string' ? `s${streams}` : `j${JSON.stringify(streams)}`;
  if (param.length > PLAN_KEY_MAX) return build();
  return tree.derived(
    `events.get\u0000${permissions.key}\u0000${state}\u0000${param}`,
    build,
    (plan) => plan.wideStreams.length + plan.sources.length,
  );
}

export interface EventsGetResult {
  events: StoredEvent[];
  eventDeletions?: EventDeletion[];
  /** What changes would make the same read answer otherwise (./answer-cache.ts). */
  window: AnswerWindow;
}

/** `events.get` (spec §2.2.1): every read a key-range Query, filters applied in memory. */
export async function getEvents(
  u: string,
  params: EventsGetParams,
  data: { tree: StreamTree; permissions: AccessPermissions; meta: DataMeta },
  now: number,
  stats: ReadStats = { requests: 0, capacity: 0, items: 0 },
): Promise<EventsGetResult> {
  const state = params.state ?? 'default';
  const conditions = parseContentConditions(params);
  const { matchesStreams, sources, wideStreams } = readPlan(params.streams, state, data.tree, data.permissions);
  const states: EventState[] = statesOf(state);

  const hasFrom = params.fromTime !== undefined;
  const hasTo = params.toTime !== undefined;
  const to = hasTo ? params.toTime! : hasFrom ? now : Infinity;
  const from = hasFrom ? params.fromTime! : hasTo ? to - DEFAULT_SPAN_S : -Infinity;
  // A lower bound applies whenever one of the two is given (only toTime: one day before it).
  const bounded = hasFrom || hasTo;
  // limit 0 means no limit, as in Pryv (MongoDB's `limit(0)`), not "one event".
  const limit = params.limit === 0 ? undefined : (params.limit ?? (bounded ? undefined : DEFAULT_LIMIT));
  const skip = params.skip ?? 0;
  const ascending = params.sortAscending === true;

  const accept = (e: StoredEvent): boolean => {
    if (!inEventsState(e, state)) return false;
    if (!matchesStreams(e.streamIds)) return false;
    if (params.types && !typeMatches(e.type, params.types)) return false;
    if (params.tags && !(e as { tags?: string[] }).tags?.some((t) => params.tags!.includes(t))) return false;
    if (params.running === true && e.duration !== null) return false;
    if (e.time > to) return false;
    if (bounded && endTime(e) < from) return false;
    // Applied while reading, before skip and limit: the read stops once enough events match.
    if (conditions.length > 0 && !meetsConditions(e, conditions)) return false;
    return true;
  };

  const page = <T>(items: T[]): T[] => items.slice(skip, limit === undefined ? undefined : skip + limit);
  /** The answer's window over events sorted by `compare`: what was placed (skipped ones too), and where it stops. */
  const windowOf = (placed: StoredEvent[], compare: AnswerWindow['compare'], deletions: EventDeletion[] = []): AnswerWindow => ({
    accept,
    compare,
    ids: new Map<string, number | undefined>([
      ...deletions.map((d) => [d.id, undefined] as const),
      ...placed.map((e) => [e.id, e.modified] as const),
    ]),
    last: limit !== undefined && placed.length >= skip + limit ? placed[placed.length - 1] : undefined,
    listsDeletions: params.modifiedSince !== undefined && params.includeDeletions === true,
  });

  if (params.modifiedSince !== undefined) {
    const changes = await readModifiedSince(u, params.modifiedSince, stats);
    const byTimeOnly = (a: StoredEvent, b: StoredEvent) => (ascending ? a.time - b.time : b.time - a.time);
    const sorted = changes.events.filter(accept).sort(byTimeOnly);
    const placed = sorted.slice(0, limit === undefined ? undefined : skip + limit);
    const result: EventsGetResult = { events: page(sorted), window: windowOf(placed, byTimeOnly) };
    if (params.includeDeletions) {
      const deletions = [...changes.deletions].sort((a, b) => (ascending ? a.deleted - b.deleted : b.deleted - a.deleted));
      result.eventDeletions = page(deletions);
      result.window = windowOf(placed, byTimeOnly, deletions);
    }
    return result;
  }

  const byTime = (a: StoredEvent, b: StoredEvent) => (a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) * (ascending ? 1 : -1);
  if (params.running === true) {
    // Running events have their own small partition: no need to walk the time index for them.
    const sorted = (await allRunning(u, data.meta, stats)).filter(accept).sort(byTime);
    return { events: page(sorted), window: windowOf(sorted.slice(0, limit === undefined ? undefined : skip + limit), byTime) };
  }

  if (sources.length === 0) return { events: [], window: windowOf([], byTime) };
  // A period event overlapping `from` began at most maxDuration before it.
  const lower = bounded ? from - data.meta.maxDuration : -Infinity;
  // Running ones may be older still: read only when one may have begun before the range (./running.ts).
  const extra = bounded ? await runningBefore(u, lower, data.meta, stats) : undefined;
  // Filtered by streams alone, several ranges may also be read as the all-events range, whose
  // events `accept` filters down to the same answer: the store reads the cheaper of the two.
  const streamsOnly = !params.types && !params.tags && conditions.length === 0;
  const wide =
    streamsOnly && states.length === 1 && sources.length > 1 ? { streamId: ALL_STREAMS, state: states[0]!, kind: 'i' as const } : undefined;
  const events: StoredEvent[] = [];
  const placed: StoredEvent[] = [];
  for await (const event of readByTime(
    u,
    {
      sources,
      wide,
      // Only events in one of the queries' `any` streams can be kept: DynamoDB sends only those.
      wideStreams: wide ? wideStreams : undefined,
      range: { from: lower, to },
      ascending,
      want: limit === undefined ? undefined : skip + limit,
      accept,
      extra,
    },
    stats,
  )) {
    placed.push(event);
    if (placed.length <= skip) continue;
    events.push(event);
    if (limit !== undefined && events.length >= limit) break;
  }
  return { events, window: windowOf(placed, byTime) };
}

/**
 * `events.get` for a caller: the audit store's `:_audit:` streams (spec §2.10) are answered
 * from the audit log, everything else from the user's events as the access sees them.
 */
export async function getEventsFor(caller: Caller, params: EventsGetParams): Promise<Record<string, unknown>> {
  const auditStreams = auditStreamsOf(params.streams);
  if (auditStreams && (params.content != null || params.clientData != null)) {
    throw errors.invalidOperation('Content queries ("content", "clientData") do not apply to the audit streams.');
  }
  if (auditStreams) return { events: await auditEventsGet(caller.username, caller.access, auditStreams, params, caller.now) };
  const data = await loadUserData(caller);
  // An account registered before account events existed gets them on its first read.
  if (data.meta.accountEvents === undefined) await ensureAccountEvents(caller.username, data.meta);
  const result = await cachedOrRead(caller, params, data);
  const events = await withComputedValues(caller.username, result.events);
  const out: Record<string, unknown> = { events: await eventsForReader(caller.access, events) };
  if (result.eventDeletions) out.eventDeletions = result.eventDeletions;
  return out;
}

/** Answers of this container's recent reads (./answer-cache.ts). */
const answers = new AnswerCache<EventsGetResult>();

type CacheOutcome = 'hit' | 'changed' | 'overflow' | 'busy' | 'absent' | 'uncacheable';

/**
 * The answer of a read this container made before, when the change index shows nothing since
 * that touches it (one Query of at most CHANGE_QUERY_LIMIT changes); otherwise the read, kept
 * for next time. Usage and audit records are the call's, written as for any read.
 */
async function cachedOrRead(
  caller: Caller,
  params: EventsGetParams,
  data: { tree: StreamTree; permissions: AccessPermissions; meta: DataMeta },
): Promise<Omit<EventsGetResult, 'window'>> {
  const u = caller.username;
  const key = answerCacheEnabled()
    ? answerKey(u, caller.access, data.permissions, data.meta, params as Record<string, unknown>)
    : undefined;
  let outcome: CacheOutcome = 'uncacheable';
  if (key !== undefined) {
    const busy = answers.isBusy(u, caller.now);
    const kept = busy ? undefined : answers.get(key);
    if (busy) outcome = 'busy';
    else if (!kept) outcome = 'absent';
    else {
      const changes = await readChangesSince(u, kept.t0 - CHANGE_MARGIN_S, CHANGE_QUERY_LIMIT, { requests: 0, capacity: 0, items: 0 });
      if (changes.more) {
        outcome = 'overflow';
        answers.markBusy(u, caller.now);
        // Its t0 would keep those changes in every later check: read afresh once the user is quiet.
        answers.delete(key);
      } else if (touchesAnswer(changes, kept.window)) outcome = 'changed';
      else {
        // Checked now against every change a read now would see: the answer holds as of this call's `now`.
        if (caller.now > kept.t0) kept.t0 = caller.now;
        countMetric(METRIC.eventsAnswerHits);
        log.debug('events.get answer', { cache: 'hit', changesSeen: changes.events.length + changes.deletions.length });
        return kept.value;
      }
    }
  }
  const result = await getEvents(u, params, data, caller.now);
  // Not kept when read while event copies may still be rewritten without a new `modified`, nor
  // while the user's changes overflow the check (reads skip the kept answers until then: sizing
  // and keeping each answer would be work for nothing).
  const keep = outcome === 'absent' || outcome === 'changed';
  if (key !== undefined && keep && caller.now > (data.meta.rewritesUntil ?? -Infinity)) {
    const bytes = JSON.stringify(result.events).length + (result.eventDeletions ? JSON.stringify(result.eventDeletions).length : 0);
    answers.set(key, { t0: caller.now, value: result, window: result.window }, bytes);
  }
  if (outcome !== 'uncacheable') countMetric(METRIC.eventsAnswerMisses);
  log.debug('events.get answer', { cache: outcome });
  return result;
}

/** `events.getOne`: the event (or its deletion), with its previous versions if asked. */
export async function getOneEvent(caller: Caller, id: string, includeHistory: boolean): Promise<Record<string, unknown>> {
  const { head, deletion } = await getEventHead(caller.username, id);
  if (deletion) return { event: deletion };
  if (!head) throw errors.unknownResource('event', id);
  const { permissions } = await loadUserData(caller);
  if (!permissions.canReadEvent(head.streamIds)) throw errors.forbidden('You cannot read this event with the given access.');
  const [event] = await withComputedValues(caller.username, [eventFromHead(head)]);
  const result: Record<string, unknown> = { event: await eventForReader(caller.access, event!) };
  if (includeHistory) {
    result.history = await eventsForReader(
      caller.access,
      (await getHistory(caller.username, id)).map((v) => ({ ...v, id })),
    );
  }
  return result;
}
