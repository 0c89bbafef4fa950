// What the account app knows about the signed-in person, and the calls it makes for them.
// Every call goes to this origin's API with the personal token, through the public API
// only (the same calls any app with a personal token can make).
import { ApiError, api, userRoot } from '../www/assets/api.js';
import { streamNames } from '../www/assets/words.js';

export const ctx = {
  info: undefined, // service info
  session: undefined, // {username, token, mfa}
  root: undefined, // the user's API root
  self: undefined, // getAccessInfo of the personal token in use
  accesses: [], // accesses.get, expired ones included
  deletions: [], // accessDeletions
  streams: [], // the stream tree (trashed streams too, to name old permissions)
  names: new Map(), // stream id → "Parent › Child"
  lastSeen: new Map(), // access id → its newest audit record
  // Set by app.js: what the page does when the session ends, is ended here, or the account is erased.
  onSessionEnded: () => {},
  onSignedOut: (_message) => {},
  onErased: (_username) => {},
};

/** The session ended elsewhere (signed out everywhere, expired, account erased): back to sign-in. */
function ended(err) {
  if (err instanceof ApiError && err.id === 'invalid-access-token' && (err.status === 401 || err.status === 403)) {
    ctx.onSessionEnded();
    return true;
  }
  return false;
}

/** One API call on the user's root with the personal token. */
export async function call(method, path, options = {}) {
  try {
    return (await api(method, `${ctx.root}${path}`, { token: ctx.session.token, ...options })).body;
  } catch (err) {
    ended(err);
    throw err;
  }
}

/**
 * Several methods in one request (callBatch, spec §2.1): answers in order, each
 * `{...result}` or `{error}`; a failed call is returned as an ApiError, not thrown.
 */
export async function batch(calls) {
  if (calls.length === 0) return [];
  const body = await call('POST', '', { body: calls });
  return (body.results ?? []).map((r) => (r?.error ? new ApiError(400, r) : r));
}

/** Loads (again) the accesses and the stream tree, and the newest audit record of each live access. */
export async function refresh() {
  const [accesses, streams] = await batch([
    { method: 'accesses.get', params: { includeExpired: true, includeDeletions: true } },
    { method: 'streams.get', params: { state: 'all' } },
  ]);
  if (accesses instanceof ApiError) throw accesses;
  ctx.accesses = accesses.accesses ?? [];
  ctx.deletions = accesses.accessDeletions ?? [];
  ctx.streams = streams instanceof ApiError ? [] : (streams.streams ?? []);
  ctx.names = streamNames(ctx.streams);
}

/** "Last used from where": the newest audit record of each access, in one batch. */
export async function loadLastSeen(ids) {
  const answers = await batch(ids.map((accessId) => ({ method: 'audit.getLogs', params: { accessId, limit: 1 } })));
  answers.forEach((answer, i) => {
    const record = answer instanceof ApiError ? undefined : answer.auditLogs?.[0];
    if (record) ctx.lastSeen.set(ids[i], record);
    else ctx.lastSeen.delete(ids[i]);
  });
}

export function setRoot() {
  ctx.root = userRoot(ctx.info, ctx.session.username);
}

/**
 * The id an access was created with: the API shows an updated access as `{id}:{serial}`,
 * while `createdBy` and audit records keep the id it was created with.
 */
export const baseAccessId = (id) => String(id ?? '').replace(/:\d+$/, '');

/** The access an id (versioned or not) names, live, expired or deleted. */
export function accessById(id) {
  const base = baseAccessId(id);
  const same = (a) => baseAccessId(a.id) === base;
  return ctx.accesses.find(same) ?? ctx.deletions.find(same);
}

export const isExpired = (access, now = Date.now() / 1000) => typeof access.expires === 'number' && access.expires <= now;
