import { errors } from '../../errors';
import type { StoredStream } from '../../model/streams';
import type { AccessPermissions } from '../accesses/permissions';
import { type ApiStream, StreamTree } from '../streams/tree';
import { isKnownSystemStream, isSystemStreamId, SYSTEM_STREAMS } from './definitions';

/**
 * The shown account system streams as `streams.get` lists them (Pryv API reference §7): the
 * personal access sees them all, others those an explicit permission lets them list (never
 * through `*`); hidden ones never appear. They carry no creation fields: no one created them.
 */
const shownTree = new StreamTree(
  SYSTEM_STREAMS.filter((s) => s.shown).map((s) => ({ id: s.id, name: s.name, parentId: s.parentId }) as StoredStream),
);

/** The listable system forest (`parentId` null) or the listable children of a system stream. */
export function systemStreamsForApi(permissions: AccessPermissions, parentId: string | null): ApiStream[] {
  if (parentId !== null) {
    if (!isSystemStreamId(parentId)) return [];
    // Hidden streams do not exist for the API.
    if (!isKnownSystemStream(parentId) || !shownTree.has(parentId)) throw errors.unknownReferencedResource('parent stream', { parentId });
    if (!permissions.canList(parentId)) throw errors.forbidden('It is forbidden to access this stream.');
  }
  return shownTree.toApiForest({ parentId, isListable: (id) => permissions.canList(id) });
}
