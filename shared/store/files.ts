import type { Readable } from 'node:stream';
import type { FileRead } from './s3-objects';

/**
 * Objects in S3: attachment files, account export archives, archives uploaded for an import
 * (./s3-objects.ts does the calls). The S3 SDK is imported on first use: most calls of the
 * methods that can touch an object never do (an event without attachments, a small series
 * answer), and in a function built in chunks (infra/bundling/function-code.ts) the SDK is then
 * a chunk that a cold start does not load.
 */
export type { FileRead };

const objects = () => import('./s3-objects');

export const putFile = async (key: string, data: Buffer, type: string): Promise<void> => (await objects()).putFile(key, data, type);

export const headFile = async (key: string): Promise<{ size: number; type: string } | undefined> => (await objects()).headFile(key);

export const readFile = async (key: string, range?: string): Promise<FileRead | undefined> => (await objects()).readFile(key, range);

/** An object as a stream (archives and attachments of any size), with its size. */
export const readFileStream = async (key: string): Promise<{ body: Readable; size: number }> => (await objects()).readFileStream(key);

export const moveFile = async (from: string, to: string): Promise<void> => (await objects()).moveFile(from, to);

export const deleteFile = async (key: string): Promise<void> => (await objects()).deleteFile(key);

/** Deletes every object under a prefix (an event's or a user's files). */
export const deletePrefix = async (prefix: string): Promise<number> => (await objects()).deletePrefix(prefix);

/** A short-lived URL to download a file straight from S3 (files too large for Lambda). */
export const presignedGet = async (key: string, options: { fileName: string; type: string; expiresInS: number }): Promise<string> =>
  (await objects()).presignedGet(key, {
    type: options.type,
    expiresInS: options.expiresInS,
    disposition: contentDisposition(options.fileName),
  });

/** A short-lived URL to upload one file straight to S3, with its type and exact size. */
export const presignedPut = async (key: string, options: { type: string; size: number; expiresInS: number }): Promise<string> =>
  (await objects()).presignedPut(key, options);

/** `attachment; filename*=UTF-8''…` (RFC 6266), as Pryv answers downloads. */
export function contentDisposition(fileName: string): string {
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename*=UTF-8''${encoded}`;
}
