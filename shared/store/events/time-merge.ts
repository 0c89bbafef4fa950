import type { StoredEvent } from '../../model/events';
import { dynamo, table } from '../clients';
import { QueryCommand, type QueryCommandInput } from '../commands';
import { type EventState, keys } from '../keys';
import { decodeNumber, encodeNumber } from '../sort-keys';
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
  /**
   * One range holding every event of `sources` among others (the all-events partition), which
   * `accept` filters down to the same answer: read instead of the merge when the share of its
   * events `accept` keeps makes it the cheaper read (see wideIsCheaper). Only for reads whose
   * filters are the streams alone, so that the share learnt is that of the streams.
   */
  wide?: TimeSource;
  /**
   * Streams whose events `accept` may keep: the wide range is then read with a filter on
   * them, so DynamoDB sends only those (it still reads, and counts, the others).
   */
  wideStreams?: string[];
}

/** Largest list of streams a wide read filters on in DynamoDB (an expression holds 4 KB). */
const FILTER_STREAMS_MAX = 40;

const PAGE_MAX = 1000;
/** Smallest page of one range: a single range reads what the answer still needs (+1), several read small pages. */
const PAGE_MIN_SINGLE = 20;
const PAGE_MIN_MERGED = 5;

/** What a cursor's head is while the page holding it is not read yet. */
const PENDING = Symbol('pending');

/**
 * What the merge reads from: a key range, events in memory, or several of those merged.
 * `head` answers without awaiting whenever the next event is in memory (most events of a
 * merge): only a page to read costs a promise, not every event of every range.
 */
interface Cursor {
  /** The next event, undefined at the end, or PENDING until `load` read the page holding it. */
  head(): StoredEvent | undefined | typeof PENDING;
  /** Reads what `head` waits for (one page at most per range). */
  load(): Promise<void>;
  next(): void;
}

/** The next event of a cursor, reading pages until it is known. */
async function peek(cursor: Cursor): Promise<StoredEvent | undefined> {
  let event = cursor.head();
  while (event === PENDING) {
    await cursor.load();
    event = cursor.head();
  }
  return event;
}

/** Iterates one key range in time order, fetching a page only when the merge needs its next item. */
class RangeCursor implements Cursor {
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

  head(): StoredEvent | undefined | typeof PENDING {
    if (this.position < this.buffer.length) return this.buffer[this.position];
    return this.done ? undefined : PENDING;
  }

  /** Reads the next page when the one read is used up (one request at most). */
  async load(): Promise<void> {
    if (this.position >= this.buffer.length && !this.done) await this.fetch();
  }

  next(): void {
    this.position++;
    this.taken++;
  }

  /** Items the reader took from this range (the merge's share of the answer, duplicates and refused ones included). */
  taken = 0;

  /** True when the page read is used up and more pages remain: the next peek makes a request. */
  get exhausted(): boolean {
    return this.position >= this.buffer.length && !this.done && !this.first;
  }

  /** Items DynamoDB read, and those it sent (fewer with a filter). */
  scanned = 0;
  matched = 0;

  /** `time` of the last item the last page read (its last evaluated key), when more remain. */
  get lastTime(): number | undefined {
    const sk = this.start?.sk;
    // `{kind}#{16 hex digits of time}#{id}` (./items.ts).
    return typeof sk === 'string' ? decodeNumber(sk.slice(2, 18)) : undefined;
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
    const scanned = out.ScannedCount ?? out.Items?.length ?? 0;
    this.scanned += scanned;
    this.matched += out.Items?.length ?? 0;
    this.stats.items += scanned;
    learnItemBytes(scanned, out.ConsumedCapacity?.CapacityUnits);
    this.buffer = (out.Items ?? []).map(stripItem);
    this.position = 0;
    this.start = out.LastEvaluatedKey;
    if (!this.start) this.done = true;
  }
}

/** A cursor over events already in memory, in the read's order. */
class ListCursor implements Cursor {
  private position = 0;
  constructor(private readonly events: StoredEvent[]) {}
  head(): StoredEvent | undefined {
    return this.events[this.position];
  }
  async load(): Promise<void> {}
  next(): void {
    this.position++;
  }
}

const compare = (a: StoredEvent, b: StoredEvent) => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Several cursors as one, in the read's order (duplicates are left to the reader). */
class MergeCursor implements Cursor {
  private best: Cursor | undefined;
  private started = false;
  constructor(
    private readonly cursors: Cursor[],
    private readonly ascending: boolean,
  ) {}

  head(): StoredEvent | undefined | typeof PENDING {
    // The first pages in parallel: every range is needed before the first event is known.
    if (!this.started) return PENDING;
    let best: Cursor | undefined;
    let bestEvent: StoredEvent | undefined;
    for (const cursor of this.cursors) {
      const event = cursor.head();
      if (event === PENDING) return PENDING;
      if (!event) continue;
      if (!bestEvent || (this.ascending ? compare(event, bestEvent) < 0 : compare(event, bestEvent) > 0)) {
        best = cursor;
        bestEvent = event;
      }
    }
    this.best = best;
    return bestEvent;
  }

  /** Reads, in parallel, the page of every range whose next event is not known. */
  async load(): Promise<void> {
    this.started = true;
    const waiting = this.cursors.filter((cursor) => cursor.head() === PENDING);
    await Promise.all(waiting.map((cursor) => cursor.load()));
  }

  next(): void {
    this.best?.next();
    this.best = undefined;
  }
}

/**
 * Reads the wide range while `then` finds it the cheaper read: each time a page of it is used
 * up, `then` may hand the rest of the read (from the last time read on) to another cursor.
 */
class WideFirstCursor implements Cursor {
  private current: Cursor;
  constructor(
    private readonly wide: RangeCursor,
    private readonly then: (lastTime: number) => Cursor | undefined,
  ) {
    this.current = wide;
  }

  /** Whether the wide range is still the one read. */
  get onWide(): boolean {
    return this.current === this.wide;
  }

  head(): StoredEvent | undefined | typeof PENDING {
    // Page by page: a filtered page may hold nothing, and each page's end is a decision.
    if (this.onWide && this.wide.exhausted) {
      const rest = this.then(this.wide.lastTime!);
      if (rest) this.current = rest;
    }
    return this.current.head();
  }

  load(): Promise<void> {
    return this.current.load();
  }

  next(): void {
    this.current.next();
  }
}

/**
 * Bytes of an index copy, as DynamoDB counts them: learnt from the capacity of pages read,
 * for the cost model of wideIsCheaper. A strongly consistent page costs a unit per 4 KB,
 * rounded up: half a unit is taken off as the rounding's mean, and pages under 2 units (where
 * the rounding is most of the cost) are not used.
 */
let itemBytes = 400;
function learnItemBytes(items: number, units: number | undefined): void {
  if (items < 10 || !units || units < 2) return;
  itemBytes = Math.round(0.8 * itemBytes + 0.2 * (((units - 0.5) * 4096) / items));
}

/**
 * The share of a wide range's events that reads over the same streams kept, per user and set
 * of ranges, learnt in this container (bounded, oldest first out; forgotten after a while, so
 * a share that changed is measured again).
 */
const SHARE_TTL_MS = 10 * 60_000;
const SHARES_MAX = 2000;
const SHARE_MIN_EVENTS = 10;
const shares = new Map<string, { share: number; at: number }>();

function knownShare(key: string): number | undefined {
  const known = shares.get(key);
  if (!known) return undefined;
  if (Date.now() - known.at > SHARE_TTL_MS) {
    shares.delete(key);
    return undefined;
  }
  return known.share;
}

function learnShare(key: string, share: number): void {
  shares.delete(key);
  shares.set(key, { share, at: Date.now() });
  if (shares.size > SHARES_MAX) shares.delete(shares.keys().next().value!);
}

/**
 * How many items a merge took from each of its ranges, for the answer it was asked for, per
 * user, ranges, order and end of the time range, learnt in this container like the shares:
 * the next merge of the same ranges sizes each first page to that range's part of the answer
 * (with a margin) instead of an even 1/k share, so that the ranges holding most of the answer
 * need no refill and the others read a small page (README "Performance": restricted reads).
 */
const plans = new Map<string, { taken: number[]; want: number; at: number }>();
/** First pages are this much larger than the range's part last time, plus one: a few new events need no refill. */
const PLAN_MARGIN = 1.25;

function knownPlan(key: string, k: number): { taken: number[]; want: number } | undefined {
  const known = plans.get(key);
  if (!known || known.taken.length !== k) return undefined;
  if (Date.now() - known.at > SHARE_TTL_MS) {
    plans.delete(key);
    return undefined;
  }
  return known;
}

function learnPlan(key: string, taken: number[], want: number): void {
  plans.delete(key);
  plans.set(key, { taken, want, at: Date.now() });
  if (plans.size > SHARES_MAX) plans.delete(plans.keys().next().value!);
}

/** Forgets the shares and merge plans learnt (tests that compare plans start from none). */
export function forgetReadShares(): void {
  shares.clear();
  plans.clear();
}

/**
 * Read units (4 KB of items per request, rounded up: strongly consistent reads) of answering
 * `need` more events from the wide range, when it keeps `share` of what it reads, against
 * those of merging k ranges (each first page at least one unit; refills not counted, so the
 * wide read is chosen only when it costs no more than the merge's first pages).
 */
export function wideIsCheaper(share: number, need: number, k: number, bytes = itemBytes): boolean {
  const unit = bytes / 4096;
  const wide = Math.max(1, ((need + 1) / Math.max(share, 1 / PAGE_MAX)) * unit);
  const firstPage = Math.max(PAGE_MIN_MERGED, Math.ceil(need / k) + 1);
  const merged = k * Math.max(1, firstPage * unit);
  return wide <= merged;
}

/**
 * Merges several time-ordered key ranges, dropping duplicates (an event in two read
 * streams), and yields accepted events in order.
 *
 * What is read stays close to what is returned: one range asks for what the answer still
 * needs; k ranges each start with a 1/k share of it (all first pages at once), and only the
 * range the merge drains reads on, in pages doubling from there but never past what the
 * answer still needs (scaled by the share of events the filters keep). So when the filters
 * keep what is read, items read ≤ items returned + about one small page per range.
 *
 * With a `wide` range (the all-events partition) and several ranges to merge, the cheaper of
 * the two is read, by read units (wideIsCheaper): one request on the wide range where the
 * streams read hold a large share of the events, or where the answer is small next to the
 * merge's k first pages; the merge otherwise. The share is the one learnt by earlier reads
 * of the same ranges in this container; unknown, the wide range's first page (about one
 * merge page) measures it, and the merge takes over from where that page ended if the wide
 * read would cost more.
 */
export async function* readByTime(u: string, read: TimeOrderedRead, stats: ReadStats): AsyncGenerator<StoredEvent> {
  let kept = 0;
  /**
   * Events handed to `accept`, and those it kept, since the read began or moved from the wide
   * range to the merge: the share of what is read that the answer keeps, for page sizes.
   */
  let considered = 0;
  let keptNow = 0;
  // An empty range (from > to: e.g. fromTime after toTime) reads nothing; DynamoDB refuses
  // BETWEEN with bounds in that order. Only the events given in memory remain.
  const sources = read.range.from <= read.range.to ? read.sources : [];
  const cursorOf = (
    s: TimeSource,
    range: TimeRange,
    pageSize: (previous: number | undefined) => number,
    filterStreams?: string[],
  ): RangeCursor => {
    const lower = `${s.kind}#${encodeNumber(range.from)}#`;
    const upper = `${s.kind}#${encodeNumber(range.to)}#\uffff`;
    const values: Record<string, unknown> = { ':pk': keys.eventStream(u, s.streamId, s.state), ':lo': lower, ':hi': upper };
    const filter = filterStreams?.map((id, i) => {
      values[`:f${i}`] = id;
      return `contains(streamIds, :f${i})`;
    });
    return new RangeCursor(
      {
        TableName: table(),
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
        ...(filter?.length ? { FilterExpression: filter.join(' OR ') } : {}),
        ExpressionAttributeValues: values,
        ScanIndexForward: read.ascending,
        ConsistentRead: true,
      },
      pageSize,
      stats,
    );
  };
  const keptShare = (prior: number) => (considered === 0 ? prior : Math.max(keptNow / considered, 1 / PAGE_MAX));
  /** Page sizes of a range read alone: what the answer still needs, scaled by the share the filters keep. */
  const singlePages =
    (prior = 1) =>
    (): number => {
      if (read.want === undefined) return PAGE_MAX;
      const needed = Math.ceil((read.want - kept + 1) / keptShare(prior));
      return Math.min(PAGE_MAX, Math.max(PAGE_MIN_SINGLE, needed));
    };
  /**
   * Page sizes of k merged ranges: first the range's part of the answer in the last merge of
   * the same ranges (`planned`), or a 1/k share; then doubling; capped by what is still needed.
   */
  const mergedPages =
    (k: number, want: number | undefined, planned?: number) =>
    (previous: number | undefined): number => {
      if (want === undefined || read.want === undefined) return PAGE_MAX;
      const needed = Math.ceil((read.want - kept + 1) / keptShare(1));
      const share = previous === undefined ? (planned ?? Math.ceil(want / k) + 1) : previous * 2;
      return Math.min(PAGE_MAX, Math.max(PAGE_MIN_MERGED, Math.min(share, needed)));
    };
  // Merge plans are kept per ranges, order and end of the time range (by the hour: a read up to
  // "now" asked again a minute later has about the same answer).
  const planKey = `${u}\u0000${read.ascending ? 'asc' : 'desc'}\u0000${Number.isFinite(read.range.to) ? Math.floor(read.range.to / 3600) : 'open'}\u0000${read.sources.map((s) => `${s.streamId}\u0001${s.kind}\u0001${s.state}`).join('\u0000')}`;
  /** The merge whose ranges' parts of the answer are learnt when the read ends, and the answer it was asked for. */
  let planned: { cursors: RangeCursor[]; want: number } | undefined;
  const merge = (range: TimeRange, want: number | undefined): Cursor => {
    if (sources.length === 1) return cursorOf(sources[0]!, range, singlePages());
    const plan = want === undefined ? undefined : knownPlan(planKey, sources.length);
    const firstPage = (i: number) =>
      plan && want !== undefined ? Math.ceil(((plan.taken[i]! * want) / plan.want) * PLAN_MARGIN) + 1 : undefined;
    const cursors = sources.map((s, i) => cursorOf(s, range, mergedPages(sources.length, want, firstPage(i))));
    if (want !== undefined) planned = { cursors, want };
    return new MergeCursor(cursors, read.ascending);
  };

  let main: Cursor | undefined;
  let wideFirst: WideFirstCursor | undefined;
  let shareKey: string | undefined;
  /** Events the wide range gave, while it was read, and what `accept` kept of them. */
  let wideCounts: { kept: number; considered: number } | undefined;
  /** The wide range's share, once enough of it was read to tell. */
  let learnt: () => number | undefined = () => undefined;
  const k = sources.length;
  if (read.wide && k > 1 && read.want !== undefined) {
    const want = read.want;
    shareKey = `${u}\u0000${read.wide.state}\u0000${sources.map((s) => `${s.streamId}\u0001${s.kind}`).join('\u0000')}`;
    const share = knownShare(shareKey);
    if (share === undefined || wideIsCheaper(share, want, k)) {
      const prior = share ?? 1;
      const filterStreams = read.wideStreams && read.wideStreams.length <= FILTER_STREAMS_MAX ? read.wideStreams : undefined;
      const counts = { kept: 0, considered: 0 };
      wideCounts = counts;
      /** Share of what the wide range read that the answer keeps: DynamoDB's filter, then `accept`. */
      const wideShare = (): number => {
        if (wide.scanned === 0) return prior;
        const sent = wide.matched / wide.scanned;
        return Math.max(sent * (counts.considered === 0 ? 1 : counts.kept / counts.considered), 1 / PAGE_MAX);
      };
      // Unknown, a first page the size of one merge page tells the share; known, the first
      // page is what the answer needs at that share.
      const probe = Math.min(PAGE_MAX, Math.max(PAGE_MIN_SINGLE, Math.ceil(want / k) + 1));
      let first = share === undefined;
      const wide: RangeCursor = cursorOf(
        read.wide,
        read.range,
        () => {
          if (first) {
            first = false;
            return probe;
          }
          return Math.min(PAGE_MAX, Math.max(PAGE_MIN_SINGLE, Math.ceil((want - kept + 1) / wideShare())));
        },
        filterStreams,
      );
      learnt = () => (wide.scanned >= SHARE_MIN_EVENTS ? wideShare() : undefined);
      // At each page's end, the share read so far decides again: a share that fell (events
      // deleted, the streams' events all older) hands over to the merge within a page.
      wideFirst = new WideFirstCursor(wide, (lastTime) => {
        const need = want - kept;
        if (wideIsCheaper(wideShare(), need, k)) return undefined;
        // The merge goes on from the last time the wide page reached (inclusive: events at
        // that time it already gave are dropped as duplicates, those it did not are read).
        const rest = read.ascending ? { from: lastTime, to: read.range.to } : { from: read.range.from, to: lastTime };
        considered = 0;
        keptNow = 0;
        return merge(rest, need);
      });
      main = wideFirst;
    }
  }
  main ??= k === 0 ? undefined : merge(read.range, read.want);

  const cursors: Cursor[] = main ? [main] : [];
  if (read.extra?.length) {
    const sorted = [...read.extra].sort((a, b) => (read.ascending ? compare(a, b) : compare(b, a)));
    cursors.push(new ListCursor(sorted));
  }
  const all = cursors.length === 1 ? cursors[0]! : new MergeCursor(cursors, read.ascending);
  const seen = new Set<string>();
  /** Whether every range was read to its end (else the answer is whole when it holds `want` events): then its merge plan is learnt. */
  let whole = false;
  try {
    for (;;) {
      let event = all.head();
      if (event === PENDING) event = await peek(all);
      if (!event) {
        whole = true;
        return;
      }
      all.next();
      if (seen.has(event.id)) continue;
      seen.add(event.id);
      considered++;
      const onWide = wideCounts && (!wideFirst || wideFirst.onWide);
      if (onWide) wideCounts!.considered++;
      if (!read.accept(event)) continue;
      kept++;
      keptNow++;
      if (onWide) wideCounts!.kept++;
      yield event;
    }
  } finally {
    const share = learnt();
    if (shareKey && share !== undefined) learnShare(shareKey, share);
    if ((whole || (read.want !== undefined && kept >= read.want)) && planned) {
      learnPlan(
        planKey,
        planned.cursors.map((c) => c.taken),
        planned.want,
      );
    }
  }
}
