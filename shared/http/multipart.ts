import busboy from 'busboy';
import { errors } from '../errors';
import type { UploadedFile } from '../model/uploads';

export interface MultipartBody {
  fields: Array<{ name: string; value: string }>;
  files: UploadedFile[];
}

/**
 * Parses a whole `multipart/form-data` body (API Gateway hands it over in one piece).
 * Malformed bodies and file parts without a file name are Pryv `invalid-request-structure`.
 */
export function parseMultipart(body: Buffer, contentType: string, limits: { fileBytes: number }): Promise<MultipartBody> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: { 'content-type': contentType },
        // busboy reports 'limit' when a file reaches fileSize: one byte more, so a file of
        // exactly the limit is accepted (as in the presigned flow).
        limits: { fileSize: limits.fileBytes + 1, fieldSize: 10 * 1024 * 1024, parts: 1000 },
        defParamCharset: 'utf8',
      });
    } catch {
      reject(errors.invalidRequestStructure('The multipart body cannot be parsed (boundary missing?).'));
      return;
    }
    const out: MultipartBody = { fields: [], files: [] };
    let failure: Error | undefined;
    parser.on('field', (name, value) => out.fields.push({ name, value }));
    parser.on('file', (field, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      // A truncated body errors the file stream too: without a listener that error would
      // crash the process. The parser's own 'error' rejects the request.
      stream.on('error', () => {
        failure ??= errors.invalidRequestStructure('The multipart body is malformed.');
      });
      stream.on('limit', () => {
        failure ??= errors.payloadTooLarge(limits.fileBytes);
      });
      stream.on('end', () => {
        if (!info.filename) {
          failure ??= errors.invalidRequestStructure(`The file part "${field}" has no file name.`);
          return;
        }
        out.files.push({ field, fileName: info.filename, type: info.mimeType || 'application/octet-stream', data: Buffer.concat(chunks) });
      });
    });
    parser.on('error', () => reject(errors.invalidRequestStructure('The multipart body is malformed.')));
    parser.on('close', () => (failure ? reject(failure) : resolve(out)));
    parser.end(body);
  });
}
