import { defineMethod } from '../types';
import { errors } from '../../errors';
import { newId } from '../../ids';
import { assertEmptyAccount, ArchiveError } from '../../domain/account-copy/import-archive';
import { headFile, presignedGet, presignedPut } from '../../store/files';
import { createImportJob, getJob, requestExportJob } from '../../store/exports';
import type { Job } from '../../model/jobs';
import { objectKeys } from '../../store/keys';

/**
 * A copy of one's account (issue 8): personal tokens only — authentication is the consent,
 * and an app or shared access must not walk away with the whole account.
 *
 * Export: `POST /account/export` answers 202 with a pending job (the one already pending or
 * running, if any: an export requested twice runs once); the worker builds the archive
 * into S3; `GET /account/export/{id}` gives its status and, once done, a presigned link.
 * Import (into a new, empty account): `POST /account/import` {size} gives an upload slot
 * (presigned PUT), `POST /account/import/{id}` starts the import of what was uploaded,
 * `GET /account/import/{id}` follows it.
 */
const ARCHIVE_TYPE = 'application/gzip';
const MAX_IMPORT_BYTES = 5 * 1024 ** 3; // one presigned PUT carries at most 5 GiB (S3's single-upload limit)
// Ids are ours (cuids) but any id-like string is looked up, so an unknown id is a 404 like elsewhere.
const jobId = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,100}$' };

function jobForApi(job: Job): Record<string, unknown> {
  const { archiveKey: _k, kind: _kind, requestedBy: _r, ...view } = job;
  return view;
}

export const accountExport = defineMethod<Record<string, never>>({
  id: 'account.export',
  routes: [{ verb: 'POST', path: '/{username}/account/export' }],
  auth: 'token',
  accessTypes: ['personal'],
  status: 202,
  params: { type: 'object', additionalProperties: false },
  run: async (ctx) => {
    const id = newId();
    const job: Job = { id, kind: 'export', status: 'pending', requested: ctx.now, requestedBy: ctx.access!.id, archiveKey: objectKeys.exportArchive(ctx.username!, id) };
    const { job: current } = await requestExportJob(ctx.username!, job, ctx.now);
    return { export: jobForApi(current) };
  },
});

export const accountGetExport = defineMethod<{ id: string }>({
  id: 'account.getExport',
  routes: [{ verb: 'GET', path: '/{username}/account/export/{id}' }],
  auth: 'token',
  accessTypes: ['personal'],
  params: { type: 'object', properties: { id: jobId }, required: ['id'], additionalProperties: false },
  run: async (ctx, params) => {
    const job = await getJob(ctx.username!, 'export', params.id);
    if (!job) throw errors.unknownResource('export', params.id);
    const view = jobForApi(job);
    if (job.status === 'done') {
      view.url = await presignedGet(job.archiveKey, { fileName: `${ctx.username}-${job.id}.tar.gz`, type: ARCHIVE_TYPE, expiresInS: ctx.config.exportLinkTtlS });
      view.urlExpires = ctx.now + ctx.config.exportLinkTtlS;
    }
    return { export: view };
  },
});

/** Refuses an import into an account that already holds data (400 invalid-operation). */
async function checkEmpty(username: string): Promise<void> {
  try {
    await assertEmptyAccount(username);
  } catch (err) {
    if (err instanceof ArchiveError) throw errors.invalidOperation('An export can only be imported into an account without streams or events.');
    throw err;
  }
}

export const accountImportUpload = defineMethod<{ size: number }>({
  id: 'account.importUpload',
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
  run: async (ctx, params) => {
    await checkEmpty(ctx.username!);
    const id = newId();
    const url = await presignedPut(objectKeys.importArchive(ctx.username!, id), { type: ARCHIVE_TYPE, size: params.size, expiresInS: ctx.config.presignTtlS });
    return {
      import: {
        id,
        status: 'awaiting-upload',
        upload: { url, method: 'PUT', headers: { 'Content-Type': ARCHIVE_TYPE, 'Content-Length': String(params.size) } },
      },
    };
  },
});

export const accountImport = defineMethod<{ id: string }>({
  id: 'account.import',
  routes: [{ verb: 'POST', path: '/{username}/account/import/{id}' }],
  auth: 'token',
  accessTypes: ['personal'],
  status: 202,
  params: { type: 'object', properties: { id: jobId }, required: ['id'], additionalProperties: false },
  httpParams: (request) => ({ id: request.pathParams.id }),
  run: async (ctx, params) => {
    const existing = await getJob(ctx.username!, 'import', params.id);
    if (existing) return { import: jobForApi(existing) };
    const key = objectKeys.importArchive(ctx.username!, params.id);
    if (!(await headFile(key))) throw errors.unknownResource('import upload', params.id);
    await checkEmpty(ctx.username!);
    const job: Job = { id: params.id, kind: 'import', status: 'pending', requested: ctx.now, requestedBy: ctx.access!.id, archiveKey: key };
    if (!(await createImportJob(ctx.username!, job, ctx.now))) {
      const raced = await getJob(ctx.username!, 'import', params.id);
      if (raced) return { import: jobForApi(raced) };
    }
    return { import: jobForApi(job) };
  },
});

export const accountGetImport = defineMethod<{ id: string }>({
  id: 'account.getImport',
  routes: [{ verb: 'GET', path: '/{username}/account/import/{id}' }],
  auth: 'token',
  accessTypes: ['personal'],
  params: { type: 'object', properties: { id: jobId }, required: ['id'], additionalProperties: false },
  run: async (ctx, params) => {
    const job = await getJob(ctx.username!, 'import', params.id);
    if (!job) throw errors.unknownResource('import', params.id);
    return { import: jobForApi(job) };
  },
});
