import { errors } from '../errors';
import { asPryvError, runMethod } from './execute';
import { observeCall } from './observe';
import type { MethodContext, MethodDef, MethodResult } from './types';

/**
 * The batch engine behind `callBatch` (spec §2.1), and the rules a call must follow to run
 * inside a batch or over a socket. Calls run in order with the same access; each failure
 * becomes that call's `{error}` and the batch goes on.
 */

/**
 * Finds a method by id: the registry, passed in by whoever composes the methods (the registry
 * itself, a socket handler), or method-loaders.ts, which loads a method on its first use.
 */
export type MethodLookup = (id: string) => MethodDef | undefined | Promise<MethodDef | undefined>;

export interface BatchCall {
  method: string;
  params: unknown;
}

/** May be called inside callBatch and over sockets (default: methods with `token` auth). */
export function isBatchable(method: { batchable?: boolean; auth: string }): boolean {
  return method.batchable ?? method.auth === 'token';
}

const MAX_ARRAY_ITEMS = 100_000; // Pryv's cap on non-streamed array results (batch and socket calls)

/** Answers that are not streamed (batch and socket calls) may not carry arrays over Pryv's cap (spec §2.1, §6.1). */
export function checkArrayCap(result: MethodResult): void {
  if (Object.values(result).some((v) => Array.isArray(v) && v.length > MAX_ARRAY_ITEMS)) throw errors.tooManyResults(MAX_ARRAY_ITEMS);
}

const PARALLEL_CREATES = 8; // bulk uploads (the pryv library sends 1,000 calls per batch) within the time limit

/**
 * How many calls from `start` may run together: a run of consecutive `events.create` calls
 * (each independent of the others: different events, results kept in call order), cut
 * before one that repeats an explicit event id (its outcome depends on which runs first).
 * Anything else runs alone, in order, as Pryv runs batches.
 */
export function independentCreates(calls: ReadonlyArray<{ method: string; params: unknown }>, start: number): number {
  const ids = new Set<string>();
  let end = start;
  while (end < calls.length && end - start < PARALLEL_CREATES && calls[end]!.method === 'events.create') {
    const id = (calls[end]!.params as { id?: unknown } | null)?.id;
    if (typeof id === 'string') {
      if (ids.has(id)) break;
      ids.add(id);
    }
    end++;
  }
  return Math.max(1, end - start);
}

/** Runs the calls of a batch with the batch's context; one result (or `{error}`) per call, in order. */
export async function runBatch(ctx: MethodContext, calls: BatchCall[], lookup: MethodLookup): Promise<MethodResult[]> {
  const results: MethodResult[] = [];
  const batchMethodId = ctx.methodId;
  ctx.inBatch = true;
  const runOne = async (call: BatchCall, index: number): Promise<MethodResult> => {
    const startedAt = performance.now();
    // A method id from the request names no metric or log field unless it is a real one.
    let methodId = 'unknown';
    try {
      const method = await lookup(call.method);
      methodId = method?.id ?? 'unknown';
      // Out of time: the calls not started are reported, not run, and the batch still answers.
      if (ctx.deadline !== undefined && Date.now() > ctx.deadline) {
        throw errors.apiUnavailable('Not run: the batch ran out of time before this call. Send it again.');
      }
      if (!method || !isBatchable(method)) throw errors.invalidMethod(call.method);
      const result = await runMethod(method, ctx, call.params, { coerce: false });
      checkArrayCap(result);
      observeCall(methodId, ctx, { status: method.status ?? 200 }, startedAt, { batchIndex: index, transport: 'batch' });
      return result;
    } catch (err) {
      const rendered = asPryvError(err, ctx);
      observeCall(methodId, ctx, { status: rendered.status, errorId: rendered.id }, startedAt, { batchIndex: index, transport: 'batch' });
      return { error: rendered.toJSON() };
    }
  };
  for (let i = 0; i < calls.length; ) {
    const run = independentCreates(calls, i);
    results.push(...(await Promise.all(calls.slice(i, i + run).map((call, k) => runOne(call, i + k)))));
    i += run;
  }
  ctx.methodId = batchMethodId;
  ctx.inBatch = undefined;
  return results;
}
