import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { dynamo } from './clients';
import { keys } from './keys';
import { config } from '../config';

const table = () => config().tableName;

export interface StoredProfile {
  data: Record<string, unknown>;
  /** Optimistic-concurrency counter: 0 when the set was never written. */
  version: number;
}

export async function getProfile(username: string, setId: string): Promise<StoredProfile> {
  const out = await dynamo().send(new GetCommand({ TableName: table(), Key: keys.profile(username, setId), ConsistentRead: true }));
  return { data: (out.Item?.data as Record<string, unknown>) ?? {}, version: Number(out.Item?.version ?? 0) };
}

/** Writes a set if nobody wrote it since `version` was read; false on a concurrent write. */
export async function putProfile(username: string, setId: string, data: Record<string, unknown>, version: number): Promise<boolean> {
  try {
    await dynamo().send(
      new PutCommand({
        TableName: table(),
        Item: { ...keys.profile(username, setId), data, version: version + 1 },
        ConditionExpression: version === 0 ? 'attribute_not_exists(pk)' : 'version = :v',
        ExpressionAttributeValues: version === 0 ? undefined : { ':v': version },
      }),
    );
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}
