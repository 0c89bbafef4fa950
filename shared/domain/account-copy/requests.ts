import { errors } from '../../errors';
import { newId } from '../../ids';
import type { Job } from '../../model/jobs';
import { createImportJob, getJob, requestExportJob } from '../../store/exports';
import { headFile, presignedGet, presignedPut } from '../../store/files';
import { objectKeys } from '../../store/keys';
import type { Caller } from '../caller';
import { ArchiveError, assertEmptyAccount } from './import-archive';

/**
 * A copy of one's account, as asked through the API (README "Your data"). Export: a
 * pending job (the one already pending or running, if any: an export requested twice runs
 * once) that the worker (./jobs.ts) builds into S3, then a presigned link. Import into a
 * new, empty account: an upload slot (presigned PUT), then a job importing what was uploaded.
 */
export const ARCHIVE_TYPE = 'application/gzip';

/** A job as its owner sees it. */
export function jobForApi(job: Job): Record<string, unknown> {
  const { archiveKey: _k, kind: _kind, requestedBy: _r, ...view } = job;
  return view;
}

/** `account.export`: the pending (or running) export. */
export async function requestExport(caller: Caller): Promise<Job> {
  const { username, now } = caller;
  const id = newId();
  const job: Job = {
    id,
    kind: 'export',
    status: 'pending',
    requested: now,
    requestedBy: caller.access.id,
    archiveKey: objectKeys.exportArchive(username, id),
  };
  return (await requestExportJob(username, job, now)).job;
}

/** `account.getExport`: the export's state and, once done, a short-lived download link. */
export async function exportStatus(caller: Caller, id: string): Promise<Record<string, unknown>> {
  const { username, now, config } = caller;
  const job = await getJob(username, 'export', id);
  if (!job) throw errors.unknownResource('export', id);
  const view = jobForApi(job);
  if (job.status === 'done') {
    view.url = await presignedGet(job.archiveKey, {
      fileName: `${username}-${job.id}.tar.gz`,
      type: ARCHIVE_TYPE,
      expiresInS: config.exportLinkTtlS,
    });
    view.urlExpires = now + config.exportLinkTtlS;
  }
  return view;
}

/** Refuses an import into an account that already holds data (400 invalid-operation). */
async function checkEmpty(username: string): Promise<void> {
  try {
    await assertEmptyAccount(username);
  } catch (err) {
    if (err instanceof ArchiveError)
      throw errors.invalidOperation('An export can only be imported into an account without streams or events.');
    throw err;
  }
}

/** `account.importUpload`: where to PUT the archive to import (into an empty account). */
export async function importUploadSlot(caller: Caller, size: number): Promise<Record<string, unknown>> {
  const { username, config } = caller;
  await checkEmpty(username);
  const id = newId();
  const url = await presignedPut(objectKeys.importArchive(username, id), { type: ARCHIVE_TYPE, size, expiresInS: config.presignTtlS });
  return {
    id,
    status: 'awaiting-upload',
    upload: { url, method: 'PUT', headers: { 'Content-Type': ARCHIVE_TYPE, 'Content-Length': String(size) } },
  };
}

/** `account.import`: the import of the uploaded archive `id` (asked twice, it runs once). */
export async function startImport(caller: Caller, id: string): Promise<Job> {
  const { username, now } = caller;
  const existing = await getJob(username, 'import', id);
  if (existing) return existing;
  const key = objectKeys.importArchive(username, id);
  if (!(await headFile(key))) throw errors.unknownResource('import upload', id);
  await checkEmpty(username);
  const job: Job = { id, kind: 'import', status: 'pending', requested: now, requestedBy: caller.access.id, archiveKey: key };
  if (!(await createImportJob(username, job, now))) {
    const raced = await getJob(username, 'import', id);
    if (raced) return raced;
  }
  return job;
}

/** `account.getImport`. */
export async function importStatus(caller: Caller, id: string): Promise<Job> {
  const job = await getJob(caller.username, 'import', id);
  if (!job) throw errors.unknownResource('import', id);
  return job;
}
