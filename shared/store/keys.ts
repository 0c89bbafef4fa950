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
  userPartition: (username: string) => `USER#${username}`,
};
