import type { MethodContext } from '../api/types';
import { loadStreams } from '../store/streams';
import { StreamTree } from './streams/tree';
import { AccessPermissions } from './accesses/permissions';
import type { DataMeta } from '../model/streams';

export interface UserData {
  tree: StreamTree;
  meta: DataMeta;
  permissions: AccessPermissions;
}

/**
 * The caller's view of a user's data for one call: the stream tree (one Query) and the
 * access's permissions over it. Loaded per call, so a batch sees its own earlier changes.
 */
export async function loadUserData(ctx: MethodContext): Promise<UserData> {
  const { streams, meta } = await loadStreams(ctx.username!);
  const tree = new StreamTree(streams);
  return { tree, meta, permissions: new AccessPermissions(ctx.access!, tree) };
}

/** `createdBy` / `modifiedBy`: the access id, plus the caller id when one was given (spec §1.3). */
export function author(ctx: MethodContext): string {
  const id = ctx.access?.id ?? 'system';
  return ctx.request.callerId ? `${id} ${ctx.request.callerId}` : id;
}
