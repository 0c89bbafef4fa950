import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    const reader = new ShardReader(client, ARN, [{ checkpoint: Checkpoint.open(undefined, ARN) }]);
    await reader.refresh(true);
    const shard = reader.shards.get('s1')!;
    expect(await reader.readNext(shard)).toBe(true); // re-opened: read again at once
    await reader.readNext(shard);
    expect(iterators).toEqual(['LATEST', 'TRIM_HORIZON']);
    expect(shard.mappings[0]!.pending.map((r) => r.dynamodb?.SequenceNumber)).toEqual(['2']);
  });

  it('a shard whose iterator could not be opened (engine busy) is opened at the next refresh, not forgotten', async () => {
    const { client, iterators } = fakeStreams({ iteratorFails: 1, records: { LATEST: () => [], TRIM_HORIZON: () => [], DONE: () => [] } });
    const reader = new ShardReader(client, ARN, [{ checkpoint: Checkpoint.open(undefined, ARN) }]);
    await reader.refresh(true);
    expect(reader.shards.size).toBe(0);
    await reader.refresh(false);
    expect(reader.shards.has('s1')).toBe(true);
    // Still "from the start of the first start": the shard is read whole, older records left out.
    expect(iterators).toEqual(['TRIM_HORIZON']);
    expect(reader.shards.get('s1')!.mappings[0]!.since).toBeGreaterThanOrEqual(now() - 5);
  });

  it('two mappings: one GetRecords per page, each gets the records its filter accepts, a restart opens after the lowest checkpoint and leaves out what each delivered', async () => {
    const t = now();
    const records = ['1', '2', '3', '4'].map((seq) => ({
      ...record(seq, t),
      dynamodb: { ...record(seq, t).dynamodb, Keys: { pk: { S: Number(seq) % 2 ? 'odd' : 'even' } } },
    }));
    const calls: string[] = [];
    const client: StreamsApi = {
      send: async (operation, input) => {
        calls.push(
          operation === 'GetShardIterator' ? `${operation} ${input.ShardIteratorType} ${input.SequenceNumber ?? ''}`.trim() : operation,
        );
        const answer = (fields: Record<string, unknown>) => ({ ...fields, $metadata: { attempts: 1, totalRetryDelay: 0 } }) as WireOutput;
        if (operation === 'DescribeStream') return answer({ StreamDescription: { Shards: [{ ShardId: 's1' }] } });
        if (operation === 'GetShardIterator') return answer({ ShardIterator: String(input.SequenceNumber ?? '0') });
        const after = Number(input.ShardIterator);
        return answer({ Records: records.filter((r) => Number(r.dynamodb.SequenceNumber) > after), NextShardIterator: '4' });
      },
    };
    const pkIs = (pk: string) => (r: { dynamodb?: { Keys?: Record<string, { S?: string }> } }) => r.dynamodb?.Keys?.pk?.S === pk;
    // Each mapping's checkpoint as a restart finds it on disk.
    const dir = mkdtempSync(join(tmpdir(), 'pryv-shards-'));
    const checkpoint = (name: string, shards: Record<string, string>) => {
      const file = join(dir, name);
      writeFileSync(file, JSON.stringify({ streamArn: ARN, shards }));
      return Checkpoint.open(file, ARN);
    };
    const reader = new ShardReader(client, ARN, [
      { checkpoint: checkpoint('odd.json', { s1: '1' }), accepts: pkIs('odd') },
      { checkpoint: checkpoint('even.json', { s1: '2' }), accepts: pkIs('even') },
    ]);
    await reader.refresh(false);
    const shard = reader.shards.get('s1')!;
    await reader.readNext(shard);
    expect(calls).toEqual(['DescribeStream', 'GetShardIterator AFTER_SEQUENCE_NUMBER 1', 'GetRecords']);
    const seqs = (i: number) => shard.mappings[i]!.pending.map((r) => r.dynamodb?.SequenceNumber);
    expect(seqs(0)).toEqual(['3']); // odd, after 1
    expect(seqs(1)).toEqual(['4']); // even, after 2 (not 2 again)
    rmSync(dir, { recursive: true, force: true });
  });
});
