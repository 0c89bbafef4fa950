import { seriesAnswer } from '../../domain/series/large-answers';
import type { FlatJson } from '../../domain/series/points';
import { getSeriesPoints, type SeriesQuery } from '../../domain/series/read';
import { addSeriesBatch, addSeriesPoints, type SeriesBatch } from '../../domain/series/write';
import { PryvError } from '../../errors';
import { callerOf } from '../caller';
import { ALL_ACCESS_TYPES, defineMethod, type MethodContext } from '../types';

/**
 * HF series (Pryv API reference §2.2.7): HTTP only (not in callBatch, not over sockets), the
 * token in the Authorization header. Rules in shared/domain/series/, storage in
 * shared/store/series/.
 */

const flatJsonSchema = {
  type: 'object',
  properties: {
    format: { type: 'string', enum: ['flatJSON'] },
    fields: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
    points: { type: 'array', items: { type: 'array' } },
  },
  required: ['format', 'fields', 'points'],
  additionalProperties: false,
} as const;

/** Pryv's HF server reads the token from the Authorization header only. */
function requireAuthorizationHeader(ctx: MethodContext): void {
  if (!ctx.request.headers.authorization) {
    throw new PryvError('missing-header', 401, 'Missing "Authorization" header: HF series calls take the access token there.');
  }
}

const ok = { status: 'ok' };

export const seriesGet = /* @__PURE__ */ defineMethod<SeriesQuery & { id: string }>({
  id: 'series.get',
  bucket: ['pending'], // answers too large for Lambda
  routes: [{ verb: 'GET', path: '/{username}/events/{id}/series' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  batchable: false,
  params: {
    type: 'object',
    properties: { id: { type: 'string' }, fromDeltaTime: { type: 'number' }, toDeltaTime: { type: 'number' } },
    required: ['id'],
    additionalProperties: false,
  },
  run: async (ctx, params) => {
    requireAuthorizationHeader(ctx);
    const caller = callerOf(ctx);
    const answer = await getSeriesPoints(caller, params.id, params);
    // Larger than a Lambda answer may be: stored in the bucket and answered with a short-lived link.
    const body = await seriesAnswer(caller, answer);
    if ('json' in body) {
      ctx.response.json = body.json;
      return {};
    }
    ctx.response.status = 302;
    ctx.response.headers.Location = body.location;
    ctx.response.raw = Buffer.alloc(0);
    return {};
  },
});

export const seriesAdd = /* @__PURE__ */ defineMethod<{ id: string; body: FlatJson }>({
  id: 'series.add',
  routes: [{ verb: 'POST', path: '/{username}/events/{id}/series' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  batchable: false,
  params: {
    type: 'object',
    properties: { id: { type: 'string' }, body: flatJsonSchema },
    required: ['id', 'body'],
    additionalProperties: false,
  },
  httpParams: (request) => ({ id: request.pathParams.id, body: request.body ?? {} }),
  run: async (ctx, params) => {
    requireAuthorizationHeader(ctx);
    await addSeriesPoints(callerOf(ctx), params.id, params.body);
    return ok;
  },
});

export const seriesBatch = /* @__PURE__ */ defineMethod<SeriesBatch>({
  id: 'series.batch',
  routes: [{ verb: 'POST', path: '/{username}/series/batch' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  batchable: false,
  // Pryv's documentation says 201; its server answers 200 (Pryv API reference §9): clients check `status: "ok"`.
  status: 200,
  params: {
    type: 'object',
    properties: {
      format: { type: 'string', enum: ['seriesBatch'] },
      data: {
        type: 'array',
        items: {
          type: 'object',
          properties: { eventId: { type: 'string', minLength: 1 }, data: flatJsonSchema },
          required: ['eventId', 'data'],
          additionalProperties: false,
        },
      },
    },
    required: ['format', 'data'],
    additionalProperties: false,
  },
  httpParams: (request) => request.body ?? {},
  run: async (ctx, params) => {
    requireAuthorizationHeader(ctx);
    await addSeriesBatch(callerOf(ctx), params);
    return ok;
  },
});
