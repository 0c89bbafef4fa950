import { defineMethod, ALL_ACCESS_TYPES, type MethodContext } from '../types';
import { errors, PryvError } from '../../errors';
import { eventForReader } from '../../domain/events/read-view';
import { loadUserData } from '../../domain/user-data';
import { changeAttachments, loadEvent, storeUploadedFiles } from '../../domain/events/write';
import { parseReadToken, readTokenMatches } from '../../domain/events/read-tokens';
import { filesReadTokenSecret } from '../../adapters/secrets';
import { newId } from '../../ids';
import { getAccessById, getAccessByToken } from '../../store/accesses';
import { userExists } from '../../store/accounts';
import { contentDisposition, deleteFile, headFile, moveFile, presignedGet, presignedPut, readFile } from '../../store/files';
import type { Access } from '../../model/accesses';
import { objectKeys } from '../../store/keys';

/** `POST /events/{id}` with files: adds them to an existing event (spec §2.2.6). */
export const eventsAddAttachment = defineMethod<{ id: string }>({
  id: 'events.addAttachment',
  routes: [{ verb: 'POST', path: '/{username}/events/{id}' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  batchable: false,
  params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
  httpParams: (request) => ({ id: request.pathParams.id }),
  run: async (ctx, params) => {
    const head = await loadEvent(ctx, params.id);
    const files = ctx.request.files ?? [];
    if (files.length === 0) throw errors.invalidRequestStructure('Send the files to attach as multipart/form-data parts.');
    const { permissions } = await loadUserData(ctx);
    if (!permissions.canUpdateEvent(head.streamIds)) throw errors.forbidden('You do not have the permission to change this event.');
    const added = await storeUploadedFiles(ctx, params.id, files);
    const event = await changeAttachments(ctx, params.id, (current) => [...current, ...added.attachments], {
      onFailure: added.cleanUp,
    });
    return { event: await eventForReader(ctx, event) };
  },
});

/**
 * One `bytes=` range resolved against the file size (RFC 9110 §14.1.2), as an explicit
 * `bytes=first-last` for S3: suffix ranges (`bytes=-N`) and ends past the file are made
 * concrete here (the local S3 emulator misreads suffix ranges), and a range starting past
 * the end is refused with 416 rather than left to S3's InvalidRange error. Malformed or
 * multiple ranges are ignored (the whole file is served), as HTTP allows.
 */
export function resolveRange(header: string | undefined, size: number): string | 'unsatisfiable' | undefined {
  const match = header ? /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header) : null;
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  let first: number;
  let last: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    first = Math.max(0, size - suffix);
    last = size - 1;
  } else {
    first = Number(match[1]);
    last = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
    if (match[2] !== '' && Number(match[2]) < first) return undefined;
    if (first >= size) return 'unsatisfiable';
  }
  return `bytes=${first}-${last}`;
}

interface GetAttachmentParams {
  id: string;
  fileId: string;
  readToken?: string;
}

/**
 * Who reads a file: the access of the Authorization header, or the one a `readToken` was
 * made for (its HMAC must match that access's current token). `?auth=` is refused.
 */
async function fileReader(ctx: MethodContext, fileId: string, readToken: string | undefined): Promise<Access> {
  const username = ctx.username!;
  const header = ctx.request.headers.authorization;
  if (!header && ctx.request.query.auth !== undefined && readToken === undefined) {
    throw new PryvError('invalid-access-token', 401, 'Use the Authorization header or a readToken to download attachments.');
  }
  if (header && ctx.request.token) {
    const access = await getAccessByToken(username, ctx.request.token);
    if (!access) {
      if (!(await userExists(username))) throw errors.unknownUser(username);
      throw errors.invalidAccessToken();
    }
    return access;
  }
  if (readToken === undefined) {
    if (!(await userExists(username))) throw errors.unknownUser(username);
    throw errors.missingToken();
  }
  const parsed = parseReadToken(readToken);
  const access = parsed ? await getAccessById(username, parsed.accessId) : undefined;
  if (!access || !readTokenMatches(await filesReadTokenSecret(), fileId, access, readToken)) {
    if (!(await userExists(username))) throw errors.unknownUser(username);
    throw new PryvError('invalid-access-token', 401, 'Invalid read token.');
  }
  return access;
}

export const eventsGetAttachment = defineMethod<GetAttachmentParams>({
  id: 'events.getAttachment',
  routes: [
    { verb: 'GET', path: '/{username}/events/{id}/{fileId}' },
    { verb: 'GET', path: '/{username}/events/{id}/{fileId}/{fileName}' },
  ],
  auth: 'none',
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
    const access = await fileReader(ctx, params.fileId, params.readToken);
    ctx.access = access;
    ctx.response.headers['Pryv-Access-Id'] = access.id;
    const now = ctx.now;
    if (access.type === 'personal' && (access.sessionExpires ?? 0) <= now) throw errors.invalidAccessToken('Access session has expired.');
    if (access.expires !== undefined && access.expires !== null && access.expires <= now) throw errors.forbidden('Access has expired.');
    const head = await loadEvent(ctx, params.id);
    const { permissions } = await loadUserData(ctx);
    if (!permissions.canReadEvent(head.streamIds)) throw errors.forbidden('You cannot read this event with the given access.');
    const attachment = (head.attachments ?? []).find((a) => a.id === params.fileId);
    if (!attachment) throw errors.unknownResource('attachment', params.fileId);
    const key = objectKeys.file(ctx.username!, params.id, attachment.id);
    const headers = ctx.response.headers;
    headers['Content-Type'] = attachment.type;
    headers['Content-Disposition'] = contentDisposition(attachment.fileName);
    headers['Accept-Ranges'] = 'bytes';
    const range = resolveRange(ctx.request.headers.range, attachment.size);
    if (range === 'unsatisfiable') {
      throw new PryvError('invalid-request-structure', 416, `The requested range is not satisfiable (the file has ${attachment.size} bytes).`);
    }
    if (attachment.size > ctx.config.directTransferMaxBytes && !range) {
      // Too large for a Lambda answer: a short-lived S3 link instead.
      ctx.response.status = 302;
      headers.Location = await presignedGet(key, { fileName: attachment.fileName, type: attachment.type, expiresInS: ctx.config.presignTtlS });
      ctx.response.raw = Buffer.alloc(0);
      return {};
    }
    const file = await readFile(key, range);
    if (!file) throw errors.unknownResource('attachment', params.fileId);
    if (file.data.length > ctx.config.directTransferMaxBytes) {
      throw new PryvError('invalid-request-structure', 416, `Ask for at most ${ctx.config.directTransferMaxBytes} bytes per range.`);
    }
    if (file.contentRange) {
      ctx.response.status = 206;
      headers['Content-Range'] = file.contentRange;
    }
    headers['Content-Length'] = String(file.data.length);
    if (attachment.integrity) headers.Digest = `SHA-256=${attachment.integrity.replace(/^sha256-/, '')}`;
    ctx.response.raw = file.data;
    return {};
  },
});

export const eventsDeleteAttachment = defineMethod<{ id: string; fileId: string }>({
  id: 'events.deleteAttachment',
  routes: [{ verb: 'DELETE', path: '/{username}/events/{id}/{fileId}' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  params: {
    type: 'object',
    properties: { id: { type: 'string' }, fileId: { type: 'string' } },
    required: ['id', 'fileId'],
    additionalProperties: false,
  },
  run: async (ctx, params) => {
    const head = await loadEvent(ctx, params.id);
    const { permissions } = await loadUserData(ctx);
    if (!permissions.canUpdateEvent(head.streamIds)) throw errors.forbidden('You do not have the permission to change this event.');
    if (!(head.attachments ?? []).some((a) => a.id === params.fileId)) throw errors.unknownResource('attachment', params.fileId);
    const event = await changeAttachments(ctx, params.id, (current) => {
      if (!current.some((a) => a.id === params.fileId)) throw errors.unknownResource('attachment', params.fileId);
      return current.filter((a) => a.id !== params.fileId);
    });
    await deleteFile(objectKeys.file(ctx.username!, params.id, params.fileId));
    return { event: await eventForReader(ctx, event) };
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
export const eventsCreateAttachmentUpload = defineMethod<UploadSlotParams>({
  id: 'events.createAttachmentUpload',
  routes: [{ verb: 'POST', path: '/{username}/events/{id}/attachment-uploads' }],
  auth: 'token',
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
  run: async (ctx, params) => {
    if (params.size > ctx.config.uploadMaxBytes) throw errors.payloadTooLarge(ctx.config.uploadMaxBytes);
    const head = await loadEvent(ctx, params.id);
    const { permissions } = await loadUserData(ctx);
    if (!permissions.canUpdateEvent(head.streamIds)) throw errors.forbidden('You do not have the permission to change this event.');
    const fileId = newId();
    const url = await presignedPut(objectKeys.pendingFile(ctx.username!, params.id, fileId), {
      type: params.type,
      size: params.size,
      expiresInS: ctx.config.presignTtlS,
    });
    return {
      upload: {
        fileId,
        url,
        method: 'PUT',
        headers: { 'Content-Type': params.type, 'Content-Length': String(params.size) },
        expires: ctx.now + ctx.config.presignTtlS,
        confirm: `${ctx.config.publicUrl}/${ctx.username}/events/${params.id}/attachment-uploads/${fileId}`,
        fileName: params.fileName,
      },
    };
  },
});

/** Step 2: the file is in S3; it becomes an attachment, with the size and type S3 recorded. */
export const eventsConfirmAttachmentUpload = defineMethod<{ id: string; fileId: string; fileName: string }>({
  id: 'events.confirmAttachmentUpload',
  routes: [{ verb: 'POST', path: '/{username}/events/{id}/attachment-uploads/{fileId}' }],
  auth: 'token',
  accessTypes: ALL_ACCESS_TYPES,
  params: {
    type: 'object',
    properties: { id: { type: 'string' }, fileId: { type: 'string' }, fileName: { type: 'string', minLength: 1, maxLength: 255 } },
    required: ['id', 'fileId', 'fileName'],
    additionalProperties: false,
  },
  run: async (ctx, params) => {
    const head = await loadEvent(ctx, params.id);
    const { permissions } = await loadUserData(ctx);
    if (!permissions.canUpdateEvent(head.streamIds)) throw errors.forbidden('You do not have the permission to change this event.');
    const pending = objectKeys.pendingFile(ctx.username!, params.id, params.fileId);
    const stored = await headFile(pending);
    if (!stored) throw errors.unknownResource('upload', params.fileId);
    if (stored.size > ctx.config.uploadMaxBytes) {
      await deleteFile(pending);
      throw errors.payloadTooLarge(ctx.config.uploadMaxBytes);
    }
    const final = objectKeys.file(ctx.username!, params.id, params.fileId);
    await moveFile(pending, final);
    const attachment = { id: params.fileId, fileName: params.fileName, type: stored.type, size: stored.size };
    const event = await changeAttachments(ctx, params.id, (current) => [...current, attachment], {
      onFailure: () => deleteFile(final),
    });
    return { event: await eventForReader(ctx, event) };
  },
});
