import { ALL_OBJECT_AREAS } from '../../store/keys';
import { type BatchCall, type MethodLookup, runBatch } from '../batch';
import { ALL_ACCESS_TYPES, defineMethod } from '../types';

/**
 * `callBatch` (spec §2.1): several calls in one request (shared/api/batch.ts runs them).
 * It finds the methods it runs through `lookup`: the registry builds it with its own.
 */
export const callBatchMethod = (lookup: MethodLookup) =>
  defineMethod<BatchCall[]>({
    id: 'callBatch',
    bucket: ALL_OBJECT_AREAS, // runs any method
    routes: [
      { verb: 'POST', path: '/{username}' },
      { verb: 'POST', path: '/{username}/' },
    ],
    auth: 'token',
    accessTypes: ALL_ACCESS_TYPES,
    capabilities: ['filesSecret', 'socketManagement'], // every capability of the methods it runs
    batchable: false,
    params: {
      type: 'array',
      items: {
        type: 'object',
        properties: { method: { type: 'string', minLength: 1 }, params: { type: ['object', 'array'] } },
        required: ['method', 'params'],
        additionalProperties: false,
      },
    },
    httpParams: (request) => request.body ?? [],
    run: async (ctx, calls) => ({ results: await runBatch(ctx, calls, lookup) }),
  });
