import { loadStreams } from '../store/streams';
import { StreamTree } from './streams/tree';
import { AccessPermissions } from './accesses/permissions';
import type { DataMeta } from '../model/streams';
import type { Caller } from './caller';

export interface UserData {
  tree: StreamTree;
  meta: DataMeta;
  permissions: AccessPermissions;
}

/**
 * The caller's view of a user's data for one call: the stream tree (one Query) and the
 * access's permissions over it. Loaded per call, so a batch sees its own earlier changes.
 */
export async function loadUserData(caller: Pick<Caller, 'username' | 'access'>): Promise<UserData> {
  const { streams, meta } = await loadStreams(caller.username);
  const tree = new StreamTree(streams);
  return { tree, meta, permissions: new AccessPermissions(caller.access, tree) };
}
