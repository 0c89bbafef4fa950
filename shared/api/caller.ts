import type { Caller } from '../domain/caller';
import type { MethodContext } from './types';

/**
 * The caller of a method that authenticated an access (`auth: 'token'`, or a method that
 * resolved its reader itself): what domain code gets instead of the whole context.
 */
export function callerOf(ctx: MethodContext): Caller {
  const { access, username } = ctx;
  if (!access || username === undefined) throw new Error(`${ctx.methodId}: no authenticated access`);
  const callerId = ctx.request.callerId;
  return {
    username,
    access,
    now: ctx.now,
    author: callerId ? `${access.id} ${callerId}` : access.id,
    config: ctx.config,
    prefetched: ctx.prefetched,
    ...(ctx.inBatch ? { inBatch: true } : {}),
    alongside: (work) => {
      ctx.afterCommit ??= [];
      ctx.afterCommit.push(work);
    },
    withRecords: ({ counters, inserts = [], then }) => {
      ctx.counters ??= [];
      ctx.counters.push(...counters);
      if (inserts.length > 0) {
        ctx.inserts ??= [];
        ctx.inserts.push(...inserts);
      }
      if (then) {
        ctx.afterRecords ??= [];
        ctx.afterRecords.push(then);
      }
    },
  };
}

/** The user a route's path names (`{username}`), for methods that authenticate no access. */
export function pathUser(ctx: MethodContext): string {
  if (ctx.username === undefined) throw new Error(`${ctx.methodId}: the route has no {username}`);
  return ctx.username;
}
