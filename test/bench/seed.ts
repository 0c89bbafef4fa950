/**
 * Bulk seeding for `npm run bench`: the only file of the bench that reaches past the HTTP
 * API into the store (writing 100,000 events through the API would take longer than the
 * measurements). It writes the same items the API writes, without its checks: the caller
 * owns uniqueness. Keep store imports here, so a move of those modules touches one file.
 */

import { placementFor } from '../../shared/domain/events/write-checks';
import { StreamTree } from '../../shared/domain/streams/tree';
import { newId } from '../../shared/ids';
import type { StoredEvent } from '../../shared/model/events';
import type { StoredStream } from '../../shared/model/streams';
import { batchPut } from '../../shared/store/batch';
import { newEventItems } from '../../shared/store/events/items';
import { createStream, raiseMaxDuration } from '../../shared/store/streams';

export { dynamo } from '../../shared/store/clients';

const SEED_CONCURRENCY = 8;
const BATCH_EVENTS = 100;
const YEAR = 365 * 24 * 3600;
const PERIOD_S = 30 * 60;

/** A node of a stream tree shape: its children's shapes (a leaf has none). */
type Shape = Shape[];

/**
 * The reference tool's "manual" account shape, in our own streams: 70 streams, most of them
 * flat roots, a few trees up to four levels deep. Leaves hold the events.
 */
const FLAT_ROOTS = 33;
const TREES: Shape[] = [
  [[], [], []], // 4 streams, 2 levels
  [
    [[], [], [[], [], []]],
    [[], [], []],
  ], // 12 streams, 4 levels
  [[], [[]], [[], [[], []]]], // 9 streams, 4 levels
  [[[]]], // 3 streams, 3 levels
  [[[]]],
  [[]], // 2 streams, 2 levels
  [[]],
  [[]],
];

export interface SeededAccount {
  /** Every stream, parents before children. */
  streams: StoredStream[];
  leaves: string[];
  /** Streams with children, in creation order (`parents[0]`: a root with three leaf children). */
  parents: string[];
  /** The 10 leaves a restricted (shared) access is given, as the reference tool does. */
  restricted: string[];
  /** Leaves outside the restricted access (master-token writes go there). */
  others: string[];
  /** Time of the newest event (epoch s); events span the year before it. */
  lastTime: number;
}

function streamRecord(id: string, parentId: string | null, now: number): StoredStream {
  return { id, name: id, parentId, created: now, createdBy: 'bench', modified: now, modifiedBy: 'bench' };
}

export function accountStreams(now: number): StoredStream[] {
  const streams: StoredStream[] = [];
  for (let i = 0; i < FLAT_ROOTS; i++) streams.push(streamRecord(`flat-${String(i).padStart(2, '0')}`, null, now));
  const grow = (id: string, parentId: string | null, shape: Shape) => {
    streams.push(streamRecord(id, parentId, now));
    for (const [i, child] of shape.entries()) grow(`${id}-${i}`, id, child);
  };
  for (const [i, shape] of TREES.entries()) grow(`tree${i}`, null, shape);
  return streams;
}

/** A deterministic pseudo-random sequence (the same account at every run). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Creates the 70 streams and `count` events spread over the year before now: 40 % in five
 * busy leaves, 20 % in five medium ones (two of them in the restricted set), the rest over
 * every leaf in turn; one event in 50 is a 30-minute period, the others instants.
 */
export async function seedAccount(username: string, count: number): Promise<SeededAccount> {
  const now = Date.now() / 1000;
  const streams = accountStreams(now);
  for (const s of streams) await createStream(username, s);
  const tree = new StreamTree(streams);
  const leaves = streams.map((s) => s.id).filter((id) => tree.children(id).length === 0);
  const parents = streams.map((s) => s.id).filter((id) => tree.children(id).length > 0);
  const restricted = leaves.slice(0, 10);
  const others = leaves.filter((id) => !restricted.includes(id));
  const busy = [others[0]!, others[1]!, ...leaves.filter((id) => id.startsWith('tree1-')).slice(0, 3)];
  const medium = [restricted[0]!, restricted[1]!, others[2]!, others[3]!, leaves.find((id) => id.startsWith('tree2-'))!];

  const random = prng(count);
  const lastTime = Math.floor(now) - 60;
  let next = 0;
  const eventAt = (i: number): StoredEvent => {
    const roll = random();
    const streamId = roll < 0.4 ? busy[i % busy.length]! : roll < 0.6 ? medium[i % medium.length]! : leaves[i % leaves.length]!;
    const event: StoredEvent = {
      id: newId(),
      streamIds: [streamId],
      time: lastTime - YEAR + ((i + 1) / count) * YEAR,
      type: i % 3 === 0 ? 'mass/kg' : 'note/txt',
      content: i % 3 === 0 ? 50 + (i % 50) : `Bench note ${i}`,
      created: now,
      createdBy: 'bench',
      modified: now,
      modifiedBy: 'bench',
    };
    if (i % 50 === 0) {
      event.type = 'activity/plain';
      delete event.content;
      event.duration = PERIOD_S;
    }
    return event;
  };
  const worker = async () => {
    for (;;) {
      const start = next;
      next += BATCH_EVENTS;
      if (start >= count) return;
      const items: Array<Record<string, unknown>> = [];
      for (let i = start; i < Math.min(count, start + BATCH_EVENTS); i++) {
        const event = eventAt(i);
        items.push(...newEventItems(username, event, placementFor(tree, event.streamIds)));
      }
      await batchPut(items);
      if (Math.floor(start / 10_000) !== Math.floor((start + BATCH_EVENTS) / 10_000))
        process.stderr.write(`  seeded ${start + BATCH_EVENTS}\n`);
    }
  };
  await raiseMaxDuration(username, PERIOD_S);
  await Promise.all(Array.from({ length: SEED_CONCURRENCY }, worker));
  return { streams, leaves, parents, restricted, others, lastTime };
}

/**
 * Grows the account's tree to `total` streams, as a long-lived account (or the reference
 * tool's stream-writing scenarios) leaves it: mostly new roots, one in ten under an
 * existing parent. The new streams hold no events: only the tree's size changes.
 */
export async function growTree(username: string, account: SeededAccount, total: number): Promise<void> {
  const now = Date.now() / 1000;
  let n = account.streams.length;
  const added: StoredStream[] = [];
  while (n < total) {
    const parentId = n % 10 === 0 ? account.parents[n % account.parents.length]! : null;
    const s = streamRecord(`extra-${String(n).padStart(4, '0')}`, parentId, now);
    added.push(s);
    n++;
  }
  let i = 0;
  const worker = async () => {
    while (i < added.length) await createStream(username, added[i++]!);
  };
  await Promise.all(Array.from({ length: SEED_CONCURRENCY }, worker));
  account.streams.push(...added);
}
