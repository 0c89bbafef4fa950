import type { UserBatch } from '../domain/notifications/audience';
import { loadStreamTree } from '../domain/user-data';
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

function batchOf(username: string, changes: Set<ChangeMessage> | UserChanges): { messages: Set<ChangeMessage>; batch: UserBatch } {
  let tree: ReturnType<typeof loadStreamTree> | undefined;
  const lazyTree = () => {
    tree ??= loadStreamTree(username);
    return tree;
  };
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
