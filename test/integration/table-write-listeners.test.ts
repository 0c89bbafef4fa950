import { randomBytes } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { config, resetConfig } from '../../shared/config';
import { dynamo, onTableWrite, resetClients, type TableWrite } from '../../shared/store/clients';
import {
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '../../shared/store/commands';
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

  it('are told which items each write wrote, and which attributes an update names', async () => {
    const seen: TableWrite[][] = [];
    const stop = onTableWrite((writes) => seen.push(writes));
    const TableName = config().tableName;
    const pk = `TEST#${randomBytes(4).toString('hex')}`;
    try {
      await dynamo().send(new PutCommand({ TableName, Item: { pk, sk: 'a', calls: {}, old: 1 } }));
      await dynamo().send(
        new UpdateCommand({
          TableName,
          Key: { pk, sk: 'a' },
          UpdateExpression: 'SET lastUsed = :now, calls.#m = if_not_exists(calls.#m, :zero) + :one REMOVE #gone',
          ExpressionAttributeNames: { '#m': 'events:get', '#gone': 'old' },
          ExpressionAttributeValues: { ':now': 1, ':zero': 0, ':one': 1 },
        }),
      );
      await dynamo().send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName, Item: { pk, sk: 'b' } } },
            { ConditionCheck: { TableName, Key: { pk, sk: 'a' }, ConditionExpression: 'attribute_exists(pk)' } },
            { Delete: { TableName, Key: { pk, sk: 'z' } } },
          ],
        }),
      );
      await dynamo().send(new BatchWriteCommand({ RequestItems: { [TableName]: [{ PutRequest: { Item: { pk, sk: 'c' } } }] } }));
      await dynamo().send(new DeleteCommand({ TableName, Key: { pk, sk: 'a' } }));
      await dynamo().send(new DeleteCommand({ TableName, Key: { pk, sk: 'b' } }));
      await dynamo().send(new DeleteCommand({ TableName, Key: { pk, sk: 'c' } }));
    } finally {
      stop();
    }
    expect(seen).toEqual([
      [{ pk, sk: 'a', put: ['pk', 'sk', 'calls', 'old'] }],
      [{ pk, sk: 'a', updated: ['lastUsed', 'calls', 'old'] }],
      [
        { pk, sk: 'b', put: ['pk', 'sk'] },
        { pk, sk: 'z', deleted: true },
      ],
      [{ pk, sk: 'c', put: ['pk', 'sk'] }],
      [{ pk, sk: 'a', deleted: true }],
      [{ pk, sk: 'b', deleted: true }],
      [{ pk, sk: 'c', deleted: true }],
    ]);
  });

  describe('in a bundle run by the local runtime (LOCAL_TABLE_WRITES_CHANNEL)', () => {
    afterEach(() => {
      delete process.env.LOCAL_TABLE_WRITES_CHANNEL;
      resetConfig();
      resetClients();
    });

    it("posts this thread's writes on the runtime's channel, and stops when the clients are reset", async () => {
      const name = `test-writes-${randomBytes(4).toString('hex')}`;
      process.env.LOCAL_TABLE_WRITES_CHANNEL = name;
      resetConfig();
      resetClients();
      const runtimeSide = new BroadcastChannel(name);
      const received: TableWrite[][] = [];
      runtimeSide.onmessage = (message) => received.push((message as unknown as { data: TableWrite[] }).data);
      const TableName = config().tableName;
      const key = { pk: `TEST#${randomBytes(4).toString('hex')}`, sk: 'x' };
      try {
        await dynamo().send(new PutCommand({ TableName, Item: { ...key, v: 1 } }));
        const deadline = Date.now() + 5_000;
        while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        expect(received).toEqual([[{ ...key, put: ['pk', 'sk', 'v'] }]]);
        resetClients();
        delete process.env.LOCAL_TABLE_WRITES_CHANNEL;
        resetConfig();
        await dynamo().send(new DeleteCommand({ TableName, Key: key }));
        // A message posted now would arrive within a turn or two of the event loop; none comes.
        await new Promise((r) => setTimeout(r, 50));
        expect(received).toHaveLength(1);
      } finally {
        runtimeSide.close();
      }
    });
  });
});
