import { exportStatus, importStatus, importUploadSlot, jobForApi, requestExport, startImport } from '../../domain/account-copy/requests';
import { callerOf } from '../caller';
import { defineMethod } from '../types';

/**
 * A copy of one's account (README "Your data"): personal tokens only — authentication is
 * the consent, and an app or shared access must not walk away with the whole account.
 */
const MAX_IMPORT_BYTES = 5 * 1024 ** 3; // one presigned PUT carries at most 5 GiB (S3's single-upload limit)
// Ids are ours (cuids) but any id-like string is looked up, so an unknown id is a 404 like elsewhere.
const jobId = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,100}$' };

export const accountExport = /* @__PURE__ */ defineMethod<Record<string, never>>({
  id: 'account.export',
  routes: [{ verb: 'POST', path: '/{username}/account/export' }],
  auth: 'token',
  accessTypes: ['personal'],
  status: 202,
  params: { type: 'object', additionalProperties: false },
  run: async (ctx) => ({ export: jobForApi(await requestExport(callerOf(ctx))) }),
});

export const accountGetExport = /* @__PURE__ */ defineMethod<{ id: string }>({
  id: 'account.getExport',
  bucket: ['exports'],
  routes: [{ verb: 'GET', path: '/{username}/account/export/{id}' }],
  auth: 'token',
  accessTypes: ['personal'],
  params: { type: 'object', properties: { id: jobId }, required: ['id'], additionalProperties: false },
  run: async (ctx, params) => ({ export: await exportStatus(callerOf(ctx), params.id) }),
});

export const accountImportUpload = /* @__PURE__ */ defineMethod<{ size: number }>({
  id: 'account.importUpload',
  bucket: ['imports'],
  routes: [{ verb: 'POST', path: '/{username}/account/import' }],
  auth: 'token',
  accessTypes: ['personal'],
  status: 201,
  params: {
    type: 'object',
    properties: { size: { type: 'integer', minimum: 1, maximum: MAX_IMPORT_BYTES } },
    required: ['size'],
    additionalProperties: false,
  },
  run: async (ctx, params) => ({ import: await importUploadSlot(callerOf(ctx), params.size) }),
});

export const accountImport = /* @__PURE__ */ defineMethod<{ id: string }>({
  id: 'account.import',
  bucket: ['imports'],
  routes: [{ verb: 'POST', path: '/{username}/account/import/{id}' }],
  auth: 'token',
  accessTypes: ['personal'],
  status: 202,
  params: { type: 'object', properties: { id: jobId }, required: ['id'], additionalProperties: false },
  httpParams: (request) => ({ id: request.pathParams.id }),
  run: async (ctx, params) => ({ import: jobForApi(await startImport(callerOf(ctx), params.id)) }),
});

export const accountGetImport = /* @__PURE__ */ defineMethod<{ id: string }>({
  id: 'account.getImport',
  routes: [{ verb: 'GET', path: '/{username}/account/import/{id}' }],
  auth: 'token',
  accessTypes: ['personal'],
  params: { type: 'object', properties: { id: jobId }, required: ['id'], additionalProperties: false },
  run: async (ctx, params) => ({ import: jobForApi(await importStatus(callerOf(ctx), params.id)) }),
});
