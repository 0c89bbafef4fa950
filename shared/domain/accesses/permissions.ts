import { errors } from '../../errors';
import type { Access, AccessType, Permission } from '../../model/accesses';
import type { Level } from '../../model/streams';
import type { StreamTree } from '../streams/tree';
import {
  isHiddenAccountField,
  isHiddenSystemStream,
  isKnownSystemStream,
  isSystemStreamId,
  systemAncestors,
} from '../system-streams/definitions';

export { isSystemStreamId };

/** Spec §4.1: none(−1) < read(0) < create-only(1) = contribute(1) < manage(2). */
export const LEVEL_RANK: Readonly<Record<Level, number>> = {
  none: -1,
  read: 0,
  'create-only': 1,
  contribute: 1,
  manage: 2,
};

export function isLevel(value: unknown): value is Level {
  return typeof value === 'string' && Object.hasOwn(LEVEL_RANK, value);
}

/** Rank of a level; `undefined` (no permission at all) ranks below `none`. */
export function levelRank(level: Level | undefined): number {
  return level === undefined ? -Infinity : LEVEL_RANK[level];
}

const LISTABLE: ReadonlySet<Level> = new Set<Level>(['read', 'create-only', 'contribute', 'manage']);
const READABLE: ReadonlySet<Level> = new Set<Level>(['read', 'contribute', 'manage']);
const CREATE: ReadonlySet<Level> = new Set<Level>(['create-only', 'contribute', 'manage']);
const UPDATE: ReadonlySet<Level> = new Set<Level>(['contribute', 'manage']);

/** A feature permission's setting in a permission list (last entry wins), if any. */
export function featureSettingOf(permissions: readonly Permission[] | undefined, name: string): string | undefined {
  let out: string | undefined;
  for (const p of permissions ?? []) if (p && p.feature === name && typeof p.setting === 'string') out = p.setting;
  return out;
}

export const INSUFFICIENT_ACCESS_CREATION = 'Your access token has insufficient permissions to create this new access.';
export const PERSONAL_ACCESS_CREATION = 'Personal accesses are created automatically on login.';

/** What one set of permissions resolves to on one tree (levels found so far, derived lists). */
interface Resolved {
  levels: Map<string, Level | undefined>;
  unreadable?: Set<string>;
  readableRoots?: string[];
}

/**
 * What an access may do on the user's streams (spec §4).
 *
 * Resolution (§4.2): the effective level on a stream is the level of the nearest explicit
 * stream permission found walking stream → parent → … → root (a child's explicit
 * permission wins even when lower); if none, the `*` permission's level (never for
 * account system streams `:_system:…`/`:system:…`); else `undefined` (no access).
 * Personal accesses are `manage` everywhere but on system streams: there, shown ones only
 * (hidden and unknown system streams give no level to anyone, spec §7); system streams
 * inherit along their own tree (shared/domain/system-streams/definitions.ts). When an access lists the same stream twice,
 * the last entry wins (so permissions injected ahead of the client's can be overridden).
 * Entries without `streamId` or with an unknown `level` (e.g. v1 tag permissions) are ignored.
 */
export class AccessPermissions {
  readonly isPersonal: boolean;
  private readonly explicit = new Map<string, Level>();
  private readonly star: Level | undefined;
  /**
   * The permissions as a key: accesses with the same key resolve alike on a tree, so what
   * they resolve is shared by every call on the same (cached) tree (StreamTree.derived).
   */
  readonly key: string;
  private readonly resolved: Resolved;

  constructor(
    readonly access: Access,
    readonly tree: StreamTree,
  ) {
    this.isPersonal = access.type === 'personal';
    let star: Level | undefined;
    for (const p of access.permissions ?? []) {
      if (!p || typeof p.streamId !== 'string' || !isLevel(p.level)) continue;
      if (p.streamId === '*') star = p.level;
      else this.explicit.set(p.streamId, p.level);
    }
    this.star = star;
    this.key = this.isPersonal ? 'personal' : JSON.stringify([star ?? null, [...this.explicit]]);
    this.resolved = tree.derived<Resolved>(
      `permissions\u0000${this.key}`,
      () => ({ levels: new Map() }),
      () => this.explicit.size + 1,
    );
  }

  /** Level of the `*` permission (personal: `manage`). */
  get starLevel(): Level | undefined {
    return this.isPersonal ? 'manage' : this.star;
  }

  /** The level explicitly granted on this very stream, if any (personal: `undefined`). */
  explicitLevel(streamId: string): Level | undefined {
    if (this.isPersonal) return undefined;
    return streamId === '*' ? this.star : this.explicit.get(streamId);
  }

  /** Stream ids with an explicit permission (without `*`), in permission order. */
  explicitStreamIds(): string[] {
    return [...this.explicit.keys()];
  }

  /** Effective level on a stream (see class doc); `*` gives the `*` level. */
  level(streamId: string): Level | undefined {
    if (isSystemStreamId(streamId)) return this.systemLevel(streamId);
    if (this.isPersonal) return 'manage';
    if (streamId === '*') return this.star;
    const levels = this.resolved.levels;
    if (levels.has(streamId)) return levels.get(streamId);
    let found: Level | undefined = this.explicit.get(streamId);
    if (found === undefined) {
      for (const a of this.tree.ancestors(streamId)) {
        found = this.explicit.get(a);
        if (found !== undefined) break;
      }
    }
    if (found === undefined) found = this.star;
    // Kept for the tree's streams only: ids from requests (unknown ones) would grow it without bound.
    if (this.tree.has(streamId)) levels.set(streamId, found);
    return found;
  }

  /** Level on a system stream: none when hidden or unknown; else explicit ones along the system tree, never `*`. */
  private systemLevel(streamId: string): Level | undefined {
    if (!isKnownSystemStream(streamId) || isHiddenSystemStream(streamId)) return undefined;
    if (this.isPersonal) return 'manage';
    let found = this.explicit.get(streamId);
    for (const a of systemAncestors(streamId)) {
      if (found !== undefined) break;
      found = this.explicit.get(a);
    }
    return found;
  }

  /**
   * Effective level a stream has (or had) under `parentId` — for a stream that left the
   * tree or moved: its own explicit permission, else its parent's effective level, else
   * (at the root) the `*` level, as {@link level} resolves it inside the tree.
   */
  levelUnder(streamId: string, parentId: string | null): Level | undefined {
    if (this.isPersonal) return 'manage';
    const own = this.explicit.get(streamId);
    if (own !== undefined) return own;
    if (parentId !== null) return this.level(parentId);
    return isSystemStreamId(streamId) ? undefined : this.star;
  }

  /** May see the stream as it sits (or sat) under `parentId` (any level but `none`). */
  canListUnder(streamId: string, parentId: string | null): boolean {
    const l = this.levelUnder(streamId, parentId);
    return l !== undefined && LISTABLE.has(l);
  }

  private is(streamId: string, set: ReadonlySet<Level>): boolean {
    const l = this.level(streamId);
    return l !== undefined && set.has(l);
  }

  /** May see the stream in `streams.get` (any level but `none`). */
  canList(streamId: string): boolean {
    return this.is(streamId, LISTABLE);
  }

  /** May read the stream's events (read, contribute, manage — not create-only). */
  canReadEvents(streamId: string): boolean {
    return this.is(streamId, READABLE);
  }

  /** May create events in the stream (create-only, contribute, manage). */
  canCreateEvents(streamId: string): boolean {
    return this.is(streamId, CREATE);
  }

  /** May update/trash/delete the stream's events and their attachments (contribute, manage). */
  canUpdateEvents(streamId: string): boolean {
    return this.is(streamId, UPDATE);
  }

  /** May update/delete the stream and create children in it (manage). */
  canManage(streamId: string): boolean {
    return this.level(streamId) === 'manage';
  }

  /** May create root streams: personal, or `manage` on `*` (§4.2). */
  canCreateRootStreams(): boolean {
    return this.isPersonal || this.star === 'manage';
  }

  /** Personal, or a `*` permission that reads events: `*` in queries means every stream. */
  hasReadableStar(): boolean {
    return this.isPersonal || (this.star !== undefined && READABLE.has(this.star));
  }

  /** Event read (§4.3): at least one of its streams readable, none a hidden account field (§7). */
  canReadEvent(streamIds: readonly string[]): boolean {
    return streamIds.some((id) => this.canReadEvents(id)) && !streamIds.some((id) => isHiddenAccountField(id));
  }

  /** Event creation (§4.3): create right on every stream (and at least one stream). */
  canCreateEvent(streamIds: readonly string[]): boolean {
    return streamIds.length > 0 && streamIds.every((id) => this.canCreateEvents(id));
  }

  /**
   * Event update (§4.3): update right on at least one current stream, plus on every
   * stream added or removed by the update.
   */
  canUpdateEvent(currentStreamIds: readonly string[], newStreamIds: readonly string[] = currentStreamIds): boolean {
    if (!currentStreamIds.some((id) => this.canUpdateEvents(id))) return false;
    const current = new Set(currentStreamIds);
    const next = new Set(newStreamIds);
    for (const id of next) if (!current.has(id) && !this.canUpdateEvents(id)) return false;
    for (const id of current) if (!next.has(id) && !this.canUpdateEvents(id)) return false;
    return true;
  }

  /** Event trash/delete and attachment changes (§4.3): update right on at least one stream. */
  canDeleteEvent(streamIds: readonly string[]): boolean {
    return streamIds.some((id) => this.canUpdateEvents(id));
  }

  /**
   * The top-most streams of the tree whose events the access can read (a readable stream
   * whose effective parent is not readable), depth-first order. Personal: the tree roots.
   * Used to replace `*` in streams queries for accesses without a readable `*`.
   * Only streams present in the tree are returned.
   */
  readableRoots(tree: StreamTree = this.tree): string[] {
    if (tree !== this.tree) return this.findReadableRoots(tree);
    this.resolved.readableRoots ??= this.findReadableRoots(tree);
    return [...this.resolved.readableRoots];
  }

  private findReadableRoots(tree: StreamTree): string[] {
    const out: string[] = [];
    for (const id of tree.ids()) {
      if (!this.canReadEvents(id)) continue;
      const p = tree.parentOf(id) ?? null;
      if (p === null || !this.canReadEvents(p)) out.push(id);
    }
    return out;
  }

  /**
   * Stream ids whose events must be excluded from reads: every tree stream whose effective
   * level is `none` or `create-only` (so a `none` subtree is covered, except where a deeper
   * explicit permission grants read again), plus explicitly `none`/`create-only` stream ids
   * that are not in the tree. Personal: empty. Computed once per tree and permissions: the
   * set is shared, never to be changed by the caller.
   */
  unreadableStreams(): ReadonlySet<string> {
    if (this.resolved.unreadable) return this.resolved.unreadable;
    const out = new Set<string>();
    if (!this.isPersonal) {
      for (const id of this.tree.ids()) {
        const l = this.level(id);
        if (l === 'none' || l === 'create-only') out.add(id);
      }
      for (const [id, l] of this.explicit) {
        if (!this.tree.has(id) && (l === 'none' || l === 'create-only')) out.add(id);
      }
    }
    this.resolved.unreadable = out;
    return out;
  }

  /** Setting of a feature permission, e.g. `featureSetting('selfRevoke') === 'forbidden'`. */
  featureSetting(name: string): string | undefined {
    return featureSettingOf(this.access.permissions, name);
  }

  /** The access may delete itself (no `selfRevoke: forbidden`). */
  canSelfRevoke(): boolean {
    return this.featureSetting('selfRevoke') !== 'forbidden';
  }
}

/**
 * Who may create which access (spec §4.4). Throws `403 forbidden` on violation.
 * - requested `personal` → "Personal accesses are created automatically on login.";
 * - personal creator: `app` and `shared`, no constraint;
 * - app creator: `shared` only, with ≥1 stream permission; for each, the creator's effective
 *   level on that stream (its `*` level for `*`) must exist, be ≥ the requested level and
 *   not be `create-only`; `selfRevoke` only when the creator can self-revoke or requests
 *   the setting it has itself; `selfAudit` only when the creator has no setting or the same;
 *   other features are not restricted here;
 * - shared creator: nothing.
 * Structure (levels, names…) is the validator's job; an entry with a stream but no valid
 * level is refused here too.
 */
export function checkAccessCreation(creator: AccessPermissions, requested: { type: AccessType; permissions: Permission[] }): void {
  if (requested.type === 'personal') throw errors.forbidden(PERSONAL_ACCESS_CREATION);
  if (creator.isPersonal) return;
  if (creator.access.type !== 'app' || requested.type !== 'shared' || !delegates(creator, requested.permissions)) {
    throw errors.forbidden(INSUFFICIENT_ACCESS_CREATION);
  }
}

/**
 * Whether an app access may hand these permissions to a shared access (the app rules of
 * {@link checkAccessCreation}): what it may create, and what a shared access it manages
 * must stay within when either of them is updated (spec §2.4 [v2] chain rules).
 */
export function delegates(creator: AccessPermissions, permissions: readonly Permission[] | undefined): boolean {
  if (creator.isPersonal) return true;
  let streamPermissions = 0;
  for (const p of permissions ?? []) {
    if (!p) continue;
    if (typeof p.streamId === 'string') {
      streamPermissions++;
      if (!isLevel(p.level)) return false;
      const mine = creator.level(p.streamId);
      if (mine === undefined || mine === 'create-only' || LEVEL_RANK[mine] < LEVEL_RANK[p.level]) return false;
    } else if (p.feature === 'selfRevoke') {
      const mine = creator.featureSetting('selfRevoke');
      if (!creator.canSelfRevoke() && p.setting !== mine) return false;
    } else if (p.feature === 'selfAudit') {
      const mine = creator.featureSetting('selfAudit');
      if (mine !== undefined && p.setting !== mine) return false;
    }
  }
  return streamPermissions > 0;
}

/**
 * [v2] A managed access cannot outlive the app access managing it (spec §2.4, §4.4): when the
 * parent expires, an expiry asked for the child — `null` meaning "never" — must not be later.
 * Refused with `400 invalid-operation` and both dates.
 */
export function checkExpiryWithinParent(parentExpires: number | null | undefined, requestedExpires: number | null): void {
  if (parentExpires === undefined || parentExpires === null) return;
  if (requestedExpires !== null && requestedExpires <= parentExpires) return;
  throw errors.invalidOperation('A managed access cannot expire later than the app access managing it.', {
    parentExpires,
    requestedExpires,
  });
}

/**
 * Who may read one access with `accesses.getOne` (spec §2.4 [v2]): personal any; an app
 * itself and the accesses it created. Shared accesses are refused by the method's access types.
 */
export function canReadAccess(caller: Access, target: Access): boolean {
  if (caller.type === 'personal') return true;
  return caller.id === target.id || (caller.type === 'app' && createdByAccess(target) === caller.id);
}

/**
 * Who may update an access (spec §2.4 [v2]): personal accesses never change (their
 * permissions are implicit); a personal caller any other; an app only the shared accesses
 * it created (not itself: it would widen its own rights). Refusals are `403 forbidden`.
 */
export function checkAccessUpdate(caller: Access, target: Access): void {
  if (target.type === 'personal') throw errors.forbidden('Personal accesses cannot be updated.');
  if (caller.type === 'personal') return;
  if (caller.type === 'app' && target.type === 'shared' && createdByAccess(target) === caller.id) return;
  throw errors.forbidden('Your access token has insufficient permissions to update this access.');
}

/**
 * Who may delete an access (spec §4.5): personal any; any access itself unless it holds
 * `{feature: 'selfRevoke', setting: 'forbidden'}`; an app also the accesses it created
 * (`createdBy` = its id). Everything else: no.
 */
export function canDeleteAccess(caller: Access, target: Access): boolean {
  if (caller.type === 'personal') return true;
  if (caller.id === target.id) return featureSettingOf(caller.permissions, 'selfRevoke') !== 'forbidden';
  if (caller.type === 'app') return createdByAccess(target) === caller.id;
  return false;
}

/** The access id in `createdBy`, without the optional caller id (`"{accessId} {callerId}"`, spec §1.3). */
export function createdByAccess(item: { createdBy: string }): string {
  return item.createdBy.split(' ')[0]!;
}
