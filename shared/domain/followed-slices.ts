import { errors, rejectProtectedFields } from '../errors';
import { newId } from '../ids';
import type { FollowedSlice } from '../model/followed-slices';
import {
  createFollowedSlice,
  deleteFollowedSlice,
  getFollowedSlice,
  listFollowedSlices,
  renameFollowedSlice,
} from '../store/followed-slices';

/** Followed slices (spec §2.6, §3.5): bookmarks of other accounts' data, unique by name and by (url, accessToken). */

/** `followedSlices.get` lists by name (spec §2.6). */
export const byName = (a: FollowedSlice, b: FollowedSlice) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export const followedSlicesOf = async (username: string) => (await listFollowedSlices(username)).sort(byName);

async function existing(username: string, id: string): Promise<FollowedSlice> {
  const slice = await getFollowedSlice(username, id);
  if (!slice) throw errors.unknownResource('followed slice', id);
  return slice;
}

/** A new slice (its id is the server's). */
export async function followSlice(username: string, input: { name: string; url: string; accessToken: string }): Promise<FollowedSlice> {
  const slice: FollowedSlice = { id: newId(), name: input.name, url: input.url, accessToken: input.accessToken };
  const outcome = await createFollowedSlice(username, slice);
  if (outcome === 'name') throw errors.itemAlreadyExists('followed slice', { name: slice.name });
  if (outcome === 'target') throw errors.itemAlreadyExists('followed slice', { url: slice.url, accessToken: slice.accessToken });
  return slice;
}

/** Only `name` can change (spec §2.6): the other fields are refused (403) once the slice is known to exist. */
export async function updateSlice(username: string, id: string, update: { name?: string }): Promise<FollowedSlice> {
  const slice = await existing(username, id);
  rejectProtectedFields(update, ['id', 'url', 'accessToken']);
  const name = update.name;
  if (name !== undefined) {
    const outcome = await renameFollowedSlice(username, slice, name);
    if (outcome === 'name') throw errors.itemAlreadyExists('followed slice', { name });
    if (outcome === 'gone') throw errors.unknownResource('followed slice', id);
  }
  return { ...slice, name: name ?? slice.name };
}

export async function unfollowSlice(username: string, id: string): Promise<FollowedSlice> {
  const slice = await existing(username, id);
  if (!(await deleteFollowedSlice(username, slice))) throw errors.unknownResource('followed slice', id);
  return slice;
}
