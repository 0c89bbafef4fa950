/** Streams as stored (spec §3.2), permission levels and streams-query shapes (spec §2.2.1, §4). */

/** A stream as stored (one item per stream, flat; the tree is rebuilt in memory). */
export interface StoredStream {
  id: string;
  name: string;
  /** `null` = root. */
  parentId: string | null;
  trashed?: boolean;
  clientData?: Record<string, unknown> | null;
  created: number;
  createdBy: string;
  modified: number;
  modifiedBy: string;
}

/** Stream permission levels (spec §3.3, §4.1). */
export type Level = 'none' | 'read' | 'create-only' | 'contribute' | 'manage';

/** `state` of `streams.get`. */
export type StreamsState = 'default' | 'all';

/** `state` of `events.get`. */
export type EventsState = 'default' | 'trashed' | 'all';

/**
 * One streams query as the client sends it (after parsing/validation): ids may carry a
 * trailing `!` ("this stream without its descendants"); `any` may be `["*"]`.
 */
export interface StreamsQuery {
  any: string[];
  all?: string[];
  not?: string[];
}

/**
 * One streams query resolved to concrete stream ids. An event matches when it is in at
 * least one `any` id, in at least one id of each `all` set, and in no `not` id.
 * An empty `any` matches nothing.
 */
export interface ExpandedQuery {
  any: string[];
  all: string[][];
  not: string[];
}

/** Per-user facts the event indexes depend on, kept in the `STREAM#` meta item. */
export interface DataMeta {
  /** Longest finite event duration ever stored: how far before `fromTime` a period may start. */
  maxDuration: number;
  /**
   * Changes with every write to the stream tree (a random value, so a deleted and re-created
   * account never repeats one); absent until the first stream write. Lets a warm container
   * reuse the tree it already built.
   */
  treeVersion?: string;
  /**
   * Earliest `time` of a running event (open end) ever stored, as far as known: every write
   * that stores a running event lowers it to that event's time first (it is never raised,
   * so it stays true when running events end or go). With {@link runningKnown}, a bounded read
   * whose lower bound is at or before it needs no Query of the running events: each one
   * began inside the range, where the range's own Queries find it.
   */
  runningFrom?: number;
  /**
   * Set once a read found the running events stored before `runningFrom` was kept (and
   * lowered it to theirs): from then on `runningFrom` covers every running event, and its
   * absence means there never was one.
   */
  runningKnown?: boolean;
  /**
   * Until when (Unix seconds) event copies may be rewritten without a new `modified` (the
   * re-indexing after a stream move, an import's events with their archived times): raised,
   * before such writes begin, to past the longest their function runs. Cached `events.get`
   * answers (shared/domain/events/answer-cache.ts) rely on `modified` and are neither kept
   * nor used under a value other than the one they were read with, nor read before it.
   */
  rewritesUntil?: number;
  /** Set once the account field values exist as events (at registration, or on first need for older accounts). */
  accountEvents?: number;
  /**
   * Until when (Unix seconds) the user may have live sockets: set as a connection is bound
   * (shared/store/socket-connections.ts), past the longest a WebSocket lives. A writing call
   * looks up the user's connections for a direct push only before then.
   */
  socketsUntil?: number;
}
