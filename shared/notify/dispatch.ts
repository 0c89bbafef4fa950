import { config } from '../config';
import type { UserBatch } from '../domain/notifications/audience';
import { withDeletedStreams } from '../domain/notifications/deleted-streams';
import { holdsStreamTree, loadStreamTree } from '../domain/user-data';
import { isActiveWebhook } from '../model/webhooks';
import { listUserListeners, type UserListeners } from '../store/listeners';
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
 * Users whose last listeners read in this container found nobody to tell (no connection, no
 * active webhook), most recent last, at most QUIET_USERS_HELD: a hint for the tree prefetch
 * only (who is told is always decided on the batch's own listeners read).
 */
const quietUsers = new Set<string>();
const QUIET_USERS_HELD = 10_000;

function noteListeners(username: string, listeners: UserListeners): void {
  quietUsers.delete(username);
  if (listeners.connections.length > 0 || listeners.webhooks.some(isActiveWebhook)) return;
  quietUsers.add(username);
  if (quietUsers.size > QUIET_USERS_HELD) quietUsers.delete(quietUsers.values().next().value!);
}

/**
 * Whether to start reading the tree as the batch is dispatched rather than when a sink finds
 * a listener that needs it: scoped mode, a change whose audience depends on the tree, a tree
 * this container holds (one GetItem of the data meta), and a user who had someone to tell at
 * the last batch seen here. A user whose tree is not held has had no listener needing it here
 * yet, and a user found quiet most likely still is: the sinks decide, so a user without
 * sockets or webhooks costs neither a tree Query nor the meta's GetItem.
 */
function shouldPrefetchTree(username: string, changes: UserChanges): boolean {
  return (
    config().notificationScope === 'access' &&
    changes.details.some((d) => d.kind !== 'access') &&
    holdsStreamTree(username) &&
    !quietUsers.has(username)
  );
}

function batchOf(
  username: string,
  changes: Set<ChangeMessage> | UserChanges,
): { messages: Set<ChangeMessage>; batch: UserBatch; listenersRead: () => Promise<UserListeners> | undefined } {
  let tree: ReturnType<typeof loadStreamTree> | undefined;
  let listeners: Promise<UserListeners> | undefined;
  const details = changes instanceof Set ? [] : changes.details;
  // The tree the batch is decided on: with the streams its changes name that were deleted.
  const lazyTree = () => {
    tree ??= loadStreamTree(username).then((current) => withDeletedStreams(username, current, details));
    return tree;
  };
  // One read of the user's connections and webhooks for both sinks.
  const lazyListeners = () => {
    listeners ??= listUserListeners(username).then((found) => {
      noteListeners(username, found);
      return found;
    });
    return listeners;
  };
  if (!(changes instanceof Set) && shouldPrefetchTree(username, changes)) {
    // Read now, beside the sinks' read of the user's listeners, not after it.
    void lazyTree().catch(() => undefined); // a failure reaches the sink that awaits the tree
  }
  const common = { username, tree: lazyTree, listeners: lazyListeners };
  const listenersRead = () => listeners;
  if (changes instanceof Set)
    return { messages: changes, batch: { ...common, details: [], endedTokens: new Set(), accessUpdates: [] }, listenersRead };
  return {
    messages: changes.messages,
    batch: { ...common, details: changes.details, endedTokens: changes.endedTokens, accessUpdates: changes.accessUpdates },
    listenersRead,
  };
}

/**
 * Hands each user's changes to every sink; rejects if any sink failed for any user. Resolves
 * to whether any of these users has an active webhook (as the sinks read it), which is when
 * a delivery run after the batch may find attempts to start.
 */
export async function dispatchChanges(changes: Map<string, Set<ChangeMessage> | UserChanges>): Promise<{ activeWebhooks: boolean }> {
  const calls: Promise<void>[] = [];
  const reads: Array<() => Promise<UserListeners> | undefined> = [];
  for (const [username, user] of changes) {
    const { messages, batch, listenersRead } = batchOf(username, user);
    reads.push(listenersRead);
    const list = [...messages].sort();
    for (const sink of sinks) calls.push(sink(username, list, batch));
  }
  const failed = (await Promise.allSettled(calls)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  let activeWebhooks = false;
  for (const read of reads) {
    // As the sinks read them (a user none of them looked up had nothing to be told).
    const listeners = await read();
    if (listeners?.webhooks.some(isActiveWebhook)) activeWebhooks = true;
  }
  return { activeWebhooks };
}
