import type { StoredEvent } from '../../model/events';
import type { DataMeta } from '../../model/streams';
import { type ReadStats, readRunning } from '../../store/events/read';
import { lowerRunningFrom, markRunningKnown } from '../../store/streams';

/**
 * Running events (open end, `duration: null`) and what the data meta knows of them
 * (DataMeta.runningFrom, runningKnown): the writes that store one lower `runningFrom` before
 * they commit, so that bounded reads Query the running events only when one may have begun
 * before their range. README "Data model" tells the rule.
 */

/**
 * Before a version of an event is stored: when it is running and began before what the data
 * meta knows (`runningFrom`, as the call read it: it is only ever lowered, so an older value
 * is never too low), lowers it to the event's time. Returns `runningFrom` as it is now known.
 */
export async function beforeStoringRunning(
  username: string,
  runningFrom: number | undefined,
  event: StoredEvent,
): Promise<number | undefined> {
  if (event.duration !== null) return runningFrom;
  if (runningFrom !== undefined && runningFrom <= event.time) return runningFrom;
  await lowerRunningFrom(username, event.time);
  return event.time;
}

/**
 * The running events that began before `lower` (a bounded read's lower bound: those its
 * ranges cannot find). No request when the data meta knows every running event began at or
 * after it, or that there is none. Else one Query of them; the first such read of an account
 * whose running events are not known yet also records what it found (lowers `runningFrom`
 * to the earliest, then marks them known: in that order, so that no read sees them known
 * before `runningFrom` covers them).
 */
export async function runningBefore(u: string, lower: number, meta: DataMeta, stats: ReadStats): Promise<StoredEvent[]> {
  if (meta.runningKnown && (meta.runningFrom === undefined || meta.runningFrom >= lower)) return [];
  const running = await readRunning(u, stats);
  if (!meta.runningKnown) await recordRunning(u, meta, running);
  return running.filter((e) => e.time < lower);
}

/** Every running event (`running: true`): none to read when the data meta knows there never was one. */
export async function allRunning(u: string, meta: DataMeta, stats: ReadStats): Promise<StoredEvent[]> {
  if (meta.runningKnown && meta.runningFrom === undefined) return [];
  const running = await readRunning(u, stats);
  if (!meta.runningKnown) await recordRunning(u, meta, running);
  return running;
}

/**
 * What a read of all running events found, for an account whose running events are not
 * known yet. Events committed after the Query lowered `runningFrom` themselves; those it
 * found lower it here, before the mark.
 */
async function recordRunning(u: string, meta: DataMeta, running: StoredEvent[]): Promise<void> {
  let earliest: number | undefined;
  for (const e of running) if (earliest === undefined || e.time < earliest) earliest = e.time;
  if (earliest !== undefined && (meta.runningFrom === undefined || earliest < meta.runningFrom)) await lowerRunningFrom(u, earliest);
  await markRunningKnown(u);
}
