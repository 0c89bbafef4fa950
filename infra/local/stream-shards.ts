import type { DynamoDBRecord } from 'aws-lambda';
import { log } from '../../shared/log';
import type { WireOutput } from '../../shared/store/dynamodb-http';
import type { Checkpoint } from './stream-checkpoint';
import { toLambdaRecord, type WireStreamRecord } from './stream-records';

/**
 * The streams API as the readers call it: one operation (`DescribeStream`, `GetShardIterator`,
 * `GetRecords`) with its JSON input, its JSON output back (DynamoDB's JSON protocol with the
 * streams target: shared/store/dynamodb-http.ts); an error answer throws with DynamoDB's error
 * name (`ExpiredIteratorException`, …).
 */
export interface StreamsApi {
  send(operation: 'DescribeStream' | 'GetShardIterator' | 'GetRecords', input: Record<string, unknown>): Promise<WireOutput>;
}

type ShardIteratorType = 'LATEST' | 'TRIM_HORIZON' | 'AFTER_SEQUENCE_NUMBER';

interface StreamDescription {
  Shards?: Array<{ ShardId: string; ParentShardId?: string; SequenceNumberRange?: { EndingSequenceNumber?: string } }>;
  LastEvaluatedShardId?: string;
}

const errorNamed = (err: unknown, ...names: string[]) => names.includes((err as { name?: unknown } | undefined)?.name as string);

const READ_LIMIT = 1000; // GetRecords' largest page

/** A shard of the stream, as it is read and delivered. */
export interface ShardState {
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

/**
 * Reads the shards of one stream: finds them (DescribeStream), opens each where delivery
 * stands in the checkpoint, and reads pages of records into their `pending` list. Shards
 * found at a first start are read from LATEST (only changes made after start), shards that
 * appear later (children of a closed shard) from TRIM_HORIZON, each once its parent is drained.
 */
export class ShardReader {
  /** The shards being read, by id; a drained one is removed. */
  readonly shards = new Map<string, ShardState>();
  /** Every shard ever seen (drained ones too), so a shard is never read twice. */
  private readonly seen = new Set<string>();
  private readonly streams: StreamsApi;
  private readonly streamArn: string;
  private readonly checkpoint: Checkpoint;

  /** The event source mapping's filter: records it refuses are passed over, never handed to the function. */
  private readonly accepts: ((record: WireStreamRecord) => boolean) | undefined;

  constructor(streams: StreamsApi, streamArn: string, checkpoint: Checkpoint, filter?: (record: WireStreamRecord) => boolean) {
    this.accepts = filter;
    this.streams = streams;
    this.streamArn = streamArn;
    this.checkpoint = checkpoint;
  }

  /** Opens the shards not seen yet: all of them at start (`initial`), new children later. */
  async refresh(initial: boolean): Promise<void> {
    const restored = this.checkpoint.restored;
    let start: string | undefined;
    do {
      const out = await this.streams.send('DescribeStream', { StreamArn: this.streamArn, ExclusiveStartShardId: start });
      const description = out.StreamDescription as StreamDescription | undefined;
      for (const shard of description?.Shards ?? []) {
        const id = shard.ShardId!;
        if (this.seen.has(id)) continue;
        const closedAtStart = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
        const position = this.checkpoint.position(id);
        // Without a checkpoint, at start only open shards matter, from now on; later shards
        // are read whole. With one, every shard resumes where delivery stopped.
        if ((position && 'skip' in position) || (initial && !restored && closedAtStart)) {
          this.seen.add(id);
          this.checkpoint.skip(id);
          continue;
        }
        const fromLatest = initial && !restored;
        const startedAt = Math.floor(Date.now() / 1000);
        if (fromLatest) this.checkpoint.readingSince(id, startedAt);
        let iterator: string | undefined;
        try {
          iterator =
            position && 'after' in position
              ? await this.iteratorFor(id, 'AFTER_SEQUENCE_NUMBER', position.after)
              : await this.iteratorFor(id, fromLatest ? 'LATEST' : 'TRIM_HORIZON');
        } catch (err) {
          // A shard trimmed away (24 h retention) is gone: nothing left to read there. Any
          // other failure (a busy engine) is tried again at the next refresh.
          if (errorNamed(err, 'TrimmedDataAccessException', 'ResourceNotFoundException')) {
            this.seen.add(id);
            log.warn('stream consumer: shard not readable, skipped', { err, shardId: id });
          } else log.warn('stream consumer: shard not opened, tried again at the next refresh', { err, shardId: id });
          continue;
        }
        this.seen.add(id);
        this.shards.set(id, {
          id,
          parentId: shard.ParentShardId,
          iterator,
          // Kept for a first start too: if the shard must be read again from its start (below),
          // what came before the start is still left out.
          since: fromLatest ? startedAt : position && 'since' in position ? position.since : undefined,
          // Where reading resumes if the iterator expires before a record is read.
          lastSequenceNumber: position && 'after' in position ? position.after : undefined,
          pending: [],
          attempts: 0,
          retryAt: 0,
          closed: false,
        });
      }
      start = description?.LastEvaluatedShardId;
    } while (start);
  }

  /**
   * Reads the next page of a shard into its pending records: nothing while its parent is
   * still read (order), and a shard read to its end is forgotten. Returns whether to read
   * it again at once: a full page, a shard just closed or drained, or a renewed iterator.
   */
  async readNext(shard: ShardState): Promise<boolean> {
    if (shard.parentId && this.shards.has(shard.parentId)) return false; // parent first, for order
    if (!shard.iterator) {
      this.shards.delete(shard.id);
      return true;
    }
    let out: { Records?: WireStreamRecord[]; NextShardIterator?: string };
    try {
      out = (await this.streams.send('GetRecords', { ShardIterator: shard.iterator, Limit: READ_LIMIT })) as typeof out;
    } catch (err) {
      // An expired iterator, or DynamoDB Local refusing a LATEST iterator taken on a shard that
      // was still empty (TrimmedDataAccessException at its first record): open the shard again.
      if (!errorNamed(err, 'ExpiredIteratorException', 'TrimmedDataAccessException')) throw err;
      // Nothing read yet: from the shard's start, never LATEST (that would skip what was
      // written meanwhile); at a first start `since` still drops what came before it.
      shard.iterator = shard.lastSequenceNumber
        ? await this.iteratorFor(shard.id, 'AFTER_SEQUENCE_NUMBER', shard.lastSequenceNumber)
        : await this.iteratorFor(shard.id, 'TRIM_HORIZON');
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
      sinceMinute === undefined ? read : read.filter((r) => (r.dynamodb?.ApproximateCreationDateTime ?? Infinity) >= sinceMinute);
    for (const r of records) if (!this.accepts || this.accepts(r)) shard.pending.push(toLambdaRecord(r, this.streamArn));
    // Read again at once only if the shard has more; else wait a poll, which lets a burst
    // gather into few batches (what coalesces its messages), as Lambda's polling does.
    return read.length === READ_LIMIT || shard.closed;
  }

  private async iteratorFor(shardId: string, type: ShardIteratorType, sequenceNumber?: string): Promise<string | undefined> {
    const out = await this.streams.send('GetShardIterator', {
      StreamArn: this.streamArn,
      ShardId: shardId,
      ShardIteratorType: type,
      SequenceNumber: sequenceNumber,
    });
    return out.ShardIterator as string | undefined;
  }
}
