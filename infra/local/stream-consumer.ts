import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { LOCAL_CREDENTIALS, LOCAL_SERVICE_REQUEST_TIMEOUT_MS } from '../../shared/config';
import { log } from '../../shared/log';
import { DynamoDBHttp } from '../../shared/store/dynamodb-http';
import { Checkpoint } from './stream-checkpoint';
import type { WireStreamRecord } from './stream-records';
import { ShardReader, type ShardState } from './stream-shards';

/**
 * The local stand-in for the Lambda event source mappings on the table's DynamoDB Stream
 * (README "Two commands"): one reader polls DynamoDB Local's stream for all of them (each
 * record read and parsed once) and calls each mapping's handler with `DynamoDBStreamEvent`
 * batches shaped as Lambda's, with its partial batch semantics.
 *
 * Per mapping, per shard, in order: records read are kept until delivered. A batch is retried
 * from the first failed record (`batchItemFailures`; a throw or an unknown identifier fails the
 * whole batch) after a backoff; after `maxRetryAttempts` retries the batch is logged and
 * dropped, as a mapping does. A failing batch holds its mapping's deliveries on the shard, as
 * in AWS, and only those: the shard is read on for the other mappings, as their own pollers
 * would in AWS. Which shards are read, and from where, is ShardReader's (stream-shards.ts);
 * with a `checkpointFile`, what a mapping delivered is kept on disk after every batch
 * (stream-checkpoint.ts), and a restart resumes each mapping where it stood.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: the Lambda contract: a handler may return nothing or a batch response
export type StreamHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>;

/** One event source mapping on the stream: its function and its settings. */
export interface StreamMapping {
  /** Named in its log lines. */
  name: string;
  handler: StreamHandler;
  batchSize?: number;
  maxRetryAttempts?: number;
  retryBackoffMs?: number;
  /** Where delivered positions are kept across restarts; none = start from LATEST every time. */
  checkpointFile?: string;
  /**
   * The mapping's filter criteria (./stream-filters.ts, as the stack sets them): records it
   * refuses never reach the handler, as in AWS.
   */
  filter?: (record: WireStreamRecord) => boolean;
}

export interface StreamReaderOptions {
  endpoint: string;
  tableName: string;
  /** Pause between polls of an idle stream (a `poke` cuts it short). */
  pollMs?: number;
  /** Least time between the starts of two rounds that pokes asked for (a burst's pokes gather). */
  pokeSpacingMs?: number;
  mappings: StreamMapping[];
}

/** A single mapping's reader (the tests' and the older callers' form). */
export interface StreamConsumerOptions extends Omit<StreamMapping, 'name'> {
  endpoint: string;
  tableName: string;
  pollMs?: number;
  pokeSpacingMs?: number;
}
export interface StreamConsumer {
  streamArn: string;
  /**
   * Something was written to the table: read the stream now rather than at the next poll
   * (a write made during a poll gets a poll of its own right after it), or, when a poke
   * started a round less than `pokeSpacingMs` ago, at that spacing.
   */
  poke(): void;
  stop(): Promise<void>;
}

// Writes made in this process poke the consumer (runtime.ts): this poll only finds what other
// processes wrote (tests writing to the table directly; bundles post theirs and poke). A
// quarter second, as Lambda polls a shard about 4 times a second: every idle poll is a
// GetRecords per shard that the JVM and this process pay, and one in flight when a write's
// poke comes makes that write's read wait for it (README "Performance", bench:notify).
const DEFAULT_POLL_MS = 250;
// A poke reads at once after a quiet spell, but at most once per spacing while writes keep
// coming: a burst's writes then gather into one GetRecords and one fan-out batch (one
// listeners Query per user) instead of one each every few writes (test/bench/FINDINGS.md §28).
// A notification of such a write waits at most this much more; Lambda's own poll of a shard
// (about 4 a second, no poke) waits ~125 ms on average.
const DEFAULT_POKE_SPACING_MS = 50;
const DEFAULT_BATCH_SIZE = 100; // the event source mapping's default for DynamoDB Streams
const MAX_RETRY_ATTEMPTS = 5; // as the fan-out's mapping in the stack
const RETRY_BACKOFF_MS = 500; // doubled at every retry of the same batch
const SHARD_REFRESH_MS = 5_000; // DescribeStream cadence when no shard closed meanwhile
const ERROR_BACKOFF_MS = 1_000; // after a failed AWS call (e.g. DynamoDB Local busy)

export function startStreamConsumer(options: StreamConsumerOptions): Promise<StreamConsumer> {
  const { endpoint, tableName, pollMs, pokeSpacingMs, ...mapping } = options;
  return startStreamReader({ endpoint, tableName, pollMs, pokeSpacingMs, mappings: [{ name: 'stream consumer', ...mapping }] });
}

export async function startStreamReader(options: StreamReaderOptions): Promise<StreamConsumer> {
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const pokeSpacingMs = options.pokeSpacingMs ?? DEFAULT_POKE_SPACING_MS;
  const mappings = options.mappings.map((m) => ({
    ...m,
    batchSize: Math.min(m.batchSize ?? DEFAULT_BATCH_SIZE, 1000),
    maxRetryAttempts: m.maxRetryAttempts ?? MAX_RETRY_ATTEMPTS,
    retryBackoffMs: m.retryBackoffMs ?? RETRY_BACKOFF_MS,
  }));
  // The store's lean JSON client, not the SDK's: this reader runs in the local runtime's process
  // for every record and every poll, work the Lambda service does in AWS (README "Performance").
  const clientConfig = {
    endpoint: options.endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
    // DynamoDB Local's bound, as the store's client takes it with a local endpoint (shared/config.ts):
    // the AWS default (3 s) gives up GetRecords calls that a loaded laptop's JVM merely pauses.
    requestTimeoutMs: LOCAL_SERVICE_REQUEST_TIMEOUT_MS,
  };
  const ddb = new DynamoDBHttp(clientConfig);
  const streams = new DynamoDBHttp({ ...clientConfig, target: 'DynamoDBStreams_20120810' });
  const destroy = () => {
    ddb.destroy();
    streams.destroy();
  };

  let streamArn: string | undefined;
  try {
    const table = await ddb.send('DescribeTable', { TableName: options.tableName });
    streamArn = (table.Table as { LatestStreamArn?: string } | undefined)?.LatestStreamArn;
  } catch (err) {
    destroy();
    throw err;
  }
  if (!streamArn) {
    destroy();
    throw new Error(`table ${options.tableName} has no stream: enable NEW_AND_OLD_IMAGES (infra/local/dynamodb.ts)`);
  }
  const arn = streamArn;

  const checkpoints = mappings.map((m) => Checkpoint.open(m.checkpointFile, arn));
  const reader = new ShardReader(
    streams,
    arn,
    mappings.map((m, i) => ({ checkpoint: checkpoints[i]!, accepts: m.filter })),
  );
  const markDelivered = (i: number, shard: ShardState, records: DynamoDBStreamEvent['Records']) => {
    const last = records.at(-1)?.dynamodb?.SequenceNumber;
    if (last) checkpoints[i]!.delivered(shard.id, last);
  };

  /** Delivers mapping i's oldest pending batch of a shard; false when it failed (its deliveries there wait). */
  const deliver = async (i: number, shard: ShardState): Promise<boolean> => {
    const mapping = mappings[i]!;
    const state = shard.mappings[i]!;
    const batch = state.pending.slice(0, mapping.batchSize);
    let failedAt = -1;
    try {
      const out = await mapping.handler({ Records: batch });
      const failures = out?.batchItemFailures ?? [];
      if (failures.length > 0) {
        const positions = failures.map((f) => batch.findIndex((r) => r.dynamodb?.SequenceNumber === f.itemIdentifier));
        // Lambda: an identifier that is not in the batch fails the whole batch.
        failedAt = positions.some((p) => p < 0) ? 0 : Math.min(...positions);
      }
    } catch (err) {
      log.error('stream consumer: handler failed', { err, mapping: mapping.name, shardId: shard.id });
      failedAt = 0;
    }
    if (failedAt < 0) {
      state.pending.splice(0, batch.length);
      state.attempts = 0;
      markDelivered(i, shard, batch);
      return true;
    }
    markDelivered(i, shard, state.pending.splice(0, failedAt)); // delivered: never again
    state.attempts++;
    if (state.attempts > mapping.maxRetryAttempts) {
      const dropped = state.pending.splice(0, batch.length - failedAt);
      markDelivered(i, shard, dropped); // given up on, as a mapping does: not read again
      log.error('stream consumer: records dropped after retries', {
        mapping: mapping.name,
        shardId: shard.id,
        attempts: state.attempts,
        count: dropped.length,
        firstSequenceNumber: dropped[0]?.dynamodb?.SequenceNumber,
        lastSequenceNumber: dropped.at(-1)?.dynamodb?.SequenceNumber,
      });
      state.attempts = 0;
      return true;
    }
    state.retryAt = Date.now() + mapping.retryBackoffMs * 2 ** (state.attempts - 1);
    return false;
  };
  /** Mapping i's pending records of a shard, in order, until one fails (its retry waits) or none is left. */
  const deliverPending = async (i: number, shard: ShardState) => {
    const state = shard.mappings[i]!;
    while (state.pending.length > 0 && !stopping) if (!(await deliver(i, shard))) break;
  };
  /** Deliveries under way, awaited by `stop`. */
  const delivering = new Set<Promise<void>>();
  /**
   * Starts mapping i's deliveries on a shard, not awaited: the reader goes on for the other
   * mappings meanwhile, so a slow or failing function holds its own mapping only. None while
   * its retry waits, or while it still has records of the parent shard (order).
   */
  const startDelivery = (i: number, shard: ShardState) => {
    const state = shard.mappings[i]!;
    if (state.delivering || state.pending.length === 0 || Date.now() < state.retryAt) return;
    const parent = shard.parentId ? reader.shards.get(shard.parentId) : undefined;
    if (parent && parent.mappings[i]!.pending.length > 0) return;
    const run: Promise<void> = deliverPending(i, shard).finally(() => {
      state.delivering = undefined;
      delivering.delete(run);
      // Reading waited for it (every mapping busy), or a closed shard may now be dropped: a round now.
      if (shard.readWaits || shard.closed) roundNow();
    });
    state.delivering = run;
    state.deliveringSince = Date.now();
    delivering.add(run);
  };

  /** One round for a shard: read what is new if a mapping is ready for it, start the deliveries. True if it should go again at once. */
  const pollShard = async (shard: ShardState): Promise<boolean> => {
    const states = shard.mappings;
    const busy = (m: ShardState['mappings'][number]) => m.pending.length > 0 || m.delivering !== undefined;
    if (!shard.iterator) shard.closed = true;
    if (shard.closed && !states.some(busy)) {
      reader.drop(shard); // read to its end and delivered: its children come next
      return true;
    }
    // A mapping retrying a batch, or delivering one for longer than a poll, holds its own
    // deliveries only: the others read on. One delivering for less holds the reading until it
    // ends, as its own poller would wait for its function: the next read then takes what came
    // meanwhile in one GetRecords and one batch, instead of a read per write under load
    // (test/bench/FINDINGS.md §25: 0.59 → 0.76 GetRecords and 0.53 → 0.63 fan-out Queries per
    // create without this).
    const now = Date.now();
    const holds = (m: ShardState['mappings'][number]) => m.delivering !== undefined && now - (m.deliveringSince ?? now) < pollMs;
    const ready = states.some((m) => !m.skipped && !busy(m)) && !states.some(holds);
    shard.readWaits = !ready;
    const more = ready && !shard.closed && reader.readable(shard) ? await reader.readNext(shard) : false;
    for (let i = 0; i < states.length; i++) startDelivery(i, shard);
    return more;
  };

  let stopping = false;
  /** Set by a poke; cleared as a round of polls starts, so a poke during the round gets another. */
  let poked = false;
  /**
   * When the last round a poke asked for started (epoch ms): the next one starts no sooner
   * than `pokeSpacingMs` after it. Rounds of the idle poll do not count, so a write right
   * after one is still read at once.
   */
  let pokedRoundAt = Number.NEGATIVE_INFINITY;
  /** Ends the current sleep now. */
  let wake: (() => void) | undefined;
  /** Ends the current sleep at this time (epoch ms) if that is sooner than its own end. */
  let wakeBy: ((at: number) => void) | undefined;
  /** Whether a poke may end the current sleep (not the backoff after a failed call). */
  let pokeable = false;
  /** Another round as soon as the spacing allows (as a poke does). */
  const roundNow = () => {
    poked = true;
    if (pokeable) wakeBy?.(pokedRoundAt + pokeSpacingMs);
  };
  const sleep = (ms: number, byPoke = true) =>
    new Promise<void>((resolve) => {
      pokeable = byPoke;
      let until = Date.now() + ms;
      const end = () => {
        clearTimeout(timer);
        wake = undefined;
        wakeBy = undefined;
        resolve();
      };
      let timer = setTimeout(end, ms);
      wake = end;
      wakeBy = (at) => {
        if (at <= Date.now()) return end(); // at once, not at the next turn of the timers
        if (at >= until) return;
        until = at;
        clearTimeout(timer);
        timer = setTimeout(end, Math.max(0, at - Date.now()));
      };
    });

  await reader.refresh(true);
  for (const checkpoint of checkpoints) checkpoint.save();

  const loop = async () => {
    let lastRefresh = Date.now();
    const shards = reader.shards;
    while (!stopping) {
      if (poked) pokedRoundAt = Date.now();
      poked = false;
      try {
        const closedBefore = [...shards.values()].some((s) => s.closed);
        const worked = await Promise.all([...shards.values()].map(pollShard));
        const closedNow = [...shards.values()].some((s) => s.closed);
        if ((closedNow && !closedBefore) || Date.now() - lastRefresh > SHARD_REFRESH_MS || shards.size === 0) {
          await reader.refresh(false);
          lastRefresh = Date.now();
        }
        // A shard that just delivered may have more waiting: poll again at once. A write may
        // have come during the round: poll again once the spacing allows.
        if (!worked.some(Boolean) && !stopping) {
          if (!poked) await sleep(pollMs);
          else if (pokedRoundAt + pokeSpacingMs > Date.now()) await sleep(pokedRoundAt + pokeSpacingMs - Date.now());
        }
      } catch (err) {
        if (stopping) break;
        log.error('stream consumer: polling failed', { err });
        await sleep(ERROR_BACKOFF_MS, false);
      }
    }
  };
  const running = loop();

  return {
    streamArn: arn,
    poke: roundNow,
    stop: async () => {
      stopping = true;
      wake?.();
      await running;
      await Promise.all([...delivering]);
      // Positions passed over (records a mapping's filter refused) since its last delivery.
      for (const checkpoint of checkpoints) checkpoint.saveIfPassed();
      destroy();
    },
  };
}
