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
  userPartition: (username: string) => `USER#${username}`,
};
