import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { managementEndpoint } from '../../shared/adapters/socket-connections-api';
import { loadMethod } from '../../shared/api/method-loaders';
import { sampleDebugLogs, withLogContext } from '../../shared/log';
import { handleClientMessage } from '../../shared/socketio/inbound';
import { enableDirectSocketPush } from '../direct-push';
import type { WebSocketEvent } from './event';

enableDirectSocketPush(); // the event writes of socket calls tell the user's sockets themselves

/** WebSocket API `$default` route: one Engine.IO packet from a client; answers go through `@connections`. */
export async function handler(event: WebSocketEvent): Promise<APIGatewayProxyResultV2> {
  const body = event.isBase64Encoded && event.body ? Buffer.from(event.body, 'base64').toString('utf8') : (event.body ?? '');
  const { connectionId, requestId } = event.requestContext;
  sampleDebugLogs();
  // Every line of this message (its method call included) carries the API's request id and the connection.
  await withLogContext({ requestId, connectionId }, () =>
    handleClientMessage(connectionId, body, managementEndpoint(event.requestContext), loadMethod),
  );
  return { statusCode: 200 };
}
