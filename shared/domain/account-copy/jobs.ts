import { log } from '../../log';
import type { Job } from '../../model/jobs';
import { finishJob, getJob, reportJobProgress, startJob } from '../../store/exports';
import { buildExport } from './export-archive';
import { ArchiveError, importArchive } from './import-archive';
import { JobProgressReporter } from './progress';

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
  // While running, the job shows its counts (done / total); done, it keeps the final ones.
  const progress = new JobProgressReporter((counts) => reportJobProgress(username, kind, id, counts));
  try {
    if (kind === 'export') {
      const { manifest, size, sha256 } = await buildExport(username, job.archiveKey, now, progress);
      await progress.settled();
      await finishJob(username, kind, id, {
        status: 'done',
        finished: Date.now() / 1000,
        size,
        sha256,
        files: manifest.files.length + 1,
        counts: manifest.counts,
        progress: progress.snapshot(),
      });
    } else {
      const counts = await importArchive(username, job.archiveKey, progress);
      await progress.settled();
      await finishJob(username, kind, id, { status: 'done', finished: Date.now() / 1000, counts, progress: progress.snapshot() });
    }
  } catch (err) {
    log.error(`${kind} failed`, { err, username, id });
    const message = err instanceof ArchiveError ? err.message : `The ${kind} could not be completed.`;
    await finishJob(username, kind, id, { status: 'failed', finished: Date.now() / 1000, error: message });
  }
}
