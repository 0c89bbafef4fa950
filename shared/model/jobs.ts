/** Export and import jobs as stored (shared/store/exports.ts). */

export type JobStatus = 'pending' | 'running' | 'done' | 'failed';

/** One kind of item of a running job: how many are done, and of how many (when known). */
export interface JobCount {
  done: number;
  total?: number;
}

/** What a running job reports: `streams`, `events`, `attachments`, `seriesPoints`. */
export type JobProgress = Record<string, JobCount>;

export interface Job {
  id: string;
  kind: 'export' | 'import';
  status: JobStatus;
  requested: number;
  requestedBy: string;
  started?: number;
  finished?: number;
  /** S3 key of the archive (export: written; import: read). */
  archiveKey: string;
  size?: number;
  sha256?: string;
  files?: number;
  counts?: Record<string, number>;
  /** While `running`: counts done / total, updated as the job goes (README "Your data"). */
  progress?: JobProgress;
  error?: string;
}
