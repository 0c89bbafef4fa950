import { describe, expect, it } from 'vitest';
import { Checkpoint } from '../../infra/local/stream-checkpoint';
import { ShardReader, type StreamsApi } from '../../infra/local/stream-shards';
import { DynamoDBServiceException, type WireOutput } from '../../shared/store/dynamodb-http';

/**
 * The shard reader's answers to DynamoDB Local's failures, which the engine cannot be made to
 * produce on demand: a stand-in streams client (one shard) answers as the engine did when seen.
 */
const ARN = 'arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/1';
const now = () => Math.floor(Date.now() / 1000);
const record = (seq: string, createdAt: number) => ({
  eventID: seq,
  eventName: 'INSERT' as const,
  dynamodb: { SequenceNumber: seq, ApproximateCreationDateTime: createdAt, Keys: { pk: { S: seq } } },
});

function fakeStreams(behaviour: {
  iteratorFails?: number;
  /** What GetRecords answers for each iterator type; a function may throw. */
  records: Record<string, () => unknown[]>;
}) {
  const iterators: string[] = [];
  let iteratorFailures = behaviour.iteratorFails ?? 0;
  const answer = (fields: Record<string, unknown>) => ({ ...fields, $metadata: { attempts: 1, totalRetryDelay: 0 } }) as WireOutput;
  const client: StreamsApi = {
    send: async (operation, input) => {
      if (operation === 'DescribeStream')
        return answer({ StreamDescription: { Shards: [{ ShardId: 's1', SequenceNumberRange: { StartingSequenceNumber: '1' } }] } });
      if (operation === 'GetShardIterator') {
        if (iteratorFailures-- > 0) throw new DynamoDBServiceException('InternalServerError', 'busy', 500, undefined, {});
        const type = input.ShardIteratorType as string;
        iterators.push(type);
        return answer({ ShardIterator: type });
      }
      if (operation === 'GetRecords') {
        const type = input.ShardIterator as string;
        return answer({ Records: behaviour.records[type]!(), NextShardIterator: 'DONE' });
      }
      throw new Error('unexpected operation');
    },
  };
  return { client, iterators };
}

describe('stream shard reader', () => {
  it('a LATEST iterator refused at the first record (TrimmedDataAccessException) is opened again from the shard start, leaving out what came before the start', async () => {
    const startedAt = now();
    const { client, iterators } = fakeStreams({
      records: {
        LATEST: () => {
          throw new DynamoDBServiceException('TrimmedDataAccessException', 'trimmed', 400, undefined, {});
        },
        TRIM_HORIZON: () => [record('1', startedAt - 3600), record('2', startedAt + 1)],
        DONE: () => [],
      },
    });
    const reader = new ShardReader(client, ARN, Checkpoint.open(undefined, ARN));
    await reader.refresh(true);
    const shard = reader.shards.get('s1')!;
    expect(await reader.readNext(shard)).toBe(true); // re-opened: read again at once
    await reader.readNext(shard);
    expect(iterators).toEqual(['LATEST', 'TRIM_HORIZON']);
    expect(shard.pending.map((r) => r.dynamodb?.SequenceNumber)).toEqual(['2']);
  });

  it('a shard whose iterator could not be opened (engine busy) is opened at the next refresh, not forgotten', async () => {
    const { client, iterators } = fakeStreams({ iteratorFails: 1, records: { LATEST: () => [], TRIM_HORIZON: () => [], DONE: () => [] } });
    const reader = new ShardReader(client, ARN, Checkpoint.open(undefined, ARN));
    await reader.refresh(true);
    expect(reader.shards.size).toBe(0);
    await reader.refresh(false);
    expect(reader.shards.has('s1')).toBe(true);
    // Still "from the start of the first start": the shard is read whole, older records left out.
    expect(iterators).toEqual(['TRIM_HORIZON']);
    expect(reader.shards.get('s1')!.since).toBeGreaterThanOrEqual(now() - 5);
  });
});
