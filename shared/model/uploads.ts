/** A file sent in a multipart request (events with attachments, spec §1.4). */
export interface UploadedFile {
  /** Name of the form part. */
  field: string;
  fileName: string;
  /** MIME type the client declared. */
  type: string;
  data: Buffer;
}
