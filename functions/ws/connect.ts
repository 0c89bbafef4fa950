import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { acceptConnection } from '../../shared/socketio/inbound';
import type { WebSocketEvent } from './event';

/** WebSocket API `$connect` route (shared/socketio/inbound.ts). */
export async function handler(event: WebSocketEvent): Promise<APIGatewayProxyResultV2> {
  const { connectionId, identity } = event.requestContext;
  return acceptConnection({
    connectionId,
    query: event.queryStringParameters ?? {},
    ip: identity?.sourceIp,
    userAgent: identity?.userAgent,
  });
}
