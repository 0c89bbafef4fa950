/**
 * Change notifications (spec §6): the changes the fan-out hands to sockets and webhooks, in
 * enough detail to decide who may hear of each (shared/domain/notifications/), and the named
 * scopes clients subscribe with.
 */

/** The coarse messages of Pryv's sockets and webhooks. */
export type ChangeMessage = 'eventsChanged' | 'streamsChanged' | 'accessesChanged';

/**
 * An event's streams, type, content and clientData at one side of a change (absent: the
 * event did not exist, or is a tombstone). `content` and `clientData` are the values as read
 * from the record (not copied), for scopes with content conditions.
 */
export interface EventVersion {
  streamIds: string[];
  /** In the trash (events.get's `state` tells trashed events from the others). */
  trashed?: boolean;
  type?: string;
  content?: unknown;
  clientData?: unknown;
}

/**
 * The mark a writing call leaves on the event head it commits when it pushes the change to
 * the user's sockets itself (shared/domain/notifications/direct-push.ts): the push's id,
 * under which the call records which connections it decided for, and until when (Unix ms)
 * the fan-out waits for that record before telling every connection itself.
 */
export interface PushMark {
  id: string;
  by: number;
}

export interface EventChange {
  kind: 'event';
  id: string;
  before?: EventVersion;
  after?: EventVersion;
  /** Set when the writing call pushed this change to sockets itself. */
  push?: PushMark;
}

export interface StreamChange {
  kind: 'stream';
  id: string;
  /** The stream's parent before and after the change (`null` = root); `undefined` when the record does not say. */
  places: Array<string | null | undefined>;
}

export interface AccessChange {
  kind: 'access';
  id: string;
  createdBy?: string;
  type?: string;
  /** Stream ids of the access's permissions (accesses scopes match on them). */
  streamIds: string[];
}

export type ChangeDetail = EventChange | StreamChange | AccessChange;

/** The kinds of named scopes (spec §3.6, §6.1). */
export const SCOPE_KINDS = ['events', 'streams', 'accesses'] as const;
export type ScopeKind = (typeof SCOPE_KINDS)[number];

/** A scope's query, in `events.get` terms (accesses scopes: `accessIds`, `types`, `streams`). */
export interface ScopeQuery {
  streams?: unknown;
  types?: string[];
  state?: 'default' | 'trashed' | 'all';
  accessIds?: string[];
  /** Events scopes: `events.get` content conditions, as given (an array, or its JSON string). */
  content?: unknown;
  clientData?: unknown;
}

/** Named scopes as stored on a socket connection or a webhook: key → {kind, query}. */
export type NamedScopes = Record<string, { kind: ScopeKind; query: ScopeQuery }>;

/**
 * What the fan-out keeps of a listener's access (socket connection, webhook), so that
 * deciding who hears of a batch reads no access: its id, type and permissions (replaced when
 * accesses.update changes them) and when it stops opening data.
 */
export interface AccessSnapshot {
  accessId: string;
  accessType: 'personal' | 'app' | 'shared';
  permissions: Array<{ streamId?: string; level?: string; feature?: string; setting?: string }>;
  /** `expires` of the access, if any (Unix seconds). */
  expires?: number;
  /** Personal accesses: the session's end as read when the snapshot was taken; past it the access is read again. */
  liveUntil?: number;
}

/**
 * [v2] An access updated in a batch (accesses.update moved its serial): the socket message
 * `accessUpdated` (spec §6.1), and the access as it now is, so that sockets and webhooks of
 * that access hear from then on what its new permissions open.
 */
export interface AccessUpdate {
  message: { type: 'access-updated'; accessId: string; serial: number };
  /** The access's token (sockets are bound by token). */
  token: string;
  snapshot: AccessSnapshot;
  createdBy?: string;
}
