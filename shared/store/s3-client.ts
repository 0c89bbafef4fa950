import { S3Client } from '@aws-sdk/client-s3';
import { config } from '../config';
import { recordSdkCalls } from '../sdk-calls';
import { traceClient } from '../tracing';
import { onResetClients } from './clients';

/**
 * The S3 client, created once per container. Apart from the DynamoDB client (./clients.ts),
 * which every function has: only functions that can reach ./files.ts bundle this one. With an
 * endpoint override (the local runtime) s3rver wants its own credentials pair.
 */
const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }; // the only pair s3rver knows

let s3: S3Client | undefined;

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
    onResetClients(() => {
      s3?.destroy();
      s3 = undefined;
    });
  }
  return s3;
}
