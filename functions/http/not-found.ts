import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { errors } from '../../shared/errors';
import { baseHeaders, errorBody, jsonResponse } from '../../shared/http/envelope';

/**
 * API Gateway's `$default` route: CORS preflights for every path (routes are per verb, so
 * OPTIONS never matches a method's route) and Pryv's JSON 404 for unknown routes.
 */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>().handler(async (event) => {
  const headers = baseHeaders(event.headers ?? {});
  if (event.requestContext?.http?.method === 'OPTIONS') return { statusCode: 200, headers, body: '' };
  const err = errors.unknownResource('route', `${event.requestContext?.http?.method ?? ''} ${event.rawPath}`.trim());
  return jsonResponse(err.status, errorBody(err), headers);
});
