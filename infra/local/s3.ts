import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { bucketCorsXml } from '../bucket-cors';
import type { EngineExit, RunningEngine } from './engine-supervisor';

export interface LocalS3 extends RunningEngine {
  endpoint: string;
  /** Where the objects are (a temporary folder for in-memory runs, removed by `stop`). */
  directory: string;
  /** s3rver's HTTP server: when it closes without `stop`, the emulator is down. */
  server: Server;
}

/**
 * The S3 emulator (s3rver, in this process). It keeps objects on disk; "in memory" runs
 * get a temporary folder that is removed on stop. Given `directory`, it starts on that folder
 * (a restart after a failure keeps the objects, in-memory runs too). The bucket gets the
 * stack's CORS rule, so browsers upload to presigned URLs as they do in AWS.
 */
export async function startS3(options: { port: number; dataDir?: string; bucket: string; directory?: string }): Promise<LocalS3> {
  const directory = options.directory ?? options.dataDir ?? mkdtempSync(join(tmpdir(), 'pryv-s3-'));
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
  const http = server.httpServer!;
  let stopping = false;
  // Closed without stop(): the emulator is down (an 'error' on a listening server closes it too).
  const exited = new Promise<EngineExit>((resolve) => {
    http.once('close', () => resolve({ code: stopping ? 0 : 1, signal: null }));
    http.once('error', () => http.close());
  });
  return {
    endpoint: `http://127.0.0.1:${options.port}`,
    directory,
    server: http,
    exited,
    describe: `in this process, port ${options.port}`,
    stop: async () => {
      stopping = true;
      if (http.listening) await server.close();
      if (!options.dataDir) rmSync(directory, { recursive: true, force: true });
    },
  };
}
