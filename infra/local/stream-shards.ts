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

/** One mapping as the reader serves it: where its delivery stands, and its filter. */
export interface ShardSubscriber {
  checkpoint: Checkpoint;
  /** The event source mapping's filter: records it refuses are passed over, never handed to the function. */
  accepts?: (record: WireStreamRecord) => boolean;
}

/** What one mapping has of a shard: its records read but not yet delivered, and its retries. */
export interface MappingShard {
  /** Read but not yet delivered, oldest first. */
  pending: DynamoDBRecord[];
  attempts: number;
  retryAt: number;
  /** This mapping does not read the shard (closed before its first start, or so in its checkpoint). */
  skipped: boolean;
  /** Records created before this time (epoch s) were there before the mapping's first start: not delivered. */
  since?: number;
  /**
   * The mapping delivered up to this sequence number already (its checkpoint) while the shard
   * is read from further back for another mapping: records up to it are not its own again.
   */
  deliveredUpTo?: string;
  /** Its deliveries under way (the consumer's; not awaited by the reading). */
  delivering?: Promise<void>;
  /** When those deliveries started (epoch ms). */
  deliveringSince?: number;
}

/** A shard of the stream, as it is read (once) and delivered (to each mapping). */
export interface ShardState {
  id: string;
  parentId: string | undefined;
  iterator: string | undefined;
  lastSequenceNumber: string | undefined;
  closed: boolean;
  /** Reading waits for a mapping's deliveries to end (every mapping was busy): their end starts a round. */
  readWaits?: boolean;
  /** Per mapping, in the order the reader was given them. */
  mappings: MappingShard[];
}

/** Where a mapping starts reading a shard it has not read yet in this process. */
type MappingStart =
  | { kind: 'skip' }
  /** Its first start: from now on. */
  | { kind: 'latest'; since: number }
  /** After what it delivered before. */
  | { kind: 'after'; after: string }
  /** From the shard's start (a child shard; a restart before anything was delivered: since then). */
  | { kind: 'start'; since: number | undefined };

/** Sequence numbers are decimal strings of any length: compared as numbers. */
const sequenceAfter = (a: string, b: string) => BigInt(a) > BigInt(b);

/**
 * Reads the shards of one stream once for every mapping on it (the local runtime's fan-out and
 * export worker): finds them (DescribeStream), opens each where the mapping furthest behind
 * stands in its checkpoint, and hands each page's records to the pending list of every mapping
 * whose filter accepts them (parsed and converted once). A mapping's first start reads from
 * LATEST (only changes made after it); shards that appear later (children of a closed shard)
 * are read from TRIM_HORIZON once their parent was read to its end.
 */
export class ShardReader {
  /** The shards being read, by id; a drained one is removed (`drop`). */
  readonly shards = new Map<string, ShardState>();
  /** Every shard ever seen (drained ones too), so a shard is never read twice. */
  private readonly seen = new Set<string>();
  private readonly streams: StreamsApi;
  private readonly streamArn: string;
  private readonly subscribers: readonly ShardSubscriber[];

  constructor(streams: StreamsApi, streamArn: string, subscribers: readonly ShardSubscriber[]) {
    this.streams = streams;
    this.streamArn = streamArn;
    this.subscribers = subscribers;
  }

  /** Opens the shards not seen yet: all of them at start (`initial`), new children later. */
  async refresh(initial: boolean): Promise<void> {
    let start: string | undefined;
    do {
      const out = await this.streams.send('DescribeStream', { StreamArn: this.streamArn, ExclusiveStartShardId: start });
      const description = out.StreamDescription as StreamDescription | undefined;
      for (const shard of description?.Shards ?? []) {
        const id = shard.ShardId!;
        if (this.seen.has(id)) continue;
        const closedAtStart = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
        const startedAt = Math.floor(Date.now() / 1000);
        // Each mapping's own start: without a checkpoint, at start only open shards matter,
        // from now on (LATEST); later shards are read whole. With one, every shard resumes
        // where its delivery stopped.
        const starts = this.subscribers.map(({ checkpoint }): MappingStart => {
          const position = checkpoint.position(id);
          if ((position && 'skip' in position) || (initial && !checkpoint.restored && closedAtStart)) return { kind: 'skip' };
          if (initial && !checkpoint.restored) {
            // Noted before the shard is opened: if opening fails, the next refresh still reads
            // it from this start, not whole.
            checkpoint.readingSince(id, startedAt);
            return { kind: 'latest', since: startedAt };
          }
          if (position && 'after' in position) return { kind: 'after', after: position.after };
          return { kind: 'start', since: position && 'since' in position ? position.since : undefined };
        });
        const reading = starts.filter((s) => s.kind !== 'skip');
        if (reading.length === 0) {
          this.seen.add(id);
          for (const { checkpoint } of this.subscribers) checkpoint.skip(id);
          continue;
        }
        // One iterator for all: from LATEST only if every mapping starts there, after a sequence
        // number only if every mapping delivered that far (the lowest), else the shard's start;
        // each mapping then leaves out what is not its own (`since`, `deliveredUpTo`).
        const afters = reading.flatMap((s) => (s.kind === 'after' ? [s.after] : []));
        const lowestAfter = afters.length === reading.length ? afters.reduce((low, a) => (sequenceAfter(low, a) ? a : low)) : undefined;
        let iterator: string | undefined;
        try {
          iterator = reading.every((s) => s.kind === 'latest')
            ? await this.iteratorFor(id, 'LATEST')
            : lowestAfter
              ? await this.iteratorFor(id, 'AFTER_SEQUENCE_NUMBER', lowestAfter)
              : await this.iteratorFor(id, 'TRIM_HORIZON');
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
          // Where reading resumes if the iterator expires before a record is read.
          lastSequenceNumber: lowestAfter,
          closed: false,
          mappings: starts.map((s) => ({
            pending: [],
            attempts: 0,
            retryAt: 0,
            skipped: s.kind === 'skip',
            // Kept for a first start too: if the shard must be read again from its start (below),
            // what came before the start is still left out.
            since: s.kind === 'latest' || s.kind === 'start' ? s.since : undefined,
            deliveredUpTo: s.kind === 'after' && s.after !== lowestAfter ? s.after : undefined,
          })),
        });
      }
      start = description?.LastEvaluatedShardId;
    } while (start);
  }

  /** Whether a shard may be read now: not before its parent was read to its end (order). */
  readable(shard: ShardState): boolean {
    const parent = shard.parentId ? this.shards.get(shard.parentId) : undefined;
    return shard.iterator !== undefined && (!parent || parent.closed);
  }

  /** A shard read to its end whose records every mapping delivered: forgotten. */
  drop(shard: ShardState): void {
    this.shards.delete(shard.id);
  }

  /**
   * Reads the next page of a shard into its mappings' pending records. Returns whether to read
   * it again at once: a full page, a shard just closed, or a renewed iterator.
   */
  async readNext(shard: ShardState): Promise<boolean> {
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
    const last = read.at(-1)!.dynamodb?.SequenceNumber;
    shard.lastSequenceNumber = last;
    const mappings = shard.mappings;
    // Creation times are coarse (DynamoDB Local rounds to the minute): compared at that grain,
    // so a record of the start's minute comes again rather than never (at least once).
    const sinceMinutes = mappings.map((m) => (m.since === undefined ? undefined : Math.floor(m.since / 60) * 60));
    for (const r of read) {
      let converted: DynamoDBRecord | undefined;
      for (let i = 0; i < mappings.length; i++) {
        const m = mappings[i]!;
        if (m.skipped) continue;
        const sinceMinute = sinceMinutes[i];
        if (sinceMinute !== undefined && (r.dynamodb?.ApproximateCreationDateTime ?? Infinity) < sinceMinute) continue;
        if (m.deliveredUpTo !== undefined) {
          const seq = r.dynamodb?.SequenceNumber;
          if (seq !== undefined && !sequenceAfter(seq, m.deliveredUpTo)) continue;
          m.deliveredUpTo = undefined; // past it: every later record is after it too
        }
        const accepts = this.subscribers[i]!.accepts;
        if (accepts && !accepts(r)) continue;
        // Parsed and converted once; a record two mappings take gets a copy of its own for the
        // second, as each function in AWS gets its own event.
        if (converted) m.pending.push(structuredClone(converted));
        else {
          converted = toLambdaRecord(r, this.streamArn);
          m.pending.push(converted);
        }
      }
    }
    // A mapping with nothing pending passed every record up to here (delivered or refused): its
    // position moves on in memory (saved with its next delivery or at stop), so a restart does
    // not read again what it refused.
    if (last)
      for (let i = 0; i < mappings.length; i++) {
        const m = mappings[i]!;
        if (!m.skipped && m.pending.length === 0 && m.deliveredUpTo === undefined) this.subscribers[i]!.checkpoint.passed(shard.id, last);
      }
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
