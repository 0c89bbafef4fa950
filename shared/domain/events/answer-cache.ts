import { LIMITS } from '../../limits';
import type { Access } from '../../model/accesses';
import type { EventDeletion, StoredEvent } from '../../model/events';
import type { DataMeta } from '../../model/streams';
import { markEventRewrites } from '../../store/streams';
import type { AccessPermissions } from '../accesses/permissions';

/**
 * `events.get` answers kept per container and checked against the change index (`EM#`,
 * one item per event's latest version or tombstone, keyed by `modified` / `deleted`)
 * instead of read again. Why it holds (test/bench/FINDINGS.md §17 has the whole argument):
 *
 * - An entry is read at t0 (the call's `now`, before any of its Queries); it depends on the
 *   account's event items and on what its key names (user, access, permissions, tree
 *   version, the data meta fields the plan uses, every parameter), nothing else.
 * - Every write of event items puts the event's change-index copy with a `modified` (or
 *   `deleted`) taken from its call's `now`, and a call commits at most LIMITS.apiCallSeconds
 *   after it: a change committed after t0 has `modified` > t0 − CHANGE_MARGIN_S. The writes
 *   that keep an older `modified` (re-indexing after a stream move, imports) first raise the
 *   data meta's `rewritesUntil` past their end; it is part of the key, and an entry is only
 *   kept when read after it.
 * - So the next identical read Queries the changes after t0 − CHANGE_MARGIN_S; the answer
 *   still holds unless one of them touches it ({@link touchesAnswer}).
 */

/** How far before an answer's t0 a change it missed may be dated (see above). */
export const CHANGE_MARGIN_S = LIMITS.apiCallSeconds + LIMITS.clockSkewSeconds;

/** Changes read to check one answer: more than this, and the read is made as if nothing were kept. */
export const CHANGE_QUERY_LIMIT = 25;

/** Bounds of what one container keeps (entries; bytes of the answers as JSON). */
const MAX_ENTRIES = 2_000;
const MAX_BYTES = 24 * 1024 * 1024;
/** An answer larger than this is not kept (it would push out many small ones). */
const MAX_ENTRY_BYTES = 2 * 1024 * 1024;

/** What a read's answer is, as far as changes can touch it. */
export interface AnswerWindow {
  /** Whether an event version (as stored) is one the read would return, bounds aside. */
  accept: (e: StoredEvent) => boolean;
  /** The answer's order (negative: `a` comes first). */
  compare: (a: StoredEvent, b: StoredEvent) => number;
  /**
   * Every event the read placed (those `skip` passed over included) by id, with the
   * `modified` of the version placed; the deletions it returned, without.
   */
  ids: Map<string, number | undefined>;
  /** The last event placed, when the read stopped at its limit: events sorting after it are outside the answer. */
  last?: StoredEvent;
  /** Whether new deletions belong in the answer (`modifiedSince` with `includeDeletions`). */
  listsDeletions: boolean;
}

/**
 * Whether a change found after an answer was read can make the same read answer otherwise:
 * another version or a deletion of an event it placed, a version it would accept sorting
 * inside it, a deletion when it lists deletions. Anything else changes events the read
 * neither placed nor would place. The very version the answer holds (same id, same
 * `modified`: each write of an event gives it a later one, shared/domain/concurrency.ts
 * nextModified) is no change: an answer holding recent writes is not read again for them.
 */
export function touchesAnswer(changes: { events: StoredEvent[]; deletions: EventDeletion[] }, window: AnswerWindow): boolean {
  for (const d of changes.deletions) if (window.listsDeletions || window.ids.has(d.id)) return true;
  for (const e of changes.events) {
    if (window.ids.has(e.id)) {
      if (window.ids.get(e.id) === e.modified) continue;
      return true;
    }
    if (!window.accept(e)) continue;
    if (!window.last || window.compare(e, window.last) <= 0) return true;
  }
  return false;
}

export interface CachedAnswer<T> {
  /** Time the answer holds as of (a call's `now` before its reads, or that of a later check). */
  t0: number;
  value: T;
  window: AnswerWindow;
  bytes: number;
}

/** Whether answers are kept: on unless EVENTS_ANSWER_CACHE=off (README "Configuration"). */
export const answerCacheEnabled = (): boolean => process.env.EVENTS_ANSWER_CACHE !== 'off';

/** JSON with object keys sorted: equal parameters give equal strings whatever order they came in. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Keys longer than this (huge parameters) are not kept. */
const MAX_KEY_LENGTH = 8 * 1024;

/**
 * The key of a read: everything its answer depends on. Undefined when the read may not be
 * kept: its upper bound moves with "now" (`fromTime` without `toTime`: events dated between
 * two calls' `now` enter the answer with no change), or the key is too long.
 */
export function answerKey(
  u: string,
  access: Pick<Access, 'id'>,
  permissions: Pick<AccessPermissions, 'key'>,
  meta: DataMeta,
  params: Record<string, unknown>,
): string | undefined {
  if (params.fromTime !== undefined && params.toTime === undefined) return undefined;
  const key = stableJson([
    u,
    access.id,
    permissions.key,
    meta.treeVersion ?? null,
    meta.maxDuration,
    meta.runningFrom ?? null,
    meta.runningKnown ?? false,
    meta.rewritesUntil ?? null,
    params,
  ]);
  return key.length > MAX_KEY_LENGTH ? undefined : key;
}

/** Answers kept by key, least recently used first out, within MAX_ENTRIES and MAX_BYTES. */
export class AnswerCache<T> {
  private readonly entries = new Map<string, CachedAnswer<T>>();
  private bytes = 0;
  /** Users whose changes overflowed a check recently: until when their reads skip the check. */
  private readonly busy = new Map<string, number>();

  constructor(
    private readonly maxEntries = MAX_ENTRIES,
    private readonly maxBytes = MAX_BYTES,
  ) {}

  get(key: string): CachedAnswer<T> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  /** Keeps an answer read at t0 (when its size allows; `rewritesUntil` is checked by the caller). */
  set(key: string, entry: Omit<CachedAnswer<T>, 'bytes'>, bytes: number): void {
    this.delete(key);
    if (bytes > MAX_ENTRY_BYTES) return;
    this.entries.set(key, { ...entry, bytes });
    this.bytes += bytes;
    while (this.entries.size > this.maxEntries || this.bytes > this.maxBytes) {
      const oldest = this.entries.keys().next().value as string;
      this.delete(oldest);
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }

  /** Marks a user whose changes overflowed a check: for CHANGE_MARGIN_S, checking again would overflow as well. */
  markBusy(u: string, now: number): void {
    if (this.busy.size >= this.maxEntries) this.busy.clear();
    this.busy.set(u, now + CHANGE_MARGIN_S);
  }

  isBusy(u: string, now: number): boolean {
    const until = this.busy.get(u);
    if (until === undefined) return false;
    if (until > now) return true;
    this.busy.delete(u);
    return false;
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }
}

/**
 * Before writing event copies that keep their `modified` for up to `runSeconds` (the
 * writer's function timeout) from `now`: cached answers of the user are no longer used,
 * and none read before that time is kept (DataMeta.rewritesUntil).
 */
export function beforeRewritingEvents(u: string, now: number, runSeconds: number): Promise<void> {
  return markEventRewrites(u, now + runSeconds + LIMITS.clockSkewSeconds);
}
