import type { DataMeta, StoredStream } from '../model/streams';
import { loadStreamChains, loadStreams, readDataMeta } from '../store/streams';
import { AccessPermissions } from './accesses/permissions';
import type { Caller } from './caller';
import { StreamTree } from './streams/tree';

export interface UserData {
  tree: StreamTree;
  meta: DataMeta;
  permissions: AccessPermissions;
}

/**
 * Stream trees this container built, by user, with the tree version they were read at.
 * Every stream write changes the version (store/streams.ts), so a tree is reused only while
 * the stored version still matches: warm calls skip the tree Query and the build. Least
 * recently used trees go first once the streams held pass the bound.
 */
const trees = new Map<string, { version: string; tree: StreamTree }>();
const MAX_CACHED_STREAMS = 100_000;
let cachedStreams = 0;

function cachedTree(username: string, version: string): StreamTree | undefined {
  const entry = trees.get(username);
  if (!entry || entry.version !== version) return undefined;
  trees.delete(username); // re-insert: most recently used last
  trees.set(username, entry);
  return entry.tree;
}

function remember(username: string, version: string, tree: StreamTree): void {
  forget(username);
  if (tree.size > MAX_CACHED_STREAMS) return;
  trees.set(username, { version, tree });
  cachedStreams += tree.size;
  for (const [oldest, entry] of trees) {
    if (cachedStreams <= MAX_CACHED_STREAMS) break;
    trees.delete(oldest);
    cachedStreams -= entry.tree.size;
  }
}

function forget(username: string): void {
  const entry = trees.get(username);
  if (!entry) return;
  trees.delete(username);
  cachedStreams -= entry.tree.size;
}

/** A cached tree is shared by every later call: its streams must never change in place. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * The caller's view of a user's data for one call: the stream tree and the access's
 * permissions over it. The data meta is read on every call (taken from what authentication
 * read with the token when it is there, once: a batch's later calls read it again, so they
 * see the batch's own changes); the tree is Queried only when this container holds no tree
 * of that version.
 */
export async function loadUserData(caller: Pick<Caller, 'username' | 'access' | 'prefetched'>): Promise<UserData> {
  const { username } = caller;
  let meta = caller.prefetched?.dataMeta;
  if (meta) caller.prefetched!.dataMeta = undefined;
  // Without a tree held for this user, the Query alone answers both (it reads the meta item too).
  if (!meta && trees.has(username)) meta = await readDataMeta(username);
  let tree = meta?.treeVersion !== undefined ? cachedTree(username, meta.treeVersion) : undefined;
  if (!tree) {
    const loaded = await loadStreams(username);
    tree = new StreamTree(loaded.streams.map((s: StoredStream) => deepFreeze(s)));
    meta = loaded.meta;
    if (meta.treeVersion !== undefined) remember(username, meta.treeVersion, tree);
    else forget(username);
  }
  return { tree, meta: meta!, permissions: new AccessPermissions(caller.access, tree) };
}

/** Whether this container holds a tree of the user (then loadStreamTree costs one GetItem, not a Query). */
export function holdsStreamTree(username: string): boolean {
  return trees.has(username);
}

/**
 * A user's stream tree, for work outside any call (the change fan-out deciding who may hear
 * of a batch): one GetItem of the data meta when this container holds the current version,
 * else one Query.
 */
export async function loadStreamTree(username: string): Promise<StreamTree> {
  const meta = trees.has(username) ? await readDataMeta(username) : undefined;
  const cached = meta?.treeVersion !== undefined ? cachedTree(username, meta.treeVersion) : undefined;
  if (cached) return cached;
  const loaded = await loadStreams(username);
  const tree = new StreamTree(loaded.streams.map((s: StoredStream) => deepFreeze(s)));
  if (loaded.meta.treeVersion !== undefined) remember(username, loaded.meta.treeVersion, tree);
  else forget(username);
  return tree;
}

/**
 * The caller's view for a write whose rules only look up the tree from some streams (a
 * stream write: the stream, its parent, the target parent of a move and their ancestors, for
 * existence, trashed state, inherited permissions and cycles): the cached tree when this
 * container holds the current version, else only those streams and their ancestors (one
 * BatchGetItem per level), not the whole tree. The partial tree answers `has`, `get`,
 * `isTrashed`, `ancestors`, `wouldCreateCycle` and the permission levels of these streams as
 * the whole tree would; nothing else may be asked of it.
 */
export async function loadUserDataAround(
  caller: Pick<Caller, 'username' | 'access' | 'prefetched'>,
  ids: ReadonlyArray<string | null | undefined>,
): Promise<UserData> {
  const { username } = caller;
  let meta = caller.prefetched?.dataMeta;
  if (meta) caller.prefetched!.dataMeta = undefined;
  else meta = await readDataMeta(username);
  const cached = meta.treeVersion !== undefined ? cachedTree(username, meta.treeVersion) : undefined;
  const tree =
    cached ??
    new StreamTree(
      (
        await loadStreamChains(
          username,
          ids.filter((id): id is string => typeof id === 'string'),
        )
      ).map(deepFreeze),
    );
  return { tree, meta, permissions: new AccessPermissions(caller.access, tree) };
}
