import { downloadAttachment, fileReader } from '../../domain/events/attachment-download';
import { addAttachments, confirmUpload, createUploadSlot, deleteAttachment } from '../../domain/events/attachments';
import { eventForReader } from '../../domain/events/read-view';
import { contentDisposition } from '../../store/files';
import { callerOf, pathUser } from '../caller';
import { ALL_ACCESS_TYPES, defineMethod } from '../types';

/** `POST /events/{id}` with files: adds them to an existing event (spec §2.2.6). */
export const eventsAddAttachment = /* @__PURE__ */ defineMethod<{ id: string }>({
  id: 'events.addAttachment',
  bucket: ['files'],
  routes: [{ verb: 'POST', path: '/{username}/events/{id}' }],
  auth: 'token',
  capabilities: ['filesSecret'],
  accessTypes: ALL_ACCESS_TYPES,
  batchable: false,
  files: 'required',
  params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
  httpParams: (request) => ({ id: request.pathParams.id }),
  run: async (ctx, params) => {
    const caller = callerOf(ctx);
    return { event: await eventForReader(caller.access, await addAttachments(caller, params.id, ctx.request.files ?? [])) };
  },
});

interface GetAttachmentParams {
  id: string;
  fileId: string;
  readToken?: string;
}

export const eventsGetAttachment = /* @__PURE__ */ defineMethod<GetAttachmentParams>({
  id: 'events.getAttachment',
  bucket: ['files'],
  routes: [
    { verb: 'GET', path: '/{username}/events/{id}/{fileId}' },
    { verb: 'GET', path: '/{username}/events/{id}/{fileId}/{fileName}' },
  ],
  auth: 'none',
  capabilities: ['filesSecret'],
  batchable: false,
  params: {
    type: 'object',
    properties: { id: { type: 'string' }, fileId: { type: 'string' }, readToken: { type: 'string' } },
    required: ['id', 'fileId'],
  },
  httpParams: (request) => ({
    id: request.pathParams.id,
    fileId: request.pathParams.fileId,
    ...(typeof request.query.readToken === 'string' ? { readToken: request.query.readToken } : {}),
  }),
  run: async (ctx, params) => {
    const { request } = ctx;
    const access = await fileReader(pathUser(ctx), params.fileId, {
      authorization: request.headers.authorization,
      token: request.token,
      queryAuth: request.query.auth !== undefined,
      readToken: params.readToken,
    });
    ctx.access = access;
    ctx.response.headers['Pryv-Access-Id'] = access.id;
    const download = await downloadAttachment(callerOf(ctx), params.id, params.fileId, request.headers.range);
    const { attachment } = download;
    const headers = ctx.response.headers;
    headers['Content-Type'] = attachment.type;
    headers['Content-Disposition'] = contentDisposition(attachment.fileName);
    headers['Accept-Ranges'] = 'bytes';
    if ('redirect' in download) {
      ctx.response.status = 302;
      headers.Location = download.redirect;
      ctx.response.raw = Buffer.alloc(0);
      return {};
    }
    if (download.contentRange) {
      ctx.response.status = 206;
      headers['Content-Range'] = download.contentRange;
    }
    headers['Content-Length'] = String(download.data.length);
    if (attachment.integrity) headers.Digest = `SHA-256=${attachment.integrity.replace(/^sha256-/, '')}`;
    ctx.response.raw = download.data;
    return {};
  },
});

export const eventsDeleteAttachment = /* @__PURE__ */ defineMethod<{ id: string; fileId: string }>({
  id: 'events.deleteAttachment',
  bucket: ['files'],
  routes: [{ verb: 'DELETE', path: '/{username}/events/{id}/{fileId}' }],
  auth: 'token',
  capabilities: ['filesSecret'],
  accessTypes: ALL_ACCESS_TYPES,
  params: {
    type: 'object',
    properties: { id: { type: 'string' }, fileId: { type: 'string' } },
    required: ['id', 'fileId'],
    additionalProperties: false,
  },
  run: async (ctx, params) => {
    const caller = callerOf(ctx);
    return { event: await eventForReader(caller.access, await deleteAttachment(caller, params.id, params.fileId)) };
  },
});

interface UploadSlotParams {
  id: string;
  fileName: string;
  type: string;
  size: number;
}

/**
 * Large files (above what Lambda carries): step 1 of the presigned upload. Answers a URL
 * to PUT the bytes to (with the same Content-Type and Content-Length) and the `fileId`
 * to confirm with. Unconfirmed uploads expire with the bucket's lifecycle rule.
 */
export const eventsCreateAttachmentUpload = /* @__PURE__ */ defineMethod<UploadSlotParams>({
  id: 'events.createAttachmentUpload',
  bucket: ['pending'],
  routes: [{ verb: 'POST', path: '/{username}/events/{id}/attachment-uploads' }],
  auth: 'token',
  capabilities: ['filesSecret'],
  accessTypes: ALL_ACCESS_TYPES,
  status: 201,
  params: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      fileName: { type: 'string', minLength: 1, maxLength: 255 },
      type: { type: 'string', minLength: 3, maxLength: 255, pattern: '^[\\w.+-]+/[\\w.+-]+' },
      size: { type: 'integer', minimum: 0 },
    },
    required: ['id', 'fileName', 'type', 'size'],
    additionalProperties: false,
  },
  run: async (ctx, params) => ({ upload: await createUploadSlot(callerOf(ctx), params.id, params) }),
});

/** Step 2: the file is in S3; it becomes an attachment, with the size and type S3 recorded. */
export const eventsConfirmAttachmentUpload = /* @__PURE__ */ defineMethod<{ id: string; fileId: string; fileName: string }>({
  id: 'events.confirmAttachmentUpload',
  bucket: ['files', 'pending'],
  routes: [{ verb: 'POST', path: '/{username}/events/{id}/attachment-uploads/{fileId}' }],
  auth: 'token',
  capabilities: ['filesSecret'],
  accessTypes: ALL_ACCESS_TYPES,
  params: {
    type: 'object',
    properties: { id: { type: 'string' }, fileId: { type: 'string' }, fileName: { type: 'string', minLength: 1, maxLength: 255 } },
    required: ['id', 'fileId', 'fileName'],
    additionalProperties: false,
  },
  run: async (ctx, params) => {
    const caller = callerOf(ctx);
    return { event: await eventForReader(caller.access, await confirmUpload(caller, params.id, params.fileId, params.fileName)) };
  },
});
