import type { ChangeDetail } from '../../model/notifications';
import type { StoredStream } from '../../model/streams';
import { deletedStreamParents } from '../../store/streams';
import { StreamTree } from '../streams/tree';

/**
 * Deleting a trashed stream deletes it (and its subtree) first, then its events: by the time
 * the fan-out decides who hears of those event deletions, the streams they were in are gone
 * from the tree, and with them the inherited permissions that let a listener read them
 * (README "Sockets": who hears of what). So a batch is decided on the current tree plus the
 * streams its changes name that are no longer in it, put back trashed where their deletion
 * record says they were: found in the batch itself when the deletion is in it, else read
 * (one BatchGetItem per level of deleted ancestors, and only for a batch naming a stream the
 * tree lacks).
 */
const MAX_LEVELS = 16;

/** Stream ids a batch's changes name: the streams of event versions, and the places of stream changes. */
function namedStreams(details: readonly ChangeDetail[]): Set<string> {
  const ids = new Set<string>();
  for (const d of details) {
    if (d.kind === 'event') for (const v of [d.before, d.after]) for (const id of v?.streamIds ?? []) ids.add(id);
    else if (d.kind === 'stream') for (const p of d.places) if (typeof p === 'string') ids.add(p);
  }
  return ids;
}

/** Deleted streams' places the batch tells: stream changes of streams no longer in the tree (their deletion records). */
function placesInBatch(tree: StreamTree, details: readonly ChangeDetail[]): Map<string, string | null> {
  const places = new Map<string, string | null>();
  for (const d of details) {
    if (d.kind !== 'stream' || tree.has(d.id)) continue;
    const place = d.places.findLast((p) => p !== undefined);
    if (place !== undefined) places.set(d.id, place);
  }
  return places;
}

export async function withDeletedStreams(
  username: string,
  tree: StreamTree,
  details: readonly ChangeDetail[],
  readParents: (username: string, ids: string[]) => Promise<Map<string, string | null>> = deletedStreamParents,
): Promise<StreamTree> {
  let frontier = [...namedStreams(details)].filter((id) => !tree.has(id));
  if (frontier.length === 0) return tree;
  const known = placesInBatch(tree, details);
  const seen = new Set(frontier);
  for (let level = 0; level < MAX_LEVELS && frontier.length > 0; level++) {
    const toRead = frontier.filter((id) => !known.has(id));
    if (toRead.length > 0) for (const [id, parent] of await readParents(username, toRead)) known.set(id, parent);
    // Their parents may be gone too (a subtree deleted at once): up one level.
    const next: string[] = [];
    for (const id of frontier) {
      const parent = known.get(id);
      if (typeof parent === 'string' && !tree.has(parent) && !seen.has(parent)) {
        seen.add(parent);
        next.push(parent);
      }
    }
    frontier = next;
  }
  const restored = [...known].filter(([id]) => !tree.has(id));
  if (restored.length === 0) return tree;
  const ghost = ([id, parentId]: [string, string | null]): StoredStream => ({
    id,
    name: id,
    parentId,
    trashed: true, // only a trashed stream can be deleted
    created: 0,
    createdBy: '',
    modified: 0,
    modifiedBy: '',
  });
  return new StreamTree([...tree.ids().map((id) => tree.get(id)!), ...restored.map(ghost)]);
}
