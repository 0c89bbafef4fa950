import { callerOf } from '../api/caller';
import { asPryvError, authenticate, newContext } from '../api/execute';
import { meta } from '../api/meta';
import type { MethodContext, MethodDef, RequestInfo } from '../api/types';
import { checkScopesFor, MAX_SCOPES, parseSubscribePayload, parseUnsubscribePayload } from '../domain/notifications/scopes';
import { loadUserData } from '../domain/user-data';
import { errors } from '../errors';
import type { NamedScopes } from '../model/notifications';
import type { SocketConnection } from '../model/socket-connections';
import { setConnectionScopes } from '../store/socket-connections';

/**
 * [v2] Named notification scopes over a socket (spec §6.1): `subscribe`, `unsubscribe` and
 * `getSubscriptions` are socket messages, not API methods. A connection with scopes gets
 * `notificationsChanged {keys}` for the scopes a change falls in (shared/domain/notifications/)
 * instead of the coarse `eventsChanged`/`streamsChanged`/`accessesChanged`. Each message is
 * authenticated like a method call; scopes are checked against the access as `events.get`
 * checks a streams query.
 *
 * Answers: subscribe/unsubscribe `(null, {ok: true, keys, meta})` with every key held after
 * the change; getSubscriptions `(null, {scopes: {key: {kind, query}}, meta})`; errors `({error, meta})`.
 */
export const SUBSCRIPTION_MESSAGES = new Set(['subscribe', 'unsubscribe', 'getSubscriptions']);

const standIn = (id: string): MethodDef => ({ id: `socket.${id}`, routes: [], auth: 'token', params: {}, run: async () => ({}) });

export async function answerSubscription(
  connection: SocketConnection,
  message: string,
  params: unknown,
  request: RequestInfo,
): Promise<unknown[]> {
  let ctx: MethodContext | undefined;
  try {
    const method = standIn(message);
    ctx = newContext(method.id, request);
    await authenticate(method, ctx); // a revoked or expired access stops here, as for method calls
    const held: NamedScopes = { ...(connection.scopes ?? {}) };
    if (message === 'getSubscriptions') return [null, { scopes: held, meta: meta() }];
    if (message === 'unsubscribe') {
      const drop = parseUnsubscribePayload(params);
      for (const key of drop === 'all' ? Object.keys(held) : drop) delete held[key];
    } else {
      const added = parseSubscribePayload(params);
      const caller = callerOf(ctx);
      const { tree, permissions } = await loadUserData(caller);
      checkScopesFor(added, tree, permissions);
      Object.assign(held, added);
      if (Object.keys(held).length > MAX_SCOPES) throw errors.invalidRequestStructure(`A connection holds at most ${MAX_SCOPES} scopes.`);
    }
    if (!(await setConnectionScopes(connection, held))) throw errors.invalidOperation('The connection is closed.');
    connection.scopes = held;
    return [null, { ok: true, keys: Object.keys(held), meta: meta() }];
  } catch (err) {
    return [{ error: asPryvError(err, ctx).toJSON(), meta: meta() }];
  }
}
