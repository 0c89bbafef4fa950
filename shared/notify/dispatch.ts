import type { ChangeMessage } from './changes';

/**
 * Where change messages go. Webhook delivery and socket pushes register here;
 * the fan-out handler calls `dispatchChanges` once per stream batch.
 */
export type ChangeSink = (username: string, messages: string[]) => Promise<void>;

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

/** Hands each user's messages to every sink; rejects if any sink failed for any user. */
export async function dispatchChanges(changes: Map<string, Set<ChangeMessage>>): Promise<void> {
  const calls: Promise<void>[] = [];
  for (const [username, messages] of changes) {
    const list = [...messages].sort();
    for (const sink of sinks) calls.push(sink(username, list));
  }
  const failed = (await Promise.allSettled(calls)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
