import { dynamo, table } from './clients';
import { GetCommand, PutCommand } from './commands';
import { ifConditionHolds } from './conditional';
import { keys } from './keys';

export interface StoredProfile {
  data: Record<string, unknown>;
  /** Optimistic-concurrency counter: 0 when the set was never written. */
  version: number;
}

/** A profile set's item with its stored attributes (`data`, `version`), as exports carry it. */
export const profileItem = (username: string, setId: string, attributes: Record<string, unknown>) => ({
  ...keys.profile(username, setId),
  ...attributes,
});

export async function getProfile(username: string, setId: string): Promise<StoredProfile> {
  const out = await dynamo().send(new GetCommand({ TableName: table(), Key: keys.profile(username, setId), ConsistentRead: true }));
  return { data: (out.Item?.data as Record<string, unknown>) ?? {}, version: Number(out.Item?.version ?? 0) };
}

/** Writes a set if nobody wrote it since `version` was read; false on a concurrent write. */
export async function putProfile(username: string, setId: string, data: Record<string, unknown>, version: number): Promise<boolean> {
  const done = await ifConditionHolds(
    dynamo().send(
      new PutCommand({
        TableName: table(),
        Item: { ...keys.profile(username, setId), data, version: version + 1 },
        ConditionExpression: version === 0 ? 'attribute_not_exists(pk)' : 'version = :v',
        ExpressionAttributeValues: version === 0 ? undefined : { ':v': version },
      }),
    ),
  );
  return done !== false;
}
