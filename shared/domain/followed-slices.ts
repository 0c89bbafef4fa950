import type { FollowedSlice } from '../model/followed-slices';
/** `followedSlices.get` lists by name (spec §2.6). */
export const byName = (a: FollowedSlice, b: FollowedSlice) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
