import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { asPryvError, authenticate, flushUsage, newContext, runMethod } from '../api/execute';
import { observeCall } from '../api/observe';
import type { MethodContext, MethodDef, RequestInfo } from '../api/types';
import { errors, type PryvError, RegisterError } from '../errors';
import { sampleDebugLogs, withLogContext } from '../log';
import { traced } from '../tracing';
import { baseHeaders, errorBody, jsonResponse, jsonTextResponse, retryHeaders } from './envelope';
import { requestFromEvent } from './request';

type Event = APIGatewayProxyEventV2;
type Result = APIGatewayProxyStructuredResultV2;

/** Reads and deletions take their parameters from the query string (text only: coerced, Pryv API reference §1.4); writes from the body. */
export const paramsFromQuery = (verb: string): boolean => verb === 'GET' || verb === 'DELETE';

/** Default HTTP → params: query for reads and deletions, body for writes, plus path ids. */
export function defaultHttpParams(method: MethodDef, request: RequestInfo): unknown {
  if (method.httpParams) return method.httpParams(request);
  const { username: _u, ...pathIds } = request.pathParams;
  const source = paramsFromQuery(request.verb) ? request.query : request.body;
  if (Array.isArray(source)) return source;
  const params: Record<string, unknown> = { ...((source as Record<string, unknown> | undefined) ?? {}), ...pathIds };
  delete params.auth; // the token parameter is always tolerated (spec §1.7)
  return params;
}

/** Adds CORS and API-Version to every answer; renders anything that escaped as a Pryv error. */
function pryvEnvelope(): MiddlewareObj<Event, Result> {
  return {
    after: async (request) => {
      const response = request.response as Result;
      response.headers = { ...baseHeaders(request.event.headers ?? {}), ...response.headers };
    },
    onError: async (request) => {
      // middy's early timeout: the call ran out of time (a 503 to retry, not a 500).
      const err =
        request.error?.name === 'TimeoutError'
          ? errors.apiUnavailable('The call took too long to complete; it may have been partly applied. Retry it, or ask for less.')
          : asPryvError(request.error);
      request.response = jsonResponse(err.status, errorBody(err), { ...baseHeaders(request.event.headers ?? {}), ...retryHeaders(err) });
    },
  };
}

export function errorResponse(err: unknown, ctx?: MethodContext): Result {
  return renderError(err instanceof RegisterError ? err : asPryvError(err, ctx), ctx);
}

function renderError(rendered: PryvError | RegisterError, ctx?: MethodContext): Result {
  const headers: Record<string, string> = retryHeaders(rendered);
  if (ctx?.access) headers['Pryv-Access-Id'] = ctx.access.id;
  return jsonResponse(rendered.status, errorBody(rendered), headers);
}

const ANSWER_MARGIN_MS = 3000; // stop starting work this long before the Lambda timeout: answer, don't time out

async function serve(method: MethodDef, event: Event, context?: Context): Promise<Result> {
  if (event.requestContext?.http?.method === 'OPTIONS') return { statusCode: 200, body: '' };
  const startedAt = performance.now();
  let ctx: MethodContext | undefined;
  try {
    const request = await requestFromEvent(event);
    ctx = newContext(method.id, request);
    if (context?.getRemainingTimeInMillis) ctx.deadline = Date.now() + context.getRemainingTimeInMillis() - ANSWER_MARGIN_MS;
    await authenticate(method, ctx);
    const params = defaultHttpParams(method, request);
    const result = await runMethod(method, ctx, params, { coerce: paramsFromQuery(request.verb) });
    await flushUsage(ctx);
    const status = ctx.response.status ?? method.status ?? 200;
    observeCall(method.id, ctx, { status }, startedAt);
    if (ctx.response.raw) {
      return {
        statusCode: status,
        headers: ctx.response.headers,
        body: ctx.response.raw.toString('base64'),
        isBase64Encoded: true,
      };
    }
    if (ctx.response.json !== undefined) return jsonTextResponse(status, ctx.response.json, ctx.response.headers, ctx.response.cookies);
    return jsonResponse(status, result, ctx.response.headers, ctx.response.cookies);
  } catch (err) {
    const rendered = err instanceof RegisterError ? err : asPryvError(err, ctx);
    observeCall(method.id, ctx, { status: rendered.status, errorId: rendered.id }, startedAt);
    return renderError(rendered, ctx);
  }
}

/** The Lambda handler of one API method (functions/api/*.ts). */
export function httpHandler(method: MethodDef) {
  return middy<Event, Result>()
    .use(pryvEnvelope())
    .handler((event: Event, context: Context) => {
      sampleDebugLogs();
      // Every line of this call carries its request id (API Gateway's, also in the access log).
      return withLogContext({ requestId: event.requestContext?.requestId }, () => traced(method.id, () => serve(method, event, context)));
    });
}
