/** A followed slice (spec §3.5): a bookmark of another account's data through one of its tokens. */
export interface FollowedSlice {
  id: string;
  name: string;
  /** API endpoint of the other account; not modifiable. */
  url: string;
  /** Not modifiable. */
  accessToken: string;
}
