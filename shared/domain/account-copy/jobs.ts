import { log } from '../../log';
import type { Job } from '../../model/jobs';
import { finishJob, getJob, startJob } from '../../store/exports';
import { buildExport } from './export-archive';
import { ArchiveError, importArchive } from './import-archive';

/**
 * The export/import worker's job: a job's INSERT on the table's stream starts it (in AWS
 * the worker Lambda's event source mapping filters those records; locally
 * infra/local/export-worker.ts feeds it the stream). A job is taken with a conditional
 * update, so a record delivered twice runs once; whatever goes wrong ends the job
 * `failed` with a message for the user (a new request may then be made).
 */
export async function runJob(username: string, kind: Job['kind'], id: string): Promise<void> {
  const now = Date.now() / 1000;
  if (!(await startJob(username, kind, id, now))) return; // done, failed, or running elsewhere
  const job = await getJob(username, kind, id);
  if (!job) return;
  try {
    if (kind === 'export') {
      const { manifest, size, sha256 } = await buildExport(username, job.archiveKey, now);
      await finishJob(username, kind, id, {
        status: 'done',
        finished: Date.now() / 1000,
        size,
        sha256,
        files: manifest.files.length + 1,
        counts: manifest.counts,
      });
    } else {
      const counts = await importArchive(username, job.archiveKey);
      await finishJob(username, kind, id, { status: 'done', finished: Date.now() / 1000, counts });
    }
  } catch (err) {
    log.error(`${kind} failed`, { err, username, id });
    const message = err instanceof ArchiveError ? err.message : `The ${kind} could not be completed.`;
    await finishJob(username, kind, id, { status: 'failed', finished: Date.now() / 1000, error: message });
  }
}
