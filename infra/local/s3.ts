import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { bucketCorsXml } from '../bucket-cors';

export interface LocalS3 {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * The S3 emulator (s3rver, in this process). It keeps objects on disk; "in memory" runs
 * get a temporary folder that is removed on stop. The bucket gets the stack's CORS rule,
 * so browsers upload to presigned URLs as they do in AWS.
 */
export async function startS3(options: { port: number; dataDir?: string; bucket: string }): Promise<LocalS3> {
  const directory = options.dataDir ?? mkdtempSync(join(tmpdir(), 'pryv-s3-'));
  mkdirSync(directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port,
    directory,
    silent: true,
    configureBuckets: [{ name: options.bucket, configs: [bucketCorsXml()] }],
    allowMismatchedSignatures: true,
    vhostBuckets: false,
  });
  await server.run();
  return {
    endpoint: `http://127.0.0.1:${options.port}`,
    stop: async () => {
      await server.close();
      if (!options.dataDir) rmSync(directory, { recursive: true, force: true });
    },
  };
}
