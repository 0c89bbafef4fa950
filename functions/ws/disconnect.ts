import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { forgetConnection } from '../../shared/socketio/inbound';
import type { WebSocketEvent } from './event';

/** WebSocket API `$disconnect` route. */
export async function handler(event: WebSocketEvent): Promise<APIGatewayProxyResultV2> {
  await forgetConnection(event.requestContext.connectionId);
  return { statusCode: 200 };
}
