import type { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { bucket } from './clients';
import { s3Client } from './s3-client';

/**
 * Objects in S3: attachment files, account export archives, archives uploaded for an
 * import (names: objectKeys in shared/store/keys.ts). Reached only through ./files.ts, which
 * imports this module (and with it the S3 SDK) on a call's first use of an object.
 */
export async function putFile(key: string, data: Buffer, type: string): Promise<void> {
  await s3Client().send(new PutObjectCommand({ Bucket: bucket(), Key: key, Body: data, ContentType: type, ContentLength: data.length }));
}

export async function headFile(key: string): Promise<{ size: number; type: string } | undefined> {
  try {
    const out = await s3Client().send(new HeadObjectCommand({ Bucket: bucket(), Key: key }));
    return { size: out.ContentLength ?? 0, type: out.ContentType ?? 'application/octet-stream' };
  } catch (err) {
    if (err instanceof NotFound || err instanceof NoSuchKey || (err as { name?: string }).name === 'NotFound') return undefined;
    throw err;
  }
}

export interface FileRead {
  data: Buffer;
  size: number;
  /** Set when a range was served: `bytes a-b/total`. */
  contentRange?: string;
}

export async function readFile(key: string, range?: string): Promise<FileRead | undefined> {
  try {
    const out = await s3Client().send(new GetObjectCommand({ Bucket: bucket(), Key: key, Range: range }));
    const data = Buffer.from(await out.Body!.transformToByteArray());
    return { data, size: out.ContentLength ?? data.length, contentRange: out.ContentRange };
  } catch (err) {
    if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return undefined;
    throw err;
  }
}

/** An object as a stream (archives and attachments of any size), with its size. */
export async function readFileStream(key: string): Promise<{ body: Readable; size: number }> {
  const out = await s3Client().send(new GetObjectCommand({ Bucket: bucket(), Key: key }));
  return { body: out.Body as Readable, size: out.ContentLength ?? 0 };
}

export async function moveFile(from: string, to: string): Promise<void> {
  await s3Client().send(
    new CopyObjectCommand({ Bucket: bucket(), Key: to, CopySource: `${bucket()}/${encodeURIComponent(from).replace(/%2F/g, '/')}` }),
  );
  await deleteFile(from);
}

export async function deleteFile(key: string): Promise<void> {
  await s3Client().send(new DeleteObjectCommand({ Bucket: bucket(), Key: key }));
}

/** Deletes every object under a prefix (an event's or a user's files). */
export async function deletePrefix(prefix: string): Promise<number> {
  let deleted = 0;
  let token: string | undefined;
  do {
    const page = await s3Client().send(new ListObjectsV2Command({ Bucket: bucket(), Prefix: prefix, ContinuationToken: token }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length > 0) {
      await s3Client().send(new DeleteObjectsCommand({ Bucket: bucket(), Delete: { Objects: keys, Quiet: true } }));
      deleted += keys.length;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return deleted;
}

/** A short-lived URL to download a file straight from S3 (files too large for Lambda). */
export function presignedGet(key: string, options: { disposition: string; type: string; expiresInS: number }): Promise<string> {
  return getSignedUrl(
    s3Client(),
    new GetObjectCommand({
      Bucket: bucket(),
      Key: key,
      ResponseContentType: options.type,
      ResponseContentDisposition: options.disposition,
    }),
    { expiresIn: options.expiresInS },
  );
}

/** A short-lived URL to upload one file straight to S3, with its type and exact size. */
export function presignedPut(key: string, options: { type: string; size: number; expiresInS: number }): Promise<string> {
  return getSignedUrl(
    s3Client(),
    new PutObjectCommand({ Bucket: bucket(), Key: key, ContentType: options.type, ContentLength: options.size }),
    { expiresIn: options.expiresInS, signableHeaders: new Set(['content-type', 'content-length']) },
  );
}
