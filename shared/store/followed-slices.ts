import { createHash } from 'node:crypto';
import type { FollowedSlice } from '../model/followed-slices';
import { dynamo, table } from './clients';
import { GetCommand } from './commands';
import { keys } from './keys';
import { queryAll } from './query';
import { transactWrite } from './transact';

/** (url, accessToken) claims are hashed: both are long strings, sort keys hold 1 KB. */
const targetHash = (url: string, accessToken: string) => createHash('sha256').update(`${url}\n${accessToken}`).digest('hex');

function fromItem(item: Record<string, unknown>): FollowedSlice {
  return { id: item.id as string, name: item.name as string, url: item.url as string, accessToken: item.accessToken as string };
}

export async function listFollowedSlices(username: string): Promise<FollowedSlice[]> {
  const items = await queryAll({
    TableName: table(),
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': keys.userPartition(username), ':prefix': keys.followedSlicePrefix },
    ConsistentRead: true,
  });
  return items.map(fromItem);
}

export async function getFollowedSlice(username: string, id: string): Promise<FollowedSlice | undefined> {
  const out = await dynamo().send(new GetCommand({ TableName: table(), Key: keys.followedSlice(username, id), ConsistentRead: true }));
  return out.Item ? fromItem(out.Item) : undefined;
}

/** Creates a slice with its unique name and (url, accessToken) claims; returns which claim clashed. */
export async function createFollowedSlice(username: string, slice: FollowedSlice): Promise<'ok' | 'name' | 'target'> {
  const failed = await transactWrite([
    {
      Put: {
        TableName: undefined,
        Item: { ...keys.followedSlice(username, slice.id), ...slice },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    {
      Put: {
        TableName: undefined,
        Item: { ...keys.followedSliceName(username, slice.name), id: slice.id },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    {
      Put: {
        TableName: undefined,
        Item: { ...keys.followedSliceTarget(username, targetHash(slice.url, slice.accessToken)), id: slice.id },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
  ]);
  if (failed.includes(1)) return 'name';
  if (failed.includes(2)) return 'target';
  if (failed.length > 0) throw new Error(`followed slice creation failed on items ${failed.join(',')}`);
  return 'ok';
}

/** Renames a slice: moves its name claim in the same transaction. */
export async function renameFollowedSlice(username: string, current: FollowedSlice, name: string): Promise<'ok' | 'name' | 'gone'> {
  if (name === current.name) return 'ok';
  const failed = await transactWrite([
    {
      Update: {
        TableName: undefined,
        Key: keys.followedSlice(username, current.id),
        UpdateExpression: 'SET #name = :name',
        ConditionExpression: 'attribute_exists(pk) AND #name = :old',
        ExpressionAttributeNames: { '#name': 'name' },
        ExpressionAttributeValues: { ':name': name, ':old': current.name },
      },
    },
    {
      Put: {
        TableName: undefined,
        Item: { ...keys.followedSliceName(username, name), id: current.id },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    { Delete: { TableName: undefined, Key: keys.followedSliceName(username, current.name) } },
  ]);
  if (failed.includes(1)) return 'name';
  if (failed.includes(0)) return 'gone';
  return 'ok';
}

export async function deleteFollowedSlice(username: string, slice: FollowedSlice): Promise<boolean> {
  const failed = await transactWrite([
    { Delete: { TableName: undefined, Key: keys.followedSlice(username, slice.id), ConditionExpression: 'attribute_exists(pk)' } },
    { Delete: { TableName: undefined, Key: keys.followedSliceName(username, slice.name) } },
    { Delete: { TableName: undefined, Key: keys.followedSliceTarget(username, targetHash(slice.url, slice.accessToken)) } },
  ]);
  return failed.length === 0;
}
