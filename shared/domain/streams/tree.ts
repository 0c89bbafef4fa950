import type { StoredStream, StreamsState } from '../../model/streams';

/** A stream as the API shows it without `children` (streams.create / streams.update results). */
export interface ApiStreamFields {
  id: string;
  name: string;
  parentId: string | null;
  clientData?: Record<string, unknown>;
  /** Present only when `true` (spec §3 output conventions). */
  trashed?: true;
  created?: number;
  createdBy?: string;
  modified?: number;
  modifiedBy?: string;
}

/** A stream as `streams.get` shows it: nested, siblings ordered by name. */
export interface ApiStream extends ApiStreamFields {
  children: ApiStream[];
}

/** Options of {@link StreamTree.toApiForest}. */
export interface ApiForestOptions {
  /** `null`/absent = the whole accessible forest; an id = the (accessible) streams below it. */
  parentId?: string | null;
  /** `default` hides trashed streams and their whole subtrees; `all` shows everything. */
  state?: StreamsState;
  /** Whether the caller may list a stream (from the permissions); default: everything. */
  isListable?: (id: string) => boolean;
}

/** Siblings order: by name (UTF-16 code units, like a binary collation), then by id. */
function compareStreams(a: { id: string; name: string }, b: { id: string; name: string }): number {
  const an = String(a.name ?? '');
  const bn = String(b.name ?? '');
  if (an !== bn) return an < bn ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * A stream as the API shows it, without `children`: null/undefined properties omitted,
 * `parentId` always present (`null` on roots), `trashed` only when `true` (spec §3).
 * `parentId` can be overridden (roots of a permission-limited forest show `null`).
 */
export function streamForApi(stream: StoredStream, parentId: string | null = stream.parentId ?? null): ApiStreamFields {
  const out: ApiStreamFields = { id: stream.id, name: stream.name, parentId };
  if (stream.clientData !== null && stream.clientData !== undefined) out.clientData = stream.clientData;
  if (stream.trashed === true) out.trashed = true;
  if (stream.created !== null && stream.created !== undefined) out.created = stream.created;
  if (stream.createdBy !== null && stream.createdBy !== undefined) out.createdBy = stream.createdBy;
  if (stream.modified !== null && stream.modified !== undefined) out.modified = stream.modified;
  if (stream.modifiedBy !== null && stream.modifiedBy !== undefined) out.modifiedBy = stream.modifiedBy;
  return out;
}

/** What the values derived from one tree may hold: this many times its ids (plus a floor for small trees). */
const DERIVED_BUDGET_TREES = 8;
const DERIVED_BUDGET_FLOOR = 200;
/** And at most this many values (accesses and reads in use on one tree). */
const DERIVED_MAX_VALUES = 256;

/**
 * The user's stream tree, built from the flat stored list (any order). Immutable.
 *
 * Malformed data is handled defensively, so every method terminates:
 * - a duplicate id: the first occurrence wins;
 * - a `parentId` pointing to a missing stream (or to itself): the stream is treated as a root;
 * - a parent cycle (a → b → a): the cycle is broken at its smallest id (by code units),
 *   which is treated as a root; the rest of the cycle hangs below it.
 * {@link parentOf} gives this *effective* parent; the stored `parentId` is left untouched.
 */
export class StreamTree {
  private readonly byId = new Map<string, StoredStream>();
  private readonly parent = new Map<string, string | null>();
  /** Effective children, sorted by name; key `null` = roots. */
  private readonly kids = new Map<string | null, StoredStream[]>();
  /** Ids trashed themselves or below a trashed stream. */
  private readonly trashedEffective = new Set<string>();

  constructor(streams: readonly StoredStream[]) {
    for (const s of streams) {
      if (!s || typeof s.id !== 'string' || this.byId.has(s.id)) continue;
      this.byId.set(s.id, s);
    }
    for (const [id, s] of this.byId) {
      const p = s.parentId;
      this.parent.set(id, typeof p === 'string' && p !== id && this.byId.has(p) ? p : null);
    }
    this.breakCycles();
    for (const [id, p] of this.parent) {
      const list = this.kids.get(p);
      const s = this.byId.get(id)!;
      if (list) list.push(s);
      else this.kids.set(p, [s]);
    }
    for (const list of this.kids.values()) list.sort(compareStreams);
    // Effective trashed state, top-down.
    const stack: Array<[string, boolean]> = this.roots().map((s) => [s.id, false]);
    while (stack.length > 0) {
      const [id, above] = stack.pop()!;
      const trashed = above || this.byId.get(id)!.trashed === true;
      if (trashed) this.trashedEffective.add(id);
      for (const c of this.kids.get(id) ?? []) stack.push([c.id, trashed]);
    }
  }

  private breakCycles(): void {
    const state = new Map<string, 1 | 2>(); // 1 = on the current walk, 2 = done
    for (const start of this.byId.keys()) {
      if (state.has(start)) continue;
      const path: string[] = [];
      let cur: string | null = start;
      while (cur !== null && !state.has(cur)) {
        state.set(cur, 1);
        path.push(cur);
        cur = this.parent.get(cur) ?? null;
      }
      if (cur !== null && state.get(cur) === 1) {
        const cycle = path.slice(path.indexOf(cur));
        let breaker = cycle[0]!;
        for (const id of cycle) if (id < breaker) breaker = id;
        this.parent.set(breaker, null);
      }
      for (const id of path) state.set(id, 2);
    }
  }

  /**
   * What calls derive from this tree and a key alone (an access's resolved permissions, a
   * read's expanded streams and key ranges): a tree is immutable and, cached, shared by every
   * warm call of its version, so a warm call finds them here instead of walking the tree.
   * Bounded by the ids the values hold (`weight`, plus their keys' length): at most a few times
   * the tree's size, and DERIVED_MAX_VALUES values.
   */
  private readonly derivedValues = new Map<string, { value: unknown; weight: number }>();
  private derivedWeight = 0;

  /** The value `build` gives for this tree and `key`, built on the first call (see derivedValues). */
  derived<T>(key: string, build: () => T, weight: (value: T) => number = () => this.size): T {
    const known = this.derivedValues.get(key);
    if (known) return known.value as T;
    const value = build();
    // Keys come from requests (a streams parameter): their length counts too.
    const w = Math.max(1, weight(value)) + Math.ceil(key.length / 64);
    const budget = DERIVED_BUDGET_TREES * (this.size + DERIVED_BUDGET_FLOOR);
    if (w > budget) return value;
    this.derivedValues.set(key, { value, weight: w });
    this.derivedWeight += w;
    // Oldest first out: the keys of accesses and reads no longer used go.
    for (const [oldest, entry] of this.derivedValues) {
      if (this.derivedWeight <= budget && this.derivedValues.size <= DERIVED_MAX_VALUES) break;
      this.derivedValues.delete(oldest);
      this.derivedWeight -= entry.weight;
    }
    return value;
  }

  /** Number of streams. */
  get size(): number {
    return this.byId.size;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get(id: string): StoredStream | undefined {
    return this.byId.get(id);
  }

  /** Effective parent id (see class doc); `null` for roots, `undefined` for an unknown id. */
  parentOf(id: string): string | null | undefined {
    return this.parent.get(id);
  }

  /** Direct children of a stream (`null` = the roots), sorted by name. Unknown id → `[]`. */
  children(id: string | null): StoredStream[] {
    return [...(this.kids.get(id) ?? [])];
  }

  /** Root streams, sorted by name. */
  roots(): StoredStream[] {
    return this.children(null);
  }

  /** Ancestor ids, parent first, up to the root; excludes `id`. Unknown id → `[]`. */
  ancestors(id: string): string[] {
    const out: string[] = [];
    let cur = this.parent.get(id) ?? null;
    while (cur !== null) {
      out.push(cur);
      cur = this.parent.get(cur) ?? null;
    }
    return out;
  }

  /** All ids below `id` (depth-first, siblings by name); excludes `id`. Unknown id → `[]`. */
  descendants(id: string): string[] {
    if (!this.byId.has(id)) return [];
    return this.walk(this.kids.get(id) ?? []);
  }

  /** `id` followed by its descendants. Unknown id → `[]`. */
  subtree(id: string): string[] {
    if (!this.byId.has(id)) return [];
    return [id, ...this.descendants(id)];
  }

  /** Every id, depth-first from the roots, siblings by name. */
  ids(): string[] {
    return this.walk(this.kids.get(null) ?? []);
  }

  /** Depth-first pre-order ids of the given streams and everything below them. */
  private walk(start: readonly StoredStream[]): string[] {
    const out: string[] = [];
    const stack = [...start].reverse();
    while (stack.length > 0) {
      const s = stack.pop()!;
      out.push(s.id);
      const c = this.kids.get(s.id);
      if (c) for (let i = c.length - 1; i >= 0; i--) stack.push(c[i]!);
    }
    return out;
  }

  /** The stream or one of its ancestors is trashed. Unknown id → `false`. */
  isTrashed(id: string): boolean {
    return this.trashedEffective.has(id);
  }

  /** Moving `id` under `newParentId` would make it its own ancestor. `null` never does. */
  wouldCreateCycle(id: string, newParentId: string | null): boolean {
    if (newParentId === null) return false;
    if (newParentId === id) return true;
    return this.ancestors(newParentId).includes(id);
  }

  /**
   * The nested `streams.get` answer (spec §2.3).
   *
   * A stream appears when it is listable and (state `default`) neither it nor an ancestor
   * is trashed. Its `children` are its direct children that appear. A stream that appears
   * but whose parent does not (parent not listable, or above the requested `parentId`)
   * becomes a root of the answer with `parentId: null` — except the direct children of the
   * requested `parentId`, which keep it. With state `default`, a trashed `parentId` has no
   * visible children (its subtree is trashed). Unknown `parentId` → `[]` (the caller
   * reports the error). Answer roots and siblings are sorted by name.
   */
  toApiForest(options: ApiForestOptions = {}): ApiStream[] {
    const start = options.parentId ?? null;
    const showTrashed = options.state === 'all';
    const isListable = options.isListable ?? (() => true);
    if (start !== null && !this.byId.has(start)) return [];

    interface Frame {
      id: string;
      /** The `children` array of the nearest shown ancestor; `null` = answer root. */
      container: ApiStream[] | null;
      trashedAbove: boolean;
    }
    const top: ApiStream[] = [];
    const startTrashed = start !== null && this.isTrashed(start);
    const first = this.kids.get(start) ?? [];
    const stack: Frame[] = [];
    for (let i = first.length - 1; i >= 0; i--) stack.push({ id: first[i]!.id, container: null, trashedAbove: startTrashed });

    while (stack.length > 0) {
      const f = stack.pop()!;
      const s = this.byId.get(f.id)!;
      const trashed = f.trashedAbove || s.trashed === true;
      if (trashed && !showTrashed) continue; // the whole subtree is hidden
      let container: ApiStream[] | null = null;
      if (isListable(f.id)) {
        const effectiveParent = this.parent.get(f.id) ?? null;
        const parentId = f.container !== null ? effectiveParent : start !== null && effectiveParent === start ? start : null;
        const node: ApiStream = { ...streamForApi(s, parentId), children: [] };
        (f.container ?? top).push(node);
        container = node.children;
      }
      const c = this.kids.get(f.id);
      if (c) for (let i = c.length - 1; i >= 0; i--) stack.push({ id: c[i]!.id, container, trashedAbove: trashed });
    }
    top.sort(compareStreams);
    return top;
  }
}
