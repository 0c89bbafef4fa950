import { config } from '../config';
import type { UserBatch } from '../domain/notifications/audience';
import { withDeletedStreams } from '../domain/notifications/deleted-streams';
import { holdsStreamTree, loadStreamTree } from '../domain/user-data';
import type { ChangeMessage, UserChanges } from './changes';

/**
 * Where change messages go. Webhook delivery and socket pushes register here;
 * the fan-out handler calls `dispatchChanges` once per stream batch.
 */

export type { UserBatch };
export type ChangeSink = (username: string, messages: string[], batch: UserBatch) => Promise<void>;

const sinks: ChangeSink[] = [];

/** Adds a sink; returns a function that removes it again. */
export function registerSink(sink: ChangeSink): () => void {
  sinks.push(sink);
  return () => {
    const i = sinks.indexOf(sink);
    if (i >= 0) sinks.splice(i, 1);
  };
}

/** Forgets every sink (tests, runtime restart). */
export function clearSinks(): void {
  sinks.length = 0;
}

/**
 * Whether to start reading the tree as the batch is dispatched rather than when a sink finds
 * a listener that needs it: scoped mode, a change whose audience depends on the tree, and a
 * tree this container holds (one GetItem of the data meta). A user whose tree is not held
 * has had no listener needing it here yet: the sinks decide, so a user without sockets or
 * webhooks never costs a tree Query.
 */
function shouldPrefetchTree(username: string, changes: UserChanges): boolean {
  return config().notificationScope === 'access' && changes.details.some((d) => d.kind !== 'access') && holdsStreamTree(username);
}

function batchOf(username: string, changes: Set<ChangeMessage> | UserChanges): { messages: Set<ChangeMessage>; batch: UserBatch } {
  let tree: ReturnType<typeof loadStreamTree> | undefined;
  const details = changes instanceof Set ? [] : changes.details;
  // The tree the batch is decided on: with the streams its changes name that were deleted.
  const lazyTree = () => {
    tree ??= loadStreamTree(username).then((current) => withDeletedStreams(username, current, details));
    return tree;
  };
  if (!(changes instanceof Set) && shouldPrefetchTree(username, changes)) {
    // Read now, beside the sinks' reads of the user's connections and webhooks, not after them.
    void lazyTree().catch(() => undefined); // a failure reaches the sink that awaits the tree
  }
  if (changes instanceof Set)
    return { messages: changes, batch: { username, details: [], endedTokens: new Set(), accessUpdates: [], tree: lazyTree } };
  return {
    messages: changes.messages,
    batch: {
      username,
      details: changes.details,
      endedTokens: changes.endedTokens,
      accessUpdates: changes.accessUpdates,
      tree: lazyTree,
    },
  };
}

/** Hands each user's changes to every sink; rejects if any sink failed for any user. */
export async function dispatchChanges(changes: Map<string, Set<ChangeMessage> | UserChanges>): Promise<void> {
  const calls: Promise<void>[] = [];
  for (const [username, user] of changes) {
    const { messages, batch } = batchOf(username, user);
    const list = [...messages].sort();
    for (const sink of sinks) calls.push(sink(username, list, batch));
  }
  const failed = (await Promise.allSettled(calls)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
