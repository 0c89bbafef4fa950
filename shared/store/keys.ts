/** The only place that knows how items are keyed (layout in table-definition.ts). */
export const keys = {
  account: (username: string) => ({ pk: `USER#${username}`, sk: 'ACCOUNT' }),
  email: (email: string) => ({ pk: `EMAIL#${email.toLowerCase()}`, sk: 'EMAIL' }),
  accessByToken: (username: string, token: string) => ({ pk: `USER#${username}`, sk: `ACCESS#${token}` }),
  accessById: (username: string, id: string) => ({ pk: `USER#${username}`, sk: `ACCESSID#${id}` }),
  accessUniqueName: (username: string, type: string, name: string, deviceName?: string | null) => ({
    pk: `USER#${username}`,
    sk: `ACCESSKEY#${type}#${name}#${deviceName ?? ''}`,
  }),
  accessPrefix: 'ACCESS#',
  accessDeletion: (username: string, id: string) => ({ pk: `USER#${username}`, sk: `ACCESSDEL#${id}` }),
  accessDeletionPrefix: 'ACCESSDEL#',
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
  /** Audit records of a user: their own partition (shared/store/audit.ts), outside USER#. */
  audit: (username: string) => `AUDIT#${username}`,
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
  /** gsi1 partition listing every connection (the ping sweep; eventually consistent is enough). */
  allSocketsIndexKey: 'WSCONN',
  /** gsi1 partition listing every webhook (`{username}#{id}`): the boot message finds them there. */
  allWebhooksIndexKey: 'WEBHOOK',
  /** A pending or answered access request (spec §2.14), found by its key; expires by TTL. */
  accessRequest: (key: string) => ({ pk: `ACCESSREQ#${key}`, sk: 'ACCESSREQ' }),
};
