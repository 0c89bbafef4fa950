/**
 * What API Gateway hands a WebSocket route's Lambda (the parts we read). `@types/aws-lambda`'s
 * WebSocket event lacks the `$connect` query string and identity.
 */
export interface WebSocketEvent {
  requestContext: {
    routeKey: string;
    eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT';
    connectionId: string;
    domainName: string;
    stage: string;
    requestId?: string;
    identity?: { sourceIp?: string; userAgent?: string };
  };
  queryStringParameters?: Record<string, string | undefined>;
  headers?: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded?: boolean;
}
