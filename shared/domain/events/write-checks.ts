import { errors } from '../../errors';
import type { Attachment } from '../../model/events';
import { type EventHead, type IndexPlacement, MAX_INDEX_ITEMS } from '../../store/events/items';
import { getEventHead } from '../../store/events/read';
import type { StreamTree } from '../streams/tree';
import { getEventTypes } from './event-types';

/** What every event write checks and needs: live streams, content that fits its type, where it is indexed. */

/** Where an event is indexed: its streams, and their ancestors for subtree reads. */
export function placementFor(tree: StreamTree, streamIds: string[]): IndexPlacement {
  const inherited = new Set<string>();
  for (const id of streamIds) for (const ancestor of tree.ancestors(id)) inherited.add(ancestor);
  const placement = { direct: streamIds, inherited: [...inherited] };
  if (placement.direct.length + placement.inherited.length + 3 > MAX_INDEX_ITEMS) {
    throw errors.invalidParametersFormat('The event belongs to too many streams (with their ancestors).', { streamIds });
  }
  return placement;
}

/** Every stream exists (400 unknown-referenced-resource) and none is trashed (400 invalid-operation). */
export function checkStreams(tree: StreamTree, streamIds: string[]): void {
  const missing = streamIds.filter((id) => !tree.has(id));
  if (missing.length > 0) throw errors.unknownReferencedResource('stream(s)', { streamIds: missing });
  const trashed = streamIds.filter((id) => tree.isTrashed(id));
  if (trashed.length > 0) {
    throw errors.invalidOperation('Events cannot be written into trashed streams.', { trashedReference: 'streamIds', streamIds: trashed });
  }
}

export async function validateContent(type: string, content: unknown): Promise<void> {
  (await getEventTypes()).validateContent(type, content);
}

/** Previous versions of updated events are kept unless KEEP_EVENT_HISTORY=false. */
export const keepHistory = () => process.env.KEEP_EVENT_HISTORY !== 'false';

/** The live event of that id (404 when unknown or deleted). */
export async function loadEvent(username: string, id: string): Promise<EventHead> {
  const { head, deletion } = await getEventHead(username, id);
  if (!head || deletion) throw errors.unknownResource('event', id);
  return head;
}

/** Bytes of a list of attachments (the account's `storageUsed.attachedFiles`). */
export const totalSize = (attachments: Attachment[]) => attachments.reduce((sum, a) => sum + a.size, 0);
