import type { Access } from '../../model/accesses';
import type { AccessSnapshot, AccessUpdate, ChangeDetail, ChangeMessage, NamedScopes } from '../../model/notifications';
import type { SocketConnection } from '../../model/socket-connections';
import type { Webhook } from '../../model/webhooks';
import { AccessPermissions, createdByAccess } from '../accesses/permissions';
import { matchesStreams } from '../streams/query';
import type { StreamTree } from '../streams/tree';
import { type CompiledScope, compileScope, readableEventStreams, scopeMatches } from './scopes';

/**
 * Who hears of a batch of one user's changes (README "Sockets", spec §6): each listener — a
 * socket connection or a webhook — through what its access may read.
 *
 * - `access` mode (default): an event change reaches a listener whose access can read one of
 *   the event's streams before or after the change (`events.get`'s own rule: moves into and
 *   out of its streams are told); a stream change, if the stream is visible where it is or
 *   was; an access change, if it is the listener's own access or one it created. Personal
 *   accesses hear of everything.
 * - `user` mode: every listener hears of every change of the user, as Pryv.io does.
 * Named scopes narrow further: a scoped listener gets `notificationsChanged {keys}` for the
 * scopes a change falls in, and no coarse message.
 *
 * Cost: nothing here reads the store. The tree is read once per batch by the caller (and
 * only if some listener needs it); permissions and compiled scopes are shared by listeners
 * of the same access within a batch.
 */
export type NotificationMode = 'access' | 'user';

/**
 * One user's changes in a batch, as the fan-out's sinks get them: each change in detail, the
 * tokens whose access ended, and the user's stream tree and listeners, each read at most once
 * for all sinks.
 */
export interface UserBatch {
  username: string;
  details: readonly ChangeDetail[];
  endedTokens: ReadonlySet<string>;
  /** [v2] Accesses updated in the batch (accesses.update): their new permissions apply from this batch on. */
  accessUpdates: readonly AccessUpdate[];
  tree: () => Promise<StreamTree>;
  /** The user's socket connections and webhooks, read at most once for all sinks (shared/store/listeners.ts). */
  listeners: () => Promise<{ connections: SocketConnection[]; webhooks: Webhook[] }>;
}

export interface Told {
  messages: ChangeMessage[];
  keys: string[];
}

const MESSAGE: Record<ChangeDetail['kind'], ChangeMessage> = {
  event: 'eventsChanged',
  stream: 'streamsChanged',
  access: 'accessesChanged',
};
const ORDER: readonly ChangeMessage[] = ['accessesChanged', 'eventsChanged', 'streamsChanged'];

/** Whether deciding for this listener needs the user's stream tree. */
export function needsTree(
  mode: NotificationMode,
  listener: { accessType: string },
  scopes: NamedScopes | undefined,
  changes: readonly ChangeDetail[],
): boolean {
  if (scopes && Object.keys(scopes).length > 0) return true;
  return mode === 'access' && listener.accessType !== 'personal' && changes.some((c) => c.kind !== 'access');
}

/** One access's view of the batch: what it may hear of. */
class AccessView {
  private readonly permissions: AccessPermissions | undefined;
  private events: ReturnType<typeof readableEventStreams> | undefined;

  constructor(
    private readonly snapshot: AccessSnapshot,
    private readonly tree: StreamTree | undefined,
    private readonly mode: NotificationMode,
  ) {
    if (tree) {
      const access = { id: snapshot.accessId, type: snapshot.accessType, permissions: snapshot.permissions } as Access;
      this.permissions = new AccessPermissions(access, tree);
    }
  }

  private get everything(): boolean {
    return this.mode === 'user' || this.snapshot.accessType === 'personal';
  }

  /** May hear of this change at all. */
  allows(change: ChangeDetail): boolean {
    if (this.everything) return true;
    if (change.kind === 'access')
      return (
        change.id === this.snapshot.accessId ||
        (change.createdBy !== undefined && createdByAccess({ createdBy: change.createdBy }) === this.snapshot.accessId)
      );
    const permissions = this.permissions;
    if (!permissions || !this.tree) return false;
    if (change.kind === 'event') {
      this.events ??= readableEventStreams(this.tree, permissions);
      return [change.before, change.after].some((v) => v !== undefined && matchesStreams(v.streamIds, this.events!));
    }
    return change.places.some((place) =>
      place === undefined ? permissions.canList(change.id) : permissions.canListUnder(change.id, place),
    );
  }

  /** The scopes compiled for this access; one the access may no longer hold (a stream gone) matches nothing. */
  compile(scopes: NamedScopes): CompiledScope[] {
    const out: CompiledScope[] = [];
    if (!this.permissions || !this.tree) return out;
    for (const [key, scope] of Object.entries(scopes)) {
      try {
        out.push(compileScope(key, scope, this.tree, this.permissions));
      } catch {
        // Its stream was deleted or its permission lost since subscribing: nothing to tell.
      }
    }
    return out;
  }
}

/** The decisions of one user's batch, for every listener; views are shared by listeners of one access. */
export class Audience {
  private readonly views = new Map<string, AccessView>();
  private readonly allowed = new Map<string, boolean[]>();

  constructor(
    private readonly changes: readonly ChangeDetail[],
    private readonly tree: StreamTree | undefined,
    private readonly mode: NotificationMode,
  ) {}

  private view(snapshot: AccessSnapshot): AccessView {
    let view = this.views.get(snapshot.accessId);
    if (!view) {
      view = new AccessView(snapshot, this.tree, this.mode);
      this.views.set(snapshot.accessId, view);
    }
    return view;
  }

  /** Which changes of the batch the access may hear of (computed once per access). */
  private allowedFor(snapshot: AccessSnapshot): boolean[] {
    let allowed = this.allowed.get(snapshot.accessId);
    if (!allowed) {
      const view = this.view(snapshot);
      allowed = this.changes.map((c) => view.allows(c));
      this.allowed.set(snapshot.accessId, allowed);
    }
    return allowed;
  }

  /** [v2] Whether a listener may hear of an access's update (`accessUpdated`): the rule of access changes. */
  hearsOfUpdate(snapshot: AccessSnapshot, update: AccessUpdate): boolean {
    const change: ChangeDetail = {
      kind: 'access',
      id: update.snapshot.accessId,
      ...(update.createdBy !== undefined ? { createdBy: update.createdBy } : {}),
      streamIds: [],
    };
    return this.view(snapshot).allows(change);
  }

  /** What to tell one listener: coarse messages, or (scoped) the keys of the scopes the batch touched. */
  tell(snapshot: AccessSnapshot, scopes?: NamedScopes): Told {
    const allowed = this.allowedFor(snapshot);
    if (scopes && Object.keys(scopes).length > 0) {
      const compiled = this.view(snapshot).compile(scopes);
      const keys = compiled.filter((s) => this.changes.some((c, i) => allowed[i] && scopeMatches(s, c))).map((s) => s.key);
      return { messages: [], keys: keys.sort() };
    }
    const messages = new Set<ChangeMessage>();
    this.changes.forEach((c, i) => {
      if (allowed[i]) messages.add(MESSAGE[c.kind]);
    });
    return { messages: ORDER.filter((m) => messages.has(m)), keys: [] };
  }
}
