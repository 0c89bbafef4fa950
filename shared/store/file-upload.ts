import type { Readable } from 'node:stream';
import { bucket } from './clients';

/**
 * Streamed uploads to S3 (account export archives), apart from ./files.ts: the upload
 * library is not marked free of side effects, so every function importing it bundles it and
 * the whole S3 SDK; only the export worker does. Both are imported when an upload starts.
 */
const UPLOAD_PART_BYTES = 8 * 1024 * 1024; // multipart upload part size (S3 minimum: 5 MiB)

/**
 * Writes a stream of unknown length to an object (multipart upload, one part in memory at
 * a time). `abort` gives up and removes the parts already sent.
 */
export function uploadStream(key: string, body: Readable, type: string): { done: Promise<unknown>; abort: () => Promise<void> } {
  const upload = Promise.all([import('@aws-sdk/lib-storage'), import('./s3-client')]).then(
    ([{ Upload }, { s3Client }]) =>
      new Upload({
        client: s3Client(),
        params: { Bucket: bucket(), Key: key, Body: body, ContentType: type },
        partSize: UPLOAD_PART_BYTES,
        queueSize: 2,
      }),
  );
  return { done: upload.then((u) => u.done()), abort: () => upload.then((u) => u.abort()) };
}
