import type { Readable } from 'node:stream';
import { Upload } from '@aws-sdk/lib-storage';
import { bucket } from './clients';
import { s3Client } from './s3-client';

/**
 * Streamed uploads to S3 (account export archives), apart from ./files.ts: the upload
 * library is not marked free of side effects, so every function importing it bundles it and
 * the whole S3 SDK; only the export worker does.
 */
const UPLOAD_PART_BYTES = 8 * 1024 * 1024; // multipart upload part size (S3 minimum: 5 MiB)

/**
 * Writes a stream of unknown length to an object (multipart upload, one part in memory at
 * a time). `abort` gives up and removes the parts already sent.
 */
export function uploadStream(key: string, body: Readable, type: string): { done: Promise<unknown>; abort: () => Promise<void> } {
  const upload = new Upload({
    client: s3Client(),
    params: { Bucket: bucket(), Key: key, Body: body, ContentType: type },
    partSize: UPLOAD_PART_BYTES,
    queueSize: 2,
  });
  return { done: upload.done(), abort: () => upload.abort() };
}
