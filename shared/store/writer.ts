import { logContext } from '../log';
import type { PushMark } from '../model/notifications';

/**
 * The attribute where an item remembers the request id of the call that wrote it. Never
 * returned to clients nor exported: every reader strips it with the item's keys.
 */
export const WRITER_ATTRIBUTE = 'rq';

/**
 * The attribute where an event head keeps the mark of its writer's direct push to sockets
 * (shared/store/socket-pushes.ts). Stripped by every reader, like the request id.
 */
export const PUSH_MARK_ATTRIBUTE = 'ps';

/** The push mark an event head carries, if it is well formed. */
export function pushMarkOf(item: Record<string, unknown> | undefined): PushMark | undefined {
  const mark = item?.[PUSH_MARK_ATTRIBUTE] as Partial<PushMark> | undefined;
  return mark && typeof mark.id === 'string' && typeof mark.by === 'number' ? { id: mark.id, by: mark.by } : undefined;
}

/** Longer ids are cut: API Gateway's are about 16 characters, UUIDs 36. */
const REQUEST_ID_MAX = 64;

/**
 * The items clients' changes are told from (event heads and tombstones, streams and stream
 * deletion records, accesses and access deletion records) remember which call wrote them, as
 * the call's log context holds it, so that the change fan-out can name it in its log lines
 * (`causedByRequestId`, README "Operating it") from the stream record alone. One short,
 * unindexed attribute per item, not on index copies, pointers or versions.
 */
export function writerOf(): { rq?: string } {
  const id = logContext().requestId;
  return typeof id === 'string' && id.length > 0 ? { rq: id.slice(0, REQUEST_ID_MAX) } : {};
}
