import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { config, LOCAL_CREDENTIALS } from '../config';
import { recordSdkCalls } from '../sdk-calls';
import { traceClient } from '../tracing';

/**
 * The DynamoDB and S3 clients, created once per container, and the table and bucket they
 * address. With an endpoint override (the local runtime) any static credentials do:
 * DynamoDB Local accepts them, s3rver wants its own pair.
 */
const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }; // the only pair s3rver knows

/** The one table (shared/store/table-definition.ts). */
export const table = () => config().tableName;
/** The bucket of attachments, exports and uploads to import. */
export const bucket = () => config().bucketName;

let ddb: DynamoDBDocumentClient | undefined;
let s3: S3Client | undefined;

export function dynamo(): DynamoDBDocumentClient {
  if (!ddb) {
    const c = config();
    const client = traceClient(
      recordSdkCalls(
        new DynamoDBClient({
          region: c.region,
          ...(c.dynamodbEndpoint ? { endpoint: c.dynamodbEndpoint, credentials: LOCAL_CREDENTIALS } : {}),
        }),
      ),
    );
    ddb = DynamoDBDocumentClient.from(client, {
      // Event times and durations are any JSON number (running events end at 9.9e125):
      // past 2^53 they are floats to us as to DynamoDB, not integers losing precision.
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false, allowImpreciseNumbers: true },
      unmarshallOptions: { wrapNumbers: (value: string) => Number(value) },
    });
  }
  return ddb;
}

export function s3Client(): S3Client {
  if (!s3) {
    const c = config();
    s3 = traceClient(
      recordSdkCalls(
        new S3Client({
          region: c.region,
          // Checksums only where S3 requires them: presigned URLs stay plain (clients PUT with
          // curl), and s3rver does not speak the newer streaming-checksum encoding.
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
          ...(c.s3Endpoint ? { endpoint: c.s3Endpoint, forcePathStyle: true, credentials: S3RVER_CREDENTIALS } : {}),
        }),
      ),
    );
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
