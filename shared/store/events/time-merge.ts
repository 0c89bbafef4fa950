import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { StoredEvent } from '../../model/events';
import { dynamo, table } from '../clients';
import { type EventState, keys } from '../keys';
import { encodeNumber } from '../sort-keys';
import { stripItem } from './items';
import type { ReadStats } from './read';

/**
 * Events in time order from several key ranges at once (a k-way merge): each range is read
 * page by page, lazily, so reads stop as soon as the answer is complete.
 */

/** One key range to read: a stream partition's direct (`d`) or inherited (`i`) copies. */
export interface TimeSource {
  streamId: string;
  state: EventState;
  kind: 'd' | 'i';
}

export interface TimeRange {
  /** Inclusive bounds on `time`; use ±Infinity for none. */
  from: number;
  to: number;
}

export interface TimeOrderedRead {
  sources: TimeSource[];
  range: TimeRange;
  ascending: boolean;
  /** Items the caller will keep at most (skip + limit); undefined = all. */
  want?: number;
  /** In-memory predicate for what key ranges cannot express (streams, types, period ends…). */
  accept: (event: StoredEvent) => boolean;
  /** Events already in memory to merge in (running events that began before the range). */
  extra?: StoredEvent[];
}

const PAGE_MAX = 1000;
/** Smallest page of one range: a single range reads what the answer still needs (+1), several read small pages. */
const PAGE_MIN_SINGLE = 20;
const PAGE_MIN_MERGED = 5;

/** Iterates one key range in time order, fetching a page only when the merge needs its next item. */
class RangeCursor {
  private buffer: StoredEvent[] = [];
  private position = 0;
  private start?: Record<string, unknown>;
  private done = false;
  private first = true;

  constructor(
    private readonly input: QueryCommandInput,
    private readonly pageSize: (previous: number | undefined) => number,
    private readonly stats: ReadStats,
  ) {}

  async peek(): Promise<StoredEvent | undefined> {
    while (this.position >= this.buffer.length) {
      if (this.done) return undefined;
      await this.fetch();
    }
    return this.buffer[this.position];
  }

  next(): void {
    this.position++;
  }

  private previous: number | undefined;

  private async fetch(): Promise<void> {
    this.previous = this.pageSize(this.previous);
    const out = await dynamo().send(
      new QueryCommand({
        ...this.input,
        ExclusiveStartKey: this.first ? undefined : this.start,
        Limit: this.previous,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    this.first = false;
    this.stats.requests++;
    this.stats.capacity += out.ConsumedCapacity?.CapacityUnits ?? 0;
    this.stats.items += out.Items?.length ?? 0;
    this.buffer = (out.Items ?? []).map(stripItem);
    this.position = 0;
    this.start = out.LastEvaluatedKey;
    if (!this.start) this.done = true;
  }
}

/** A cursor over events already in memory, in the read's order. */
class ListCursor {
  private position = 0;
  constructor(private readonly events: StoredEvent[]) {}
  async peek(): Promise<StoredEvent | undefined> {
    return this.events[this.position];
  }
  next(): void {
    this.position++;
  }
}

const compare = (a: StoredEvent, b: StoredEvent) => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Merges several time-ordered key ranges, dropping duplicates (an event in two read
 * streams), and yields accepted events in order.
 *
 * What is read stays close to what is returned: one range asks for what the answer still
 * needs; k ranges each start with a 1/k share of it (all first pages at once), and only the
 * range the merge drains reads on, in pages doubling from there but never past what the
 * answer still needs (scaled by the share of events the filters keep). So when the filters
 * keep what is read, items read ≤ items returned + about one small page per range.
 */
export async function* readByTime(u: string, read: TimeOrderedRead, stats: ReadStats): AsyncGenerator<StoredEvent> {
  let kept = 0;
  /** Events the merge handed to `accept`: with `kept`, how many of what is read the answer keeps. */
  let considered = 0;
  // An empty range (from > to: e.g. fromTime after toTime) reads nothing; DynamoDB refuses
  // BETWEEN with bounds in that order. Only the events given in memory remain.
  const sources = read.range.from <= read.range.to ? read.sources : [];
  const merged = sources.length > 1;
  const pageSize = (previous: number | undefined): number => {
    if (read.want === undefined) return PAGE_MAX;
    // What the answer still needs, scaled by the share of read events it kept so far: when a
    // filter (a content query, a rare type) keeps few, pages grow at once instead of many
    // small reads; when it keeps all, exactly what is missing is read.
    const keptShare = considered === 0 ? 1 : Math.max(kept / considered, 1 / PAGE_MAX);
    const needed = Math.ceil((read.want - kept + 1) / keptShare);
    if (!merged) return Math.min(PAGE_MAX, Math.max(PAGE_MIN_SINGLE, needed));
    const share = previous === undefined ? Math.ceil(read.want / sources.length) + 1 : previous * 2;
    return Math.min(PAGE_MAX, Math.max(PAGE_MIN_MERGED, Math.min(share, needed)));
  };
  const cursors: Array<RangeCursor | ListCursor> = sources.map((s) => {
    const lower = `${s.kind}#${encodeNumber(read.range.from)}#`;
    const upper = `${s.kind}#${encodeNumber(read.range.to)}#\uffff`;
    return new RangeCursor(
      {
        TableName: table(),
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
        ExpressionAttributeValues: { ':pk': keys.eventStream(u, s.streamId, s.state), ':lo': lower, ':hi': upper },
        ScanIndexForward: read.ascending,
        ConsistentRead: true,
      },
      pageSize,
      stats,
    );
  });
  if (read.extra?.length) {
    const sorted = [...read.extra].sort((a, b) => (read.ascending ? compare(a, b) : compare(b, a)));
    cursors.push(new ListCursor(sorted));
  }
  // The first pages in parallel: every range is needed before the first event is known.
  await Promise.all(cursors.map((cursor) => cursor.peek()));
  const seen = new Set<string>();
  for (;;) {
    let best: { cursor: RangeCursor | ListCursor; event: StoredEvent } | undefined;
    for (const cursor of cursors) {
      const event = await cursor.peek();
      if (!event) continue;
      if (!best || (read.ascending ? compare(event, best.event) < 0 : compare(event, best.event) > 0)) best = { cursor, event };
    }
    if (!best) return;
    best.cursor.next();
    if (seen.has(best.event.id)) continue;
    seen.add(best.event.id);
    considered++;
    if (!read.accept(best.event)) continue;
    kept++;
    yield best.event;
  }
}
