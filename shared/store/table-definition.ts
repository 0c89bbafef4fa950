/**
 * The one DynamoDB table, described once for both consumers: the CDK stack
 * (infra/stack.ts) and the local runtime (infra/local/dynamodb.ts).
 *
 * Single-table layout (keys are built only in shared/store/keys.ts):
 *   pk USER#{username}  sk ACCOUNT                      account fields, password hash
 *   pk EMAIL#{email}    sk EMAIL                        unique email → username
 *   pk USER#{username}  sk ACCESS#{token}               an access, found from its token in one GetItem
 *   pk USER#{username}  sk ACCESSID#{id}                id → token pointer
 *   pk USER#{username}  sk ACCESSKEY#{type}#{name}#{deviceName}   (type, name, deviceName) uniqueness
 * Events, streams, webhooks and the rest: see keys.ts and the header of events.ts. Every index
 * a read path needs is an explicit base-table item (strongly consistent reads). The generic
 * gsi1 lists items across users where eventual consistency is fine: WebSocket connections
 * (the ping sweep) and webhooks (the boot message). gsi2 is reserved, unused.
 */
export const TABLE_TTL_ATTRIBUTE = 'ttl';

export interface IndexDefinition {
  name: string;
  partitionKey: string;
  sortKey: string;
}

export const MAIN_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: TABLE_TTL_ATTRIBUTE,
  globalIndexes: [
    { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    { name: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
  ] as IndexDefinition[],
} as const;

/** Every key attribute is a string. */
export function keyAttributeNames(): string[] {
  const names = new Set<string>([MAIN_TABLE.partitionKey, MAIN_TABLE.sortKey]);
  for (const index of MAIN_TABLE.globalIndexes) {
    names.add(index.partitionKey);
    names.add(index.sortKey);
  }
  return [...names];
}
