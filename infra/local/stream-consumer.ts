import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
  type AttributeValue as SdkAttributeValue,
  type ShardIteratorType,
} from '@aws-sdk/client-dynamodb-streams';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AttributeValue, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { log } from '../../shared/log';

/**
 * The local stand-in for a Lambda event source mapping on the table's DynamoDB Stream
 * (ARCHITECTURE §4): polls DynamoDB Local's stream and calls the handler with
 * `DynamoDBStreamEvent` batches shaped as Lambda's, with its partial batch semantics.
 *
 * Per shard, in order: records read are kept until delivered. A batch is retried from the
 * first failed record (`batchItemFailures`; a throw or an unknown identifier fails the
 * whole batch) after a backoff; after MAX_RETRY_ATTEMPTS retries the batch is logged and
 * dropped, as a mapping with `maxRetryAttempts` does. A shard reads no new records while
 * it has undelivered ones (a failing batch holds its shard, as in AWS). Shards found at
 * start are read from LATEST (only changes made after start), shards that appear later
 * (children of a closed shard) from TRIM_HORIZON, each once its parent is drained.
 *
 * With a `checkpointFile` (the runtime's data folder), the position of what was delivered is
 * kept on disk after every batch, as an event source mapping keeps it: a restart, even after
 * a kill, resumes after the last delivered record of each shard (shards unknown to the
 * checkpoint from TRIM_HORIZON) instead of skipping what changed while nobody was reading.
 */
export type StreamHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>;

export interface StreamConsumerOptions {
  endpoint: string;
  tableName: string;
  handler: StreamHandler;
  /** Pause between polls of an idle stream. */
  pollMs?: number;
  batchSize?: number;
  maxRetryAttempts?: number;
  retryBackoffMs?: number;
  /** Where delivered positions are kept across restarts; none = start from LATEST every time. */
  checkpointFile?: string;
}

/**
 * What a checkpoint file holds: per stream, per shard, the last delivered sequence number, or
 * `skip` (closed before the first start: never read) or `since:{epoch s}` (read from LATEST at
 * that time, nothing delivered yet: resume from TRIM_HORIZON, dropping older records).
 */
interface Checkpoint {
  streamArn: string;
  shards: Record<string, string>;
}

function readCheckpoint(file: string | undefined, streamArn: string): Checkpoint | undefined {
  if (!file || !existsSync(file)) return undefined;
  try {
    const checkpoint = JSON.parse(readFileSync(file, 'utf8')) as Checkpoint;
    return checkpoint.streamArn === streamArn && typeof checkpoint.shards === 'object' ? checkpoint : undefined;
  } catch {
    log.warn('stream consumer: unreadable checkpoint ignored', { file });
    return undefined;
  }
}

export interface StreamConsumer {
  streamArn: string;
  stop(): Promise<void>;
}

const DEFAULT_POLL_MS = 100; // notification delay target: tens of ms (ARCHITECTURE §5)
const DEFAULT_BATCH_SIZE = 100; // the event source mapping's default for DynamoDB Streams
const MAX_RETRY_ATTEMPTS = 5; // what infra will configure on the mapping
const RETRY_BACKOFF_MS = 500; // doubled at every retry of the same batch
const SHARD_REFRESH_MS = 5_000; // DescribeStream cadence when no shard closed meanwhile
const READ_LIMIT = 1000; // GetRecords' largest page
const ERROR_BACKOFF_MS = 1_000; // after a failed AWS call (e.g. DynamoDB Local busy)

interface ShardState {
  id: string;
  parentId: string | undefined;
  iterator: string | undefined;
  lastSequenceNumber: string | undefined;
  /** Read but not yet delivered, oldest first. */
  pending: DynamoDBRecord[];
  attempts: number;
  retryAt: number;
  closed: boolean;
  /** Records created before this time (epoch s) were there before the first start: not delivered. */
  since?: number;
}

const SKIP = 'skip';
const SINCE = 'since:';

/** SDK values carry binaries as bytes; Lambda's JSON carries them as base64 strings. */
function toLambdaValue(value: SdkAttributeValue): AttributeValue {
  // The streams SDK turns an empty map (`{"M":{}}` on the wire) into `{}`; Lambda gets `{"M":{}}`.
  if (Object.keys(value).length === 0) return { M: {} };
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BS !== undefined) return { BS: value.BS.map((b) => Buffer.from(b).toString('base64')) };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) };
  if (value.L !== undefined) return { L: value.L.map(toLambdaValue) };
  return value as AttributeValue;
}
function toLambdaImage(image: Record<string, SdkAttributeValue>): Record<string, AttributeValue>;
function toLambdaImage(image: Record<string, SdkAttributeValue> | undefined): Record<string, AttributeValue> | undefined;
function toLambdaImage(image: Record<string, SdkAttributeValue> | undefined) {
  if (!image) return undefined;
  return Object.fromEntries(Object.entries(image).map(([k, v]) => [k, toLambdaValue(v)]));
}

/** A record as the Lambda service hands it to a function. */
export function toLambdaRecord(record: StreamRecord, streamArn: string): DynamoDBRecord {
  const d = record.dynamodb ?? {};
  return {
    eventID: record.eventID,
    eventName: record.eventName as DynamoDBRecord['eventName'],
    eventVersion: record.eventVersion,
    eventSource: record.eventSource ?? 'aws:dynamodb',
    awsRegion: record.awsRegion,
    eventSourceARN: streamArn,
    userIdentity: record.userIdentity,
    dynamodb: {
      ApproximateCreationDateTime: d.ApproximateCreationDateTime ? Math.floor(d.ApproximateCreationDateTime.getTime() / 1000) : undefined,
      Keys: toLambdaImage(d.Keys),
      NewImage: toLambdaImage(d.NewImage),
      OldImage: toLambdaImage(d.OldImage),
      SequenceNumber: d.SequenceNumber,
      SizeBytes: d.SizeBytes,
      StreamViewType: d.StreamViewType,
    },
  };
}

export async function startStreamConsumer(options: StreamConsumerOptions): Promise<StreamConsumer> {
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const batchSize = Math.min(options.batchSize ?? DEFAULT_BATCH_SIZE, 1000);
  const maxRetryAttempts = options.maxRetryAttempts ?? MAX_RETRY_ATTEMPTS;
  const retryBackoffMs = options.retryBackoffMs ?? RETRY_BACKOFF_MS;
  const clientConfig = {
    endpoint: options.endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
  const ddb = new DynamoDBClient(clientConfig);
  const streams = new DynamoDBStreamsClient(clientConfig);
  const destroy = () => {
    ddb.destroy();
    streams.destroy();
  };

  let streamArn: string | undefined;
  try {
    const table = await ddb.send(new DescribeTableCommand({ TableName: options.tableName }));
    streamArn = table.Table?.LatestStreamArn;
  } catch (err) {
    destroy();
    throw err;
  }
  if (!streamArn) {
    destroy();
    throw new Error(`table ${options.tableName} has no stream: enable NEW_AND_OLD_IMAGES (infra/local/dynamodb.ts)`);
  }
  const arn = streamArn;

  const checkpoint = readCheckpoint(options.checkpointFile, arn);
  const positions: Record<string, string> = { ...checkpoint?.shards };
  /** Written whole to a temporary file then renamed: a kill never leaves half a file. */
  const saveCheckpoint = () => {
    if (!options.checkpointFile) return;
    const tmp = `${options.checkpointFile}.tmp`;
    writeFileSync(tmp, JSON.stringify({ streamArn: arn, shards: positions } satisfies Checkpoint));
    renameSync(tmp, options.checkpointFile);
  };
  const markDelivered = (shard: ShardState, records: DynamoDBRecord[]) => {
    const last = records.at(-1)?.dynamodb?.SequenceNumber;
    if (!last) return;
    positions[shard.id] = last;
    saveCheckpoint();
  };

  const shards = new Map<string, ShardState>();
  /** Every shard ever seen (drained ones too), so a shard is never read twice. */
  const seen = new Set<string>();

  const iteratorFor = async (shardId: string, type: ShardIteratorType, sequenceNumber?: string) =>
    (
      await streams.send(
        new GetShardIteratorCommand({ StreamArn: arn, ShardId: shardId, ShardIteratorType: type, SequenceNumber: sequenceNumber }),
      )
    ).ShardIterator;

  const refreshShards = async (initial: boolean) => {
    let start: string | undefined;
    do {
      const out = await streams.send(new DescribeStreamCommand({ StreamArn: arn, ExclusiveStartShardId: start }));
      for (const shard of out.StreamDescription?.Shards ?? []) {
        const id = shard.ShardId!;
        if (seen.has(id)) continue;
        const closedAtStart = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
        seen.add(id);
        const position = positions[id];
        // Without a checkpoint, at start only open shards matter, from now on; later shards
        // are read whole. With one, every shard resumes where delivery stopped.
        if (position === SKIP || (initial && !checkpoint && closedAtStart)) {
          positions[id] = SKIP;
          continue;
        }
        const fromLatest = initial && !checkpoint;
        if (fromLatest) positions[id] = `${SINCE}${Math.floor(Date.now() / 1000)}`;
        const since = position?.startsWith(SINCE) ? Number(position.slice(SINCE.length)) : undefined;
        let iterator: string | undefined;
        try {
          iterator =
            position && since === undefined
              ? await iteratorFor(id, 'AFTER_SEQUENCE_NUMBER', position)
              : await iteratorFor(id, fromLatest ? 'LATEST' : 'TRIM_HORIZON');
        } catch (err) {
          // A shard trimmed away (24 h retention) is gone: nothing left to read there.
          log.warn('stream consumer: shard not readable, skipped', { err, shardId: id });
          continue;
        }
        shards.set(id, {
          id,
          parentId: shard.ParentShardId,
          iterator,
          since,
          lastSequenceNumber: undefined,
          pending: [],
          attempts: 0,
          retryAt: 0,
          closed: false,
        });
      }
      start = out.StreamDescription?.LastEvaluatedShardId;
    } while (start);
  };

  /** Delivers the oldest pending batch of a shard; false when it failed (shard waits). */
  const deliver = async (shard: ShardState): Promise<boolean> => {
    const batch = shard.pending.slice(0, batchSize);
    let failedAt = -1;
    try {
      const out = await options.handler({ Records: batch });
      const failures = out?.batchItemFailures ?? [];
      if (failures.length > 0) {
        const positions = failures.map((f) => batch.findIndex((r) => r.dynamodb?.SequenceNumber === f.itemIdentifier));
        // Lambda: an identifier that is not in the batch fails the whole batch.
        failedAt = positions.some((p) => p < 0) ? 0 : Math.min(...positions);
      }
    } catch (err) {
      log.error('stream consumer: handler failed', { err, shardId: shard.id });
      failedAt = 0;
    }
    if (failedAt < 0) {
      shard.pending.splice(0, batch.length);
      shard.attempts = 0;
      markDelivered(shard, batch);
      return true;
    }
    markDelivered(shard, shard.pending.splice(0, failedAt)); // delivered: never again
    shard.attempts++;
    if (shard.attempts > maxRetryAttempts) {
      const dropped = shard.pending.splice(0, batch.length - failedAt);
      markDelivered(shard, dropped); // given up on, as a mapping does: not read again
      log.error('stream consumer: records dropped after retries', {
        shardId: shard.id,
        attempts: shard.attempts,
        count: dropped.length,
        firstSequenceNumber: dropped[0]?.dynamodb?.SequenceNumber,
        lastSequenceNumber: dropped.at(-1)?.dynamodb?.SequenceNumber,
      });
      shard.attempts = 0;
      return true;
    }
    shard.retryAt = Date.now() + retryBackoffMs * 2 ** (shard.attempts - 1);
    return false;
  };

  /** One round for a shard: deliver what is pending, else read what is new. True if it did work. */
  const pollShard = async (shard: ShardState): Promise<boolean> => {
    if (shard.pending.length > 0) {
      if (Date.now() < shard.retryAt) return false;
      while (shard.pending.length > 0 && !stopping) if (!(await deliver(shard))) break;
      return shard.pending.length === 0;
    }
    if (shard.parentId && shards.has(shard.parentId)) return false; // parent first, for order
    if (!shard.iterator) {
      shards.delete(shard.id);
      return true;
    }
    let out;
    try {
      out = await streams.send(new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: READ_LIMIT }));
    } catch (err) {
      if (!(err instanceof ExpiredIteratorException)) throw err;
      shard.iterator = shard.lastSequenceNumber
        ? await iteratorFor(shard.id, 'AFTER_SEQUENCE_NUMBER', shard.lastSequenceNumber)
        : await iteratorFor(shard.id, 'LATEST');
      return true;
    }
    shard.iterator = out.NextShardIterator;
    if (!shard.iterator) shard.closed = true;
    const read = out.Records ?? [];
    if (read.length === 0) return shard.closed;
    shard.lastSequenceNumber = read.at(-1)!.dynamodb?.SequenceNumber;
    const since = shard.since;
    // Creation times are coarse (DynamoDB Local rounds to the minute): compare at that grain,
    // so a record of the start's minute comes again rather than never (at least once).
    const sinceMinute = since === undefined ? undefined : Math.floor(since / 60) * 60;
    const records =
      sinceMinute === undefined
        ? read
        : read.filter((r) => (r.dynamodb?.ApproximateCreationDateTime?.getTime() ?? Infinity) / 1000 >= sinceMinute);
    shard.pending.push(...records.map((r) => toLambdaRecord(r, arn)));
    while (shard.pending.length > 0 && !stopping) if (!(await deliver(shard))) break;
    // Read again at once only if the shard has more; else wait a poll, which lets a burst
    // gather into few batches (what coalesces its messages), as Lambda's polling does.
    return read.length === READ_LIMIT || shard.closed;
  };

  let stopping = false;
  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        wake = undefined;
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
    });

  await refreshShards(true);
  saveCheckpoint();

  const loop = async () => {
    let lastRefresh = Date.now();
    while (!stopping) {
      try {
        const closedBefore = [...shards.values()].some((s) => s.closed);
        const worked = await Promise.all([...shards.values()].map(pollShard));
        const closedNow = [...shards.values()].some((s) => s.closed);
        if ((closedNow && !closedBefore) || Date.now() - lastRefresh > SHARD_REFRESH_MS || shards.size === 0) {
          await refreshShards(false);
          lastRefresh = Date.now();
        }
        // A shard that just delivered may have more waiting: poll again at once.
        if (!worked.some(Boolean) && !stopping) await sleep(pollMs);
      } catch (err) {
        if (stopping) break;
        log.error('stream consumer: polling failed', { err });
        await sleep(ERROR_BACKOFF_MS);
      }
    }
  };
  const running = loop();

  return {
    streamArn: arn,
    stop: async () => {
      stopping = true;
      wake?.();
      await running;
      destroy();
    },
  };
}
