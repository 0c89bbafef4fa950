import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { config } from '../config';

/**
 * SDK clients, created once per container. With an endpoint override (the local runtime)
 * any static credentials do: DynamoDB Local and s3rver accept them.
 */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

let ddb: DynamoDBDocumentClient | undefined;
let s3: S3Client | undefined;

export function dynamo(): DynamoDBDocumentClient {
  if (!ddb) {
    const c = config();
    const client = new DynamoDBClient({
      region: c.region,
      ...(c.dynamodbEndpoint ? { endpoint: c.dynamodbEndpoint, credentials: LOCAL_CREDENTIALS } : {}),
    });
    ddb = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    });
  }
  return ddb;
}

export function s3Client(): S3Client {
  if (!s3) {
    const c = config();
    s3 = new S3Client({
      region: c.region,
      ...(c.s3Endpoint ? { endpoint: c.s3Endpoint, forcePathStyle: true, credentials: LOCAL_CREDENTIALS } : {}),
    });
  }
  return s3;
}

/** Forget the clients (the local runtime and tests start fresh runtimes in one process). */
export function resetClients(): void {
  ddb?.destroy();
  s3?.destroy();
  ddb = undefined;
  s3 = undefined;
}
