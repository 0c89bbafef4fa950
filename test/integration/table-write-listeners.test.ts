import { randomBytes } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../shared/config';
import { dynamo, onTableWrite } from '../../shared/store/clients';
import { useRuntimeStore } from '../setup/api';

/**
 * The store tells listeners of its successful writes (how the local runtime's stream consumer
 * reads at once after a write: README "Performance"), and of nothing else: reads and writes
 * refused by their condition tell nobody.
 */
describe('table write listeners', () => {
  beforeAll(() => useRuntimeStore());

  it('are told after each successful write command, not after reads or refused writes; removable', async () => {
    let told = 0;
    const stop = onTableWrite(() => told++);
    const TableName = config().tableName;
    const key = { pk: `TEST#${randomBytes(4).toString('hex')}`, sk: 'x' };
    try {
      await dynamo().send(new PutCommand({ TableName, Item: { ...key, v: 1 } }));
      expect(told).toBe(1);
      await dynamo().send(
        new UpdateCommand({ TableName, Key: key, UpdateExpression: 'SET v = :v', ExpressionAttributeValues: { ':v': 2 } }),
      );
      await dynamo().send(
        new TransactWriteCommand({
          TransactItems: [{ Update: { TableName, Key: key, UpdateExpression: 'SET v = :v', ExpressionAttributeValues: { ':v': 3 } } }],
        }),
      );
      expect(told).toBe(3);
      await dynamo().send(new GetCommand({ TableName, Key: key }));
      await dynamo().send(
        new QueryCommand({ TableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': key.pk } }),
      );
      await expect(
        dynamo().send(new PutCommand({ TableName, Item: { ...key, v: 4 }, ConditionExpression: 'attribute_not_exists(pk)' })),
      ).rejects.toThrow();
      expect(told).toBe(3);
      await dynamo().send(new DeleteCommand({ TableName, Key: key }));
      expect(told).toBe(4);
    } finally {
      stop();
    }
    await dynamo().send(new PutCommand({ TableName, Item: { ...key, v: 5 } }));
    await dynamo().send(new DeleteCommand({ TableName, Key: key }));
    expect(told).toBe(4);
  });
});
