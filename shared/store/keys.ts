import { keyTooLong, LIMITS } from '../limits';
import { decodeNumber, encodeNumber, orderedKey } from './sort-keys';

/**
 * The only place that knows how items are keyed (layout in table-definition.ts) and how S3
 * objects are named.
 *
 * Events, all in the base table so that reads are strongly consistent (read-your-writes):
 *
 *   EV#{user}                   {id}                        the event (head), or its tombstone
 *   ES#{user}#{stream}#{a|t}    d#{time}#{id} | i#{time}#{id}   a copy per stream of the event (d = directly in it) and per
 *                                                           ancestor of those (i = in a descendant); stream `*` holds all
 *   EM#{user}                   {modified}#{id}             a copy ordered by modification (sync), tombstones by deletion time
 *   ER#{user}                   {id}                        running events (open end), few
 *   EH#{user}#{id}              {modified}#{n}              previous versions (history)
 *
 * `a|t`: active or trashed. The head lists the keys of its copies (`ix`), so updates and
 * deletions remove exactly what was written even after the stream tree changed.
 */
export type EventState = 'a' | 't';

const rawKeys = {
  account: (username: string) => ({ pk: `USER#${username}`, sk: 'ACCOUNT' }),
  email: (email: string) => ({ pk: `EMAIL#${email.toLowerCase()}`, sk: 'EMAIL' }),
  /**
   * Platform-wide claim of a unique account field's value (shared/store/account-events.ts);
   * the email's is the email claim above, which the registration look-ups read.
   */
  uniqueValue: (field: string, value: string) =>
    field === 'email'
      ? { pk: `EMAIL#${value.toLowerCase()}`, sk: 'EMAIL' }
      : { pk: `UNIQUE#${field}#${value.toLowerCase()}`, sk: 'UNIQUE' },
  accessByToken: (username: string, token: string) => ({ pk: `USER#${username}`, sk: `ACCESS#${token}` }),
  accessById: (username: string, id: string) => ({ pk: `USER#${username}`, sk: `ACCESSID#${id}` }),
  accessUniqueName: (username: string, type: string, name: string, deviceName?: string | null) => ({
    pk: `USER#${username}`,
    sk: `ACCESSKEY#${type}#${name}#${deviceName ?? ''}`,
  }),
  accessPrefix: 'ACCESS#',
  accessDeletion: (username: string, id: string) => ({ pk: `USER#${username}`, sk: `ACCESSDEL#${id}` }),
  accessDeletionPrefix: 'ACCESSDEL#',
  /**
   * A previous version of an updated access (spec §2.4 [v2]): the version with that serial
   * (0 = as created), zero-padded so a Query returns them oldest first.
   */
  accessVersion: (username: string, id: string, serial: number) => ({
    pk: `USER#${username}`,
    sk: `ACCESSHIST#${id}#${String(serial).padStart(10, '0')}`,
  }),
  accessVersionPrefix: (id: string) => `ACCESSHIST#${id}#`,
  accessVersionsPrefix: 'ACCESSHIST#',
  /** Live (and trashed) streams of a user, and `STREAM#` itself: the user's data meta item. */
  stream: (username: string, id: string) => ({ pk: `USER#${username}`, sk: `STREAM#${id}` }),
  streamPrefix: 'STREAM#',
  dataMeta: (username: string) => ({ pk: `USER#${username}`, sk: 'STREAM#' }),
  /** Claim of a name among the children of one parent (root = empty parent). */
  streamName: (username: string, parentId: string | null, name: string) => ({
    pk: `USER#${username}`,
    sk: `STREAMNAME#${parentId ?? ''}#${name}`,
  }),
  streamDeletion: (username: string, id: string) => ({ pk: `USER#${username}`, sk: `STREAMDEL#${id}` }),
  streamDeletionPrefix: 'STREAMDEL#',
  /** Webhooks of a user (spec §3.6). */
  webhook: (username: string, id: string) => ({ pk: `USER#${username}`, sk: `WEBHOOK#${id}` }),
  webhookPrefix: 'WEBHOOK#',
  /**
   * Claim of a URL by one access (spec §2.5: unique per access). The URL is hashed
   * (`urlHash`, SHA-256 hex): URLs go up to 2048 characters, sort keys to 1024 bytes.
   */
  webhookUrl: (username: string, accessId: string, urlHash: string) => ({
    pk: `USER#${username}`,
    sk: `WEBHOOKURL#${accessId}#${urlHash}`,
  }),
  /** Pending password reset of a user: the SHA-256 of the token (spec §2.8), with a ttl. */
  passwordReset: (username: string, tokenHash: string) => ({ pk: `USER#${username}`, sk: `PWRESET#${tokenHash}` }),
  /** Profile sets (spec §2.7): `public`, `private`, or `app#{accessName}`. */
  profile: (username: string, setId: string) => ({ pk: `USER#${username}`, sk: `PROFILE#${setId}` }),
  /** Followed slices (spec §2.6) and their name / (url, accessToken) claims. */
  followedSlice: (username: string, id: string) => ({ pk: `USER#${username}`, sk: `SLICE#${id}` }),
  followedSlicePrefix: 'SLICE#',
  followedSliceName: (username: string, name: string) => ({ pk: `USER#${username}`, sk: `SLICENAME#${name}` }),
  followedSliceTarget: (username: string, targetHash: string) => ({ pk: `USER#${username}`, sk: `SLICETARGET#${targetHash}` }),
  /** MFA state of a user (secret, recovery code hashes), and its pending sessions by token hash. */
  mfa: (username: string) => ({ pk: `USER#${username}`, sk: 'MFA' }),
  mfaSession: (username: string, tokenHash: string) => ({ pk: `USER#${username}`, sk: `MFASESSION#${tokenHash}` }),
  /**
   * auth.login failure counters (one per subject and window) and cool-down locks, outside
   * user partitions (IP subjects have no user); both carry a ttl.
   */
  loginFailures: (subject: string, window: number) => ({ pk: `LOGINFAIL#${subject}`, sk: `WINDOW#${window}` }),
  loginLock: (subject: string) => ({ pk: `LOGINFAIL#${subject}`, sk: 'LOCK' }),
  userPartition: (username: string) => `USER#${username}`,
  userPartitionPrefix: 'USER#',
  /** Events (layout above). */
  eventHead: (username: string, id: string) => ({ pk: `EV#${username}`, sk: id }),
  eventHeads: (username: string) => `EV#${username}`,
  eventHeadPrefix: 'EV#',
  eventStream: (username: string, streamId: string, state: EventState) => `ES#${username}#${streamId}#${state}`,
  eventSync: (username: string) => `EM#${username}`,
  eventSyncKey: (username: string, at: number, id: string) => ({ pk: `EM#${username}`, sk: orderedKey(at, id) }),
  eventRunning: (username: string) => `ER#${username}`,
  eventHistory: (username: string, id: string) => `EH#${username}#${id}`,
  /** `n` keeps two versions with the same `modified` apart. */
  eventHistoryKey: (username: string, id: string, modified: number, n: string) => ({
    pk: `EH#${username}#${id}`,
    sk: orderedKey(modified, n),
  }),
  profilePrefix: 'PROFILE#',
  /**
   * HF series points (shared/store/series/): the chunks of one holder event, each keyed by the
   * lowest `deltaTime` it may hold (the first chunk by -Infinity), so a chunk covers the times
   * from its key to the next chunk's key and a range read is a key range.
   *   HF#{user}#{event}           {start}                     a chunk of points (compact encoding)
   *   HF#{user}#{event}           ~s{seq}                     a segment: the points of one write, not yet compacted into chunks (after every chunk key)
   *   HF#{user}#{event}           ~t                          the writes' tally: highest `seq` counter used, segment bytes written (after every segment)
   *   HF#{user}#{event}           ~writes                     recent compactions: which chunks to read strongly (after every segment)
   */
  seriesChunks: (username: string, eventId: string) => `HF#${username}#${eventId}`,
  seriesChunk: (username: string, eventId: string, start: number) => ({ pk: `HF#${username}#${eventId}`, sk: encodeNumber(start) }),
  seriesChunkStart: (sk: string) => decodeNumber(sk),
  seriesWrites: (username: string, eventId: string) => ({ pk: `HF#${username}#${eventId}`, sk: '~writes' }),
  seriesTally: (username: string, eventId: string) => ({ pk: `HF#${username}#${eventId}`, sk: '~t' }),
  /** Segments sort by `seq` (fixed width), so a Query returns them in write order. */
  seriesSegment: (username: string, eventId: string, seq: string) => ({ pk: `HF#${username}#${eventId}`, sk: `~s${seq}` }),
  seriesSegmentPrefix: '~s',
  /**
   * Audit records (shared/store/audit.ts), time-ordered, each kind in its own partition outside USER#:
   *   AUDIT#{user}                  {time}#{id}    one record per API call
   *   AUDITKEPT#{user}#{created}    {time}#{id}    kept after account deletion (AUDIT_ON_ACCOUNT_DELETION=keep)
   *   AUDITPSEUDO#{pseudonym}       {time}#{id}    pseudonymised after account deletion (no username, no IP)
   */
  audit: (username: string) => `AUDIT#${username}`,
  auditKept: (username: string, created: number) => `AUDITKEPT#${username}#${Math.floor(created)}`,
  auditPseudonymised: (pseudonym: string) => `AUDITPSEUDO#${pseudonym}`,
  auditRecord: (time: number, id: string) => orderedKey(time, id),
  /** One scheduled webhook delivery attempt (shared/store/webhook-queue.ts), due-time ordered. */
  webhookDuePartition: 'WEBHOOKDUE',
  webhookDue: (at: number, username: string, webhookId: string) => ({
    pk: 'WEBHOOKDUE',
    sk: `${encodeNumber(at)}#${username}#${webhookId}`,
  }),
  /** The due time (Unix seconds) of a due item's sort key. */
  webhookDueAt: (sk: string) => decodeNumber(sk.slice(0, sk.indexOf('#'))),
  /** Export and import jobs of a user (shared/store/exports.ts); the active export's claim. */
  exportJob: (username: string, id: string) => ({ pk: `USER#${username}`, sk: `EXPORT#${id}` }),
  exportJobPrefix: 'EXPORT#',
  exportActive: (username: string) => ({ pk: `USER#${username}`, sk: 'EXPORTACTIVE' }),
  importJob: (username: string, id: string) => ({ pk: `USER#${username}`, sk: `IMPORT#${id}` }),
  importJobPrefix: 'IMPORT#',
  /** A WebSocket connection (shared/store/socket-connections.ts), keyed by API Gateway's connection id … */
  socketConnection: (connectionId: string) => ({ pk: `WSCONN#${connectionId}`, sk: 'WSCONN' }),
  /** … and, once its namespace named a user, listed under that user (pushes query this prefix). */
  userSocket: (username: string, connectionId: string) => ({ pk: `USER#${username}`, sk: `WSCONN#${connectionId}` }),
  userSocketPrefix: 'WSCONN#',
  /** What a writing call's direct push decided, by push id (shared/store/socket-pushes.ts). */
  socketPush: (username: string, pushId: string) => ({ pk: `USER#${username}`, sk: `WSPUSH#${pushId}` }),
  /** gsi1 partition listing every connection (the ping sweep; eventually consistent is enough). */
  allSocketsIndexKey: 'WSCONN',
  /** gsi1 partition listing every webhook (`{username}#{id}`): the boot message finds them there. */
  allWebhooksIndexKey: 'WEBHOOK',
  /** A pending or answered access request (spec §2.14), found by its key; expires by TTL. */
  accessRequest: (key: string) => ({ pk: `ACCESSREQ#${key}`, sk: 'ACCESSREQ' }),
};

/**
 * S3 objects: attachments `files/{user}/{event}/{file}` once attached, `pending/…` while a
 * presigned upload is not confirmed (a lifecycle rule removes forgotten ones); account
 * exports `exports/{user}/{id}.tar.gz`; series answers too large for a Lambda response
 * `pending/{user}/series/{id}.json`; archives uploaded for an import `imports/{user}/{id}.tar.gz`.
 */
const rawObjectKeys = {
  file: (username: string, eventId: string, fileId: string) => `files/${username}/${eventId}/${fileId}`,
  pendingFile: (username: string, eventId: string, fileId: string) => `pending/${username}/${eventId}/${fileId}`,
  /** What an upload slot was given for (size, type), checked at confirm: next to its pending file, out of the client's reach. */
  pendingSlot: (username: string, eventId: string, fileId: string) => `pending/${username}/${eventId}/${fileId}.slot`,
  eventFiles: (username: string, eventId: string) => `files/${username}/${eventId}/`,
  userFiles: (username: string) => `files/${username}/`,
  userPendingFiles: (username: string) => `pending/${username}/`,
  exports: (username: string) => `exports/${username}/`,
  exportArchive: (username: string, id: string) => `exports/${username}/${id}.tar.gz`,
  importArchive: (username: string, id: string) => `imports/${username}/${id}.tar.gz`,
  /** A series read answer too large for a Lambda response, linked for a few minutes (under `pending/`: it expires with them). */
  seriesAnswer: (username: string, id: string) => `pending/${username}/series/${id}.json`,
};

/**
 * Every key is held to DynamoDB's sizes (partition 2,048 bytes, sort 1,024) and S3's (1,024)
 * as it is built: an over-long id or name is refused with a 400 before any call, instead of
 * the service refusing it mid-request (shared/limits.ts).
 */
function checkedKey(value: unknown, object: boolean): void {
  if (typeof value === 'string') {
    const bytes = Buffer.byteLength(value);
    if (bytes > (object ? LIMITS.objectKeyBytes : LIMITS.partitionKeyBytes)) throw keyTooLong(object ? 'object' : 'partition', bytes);
  } else if (value && typeof value === 'object' && 'pk' in value) {
    const { pk, sk } = value as { pk: string; sk: string };
    const pkBytes = Buffer.byteLength(pk);
    if (pkBytes > LIMITS.partitionKeyBytes) throw keyTooLong('partition', pkBytes);
    const skBytes = Buffer.byteLength(sk);
    if (skBytes > LIMITS.sortKeyBytes) throw keyTooLong('sort', skBytes);
  }
}

function guarded<T extends Record<string, unknown>>(builders: T, object: boolean): T {
  const out: Record<string, unknown> = {};
  for (const [name, builder] of Object.entries(builders)) {
    out[name] =
      typeof builder === 'function'
        ? (...args: unknown[]) => {
            const key = (builder as (...a: unknown[]) => unknown)(...args);
            checkedKey(key, object);
            return key;
          }
        : builder;
  }
  return out as T;
}

export const keys = guarded(rawKeys, false);
export const objectKeys = guarded(rawObjectKeys, true);

/**
 * The first segment of every object key above, by what it holds: a function is granted the
 * prefixes of the areas its methods touch (MethodDef `bucket`, infra/constructs/functions.ts).
 */
export const OBJECT_AREAS = {
  /** Attached files. */
  files: 'files/',
  /** Presigned uploads not yet confirmed, and large series answers (short-lived). */
  pending: 'pending/',
  /** Account export archives. */
  exports: 'exports/',
  /** Archives uploaded for an import. */
  imports: 'imports/',
} as const;
export type ObjectArea = keyof typeof OBJECT_AREAS;
export const ALL_OBJECT_AREAS = Object.keys(OBJECT_AREAS) as ObjectArea[];
