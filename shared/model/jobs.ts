/** Export and import jobs as stored (shared/store/exports.ts). */

export type JobStatus = 'pending' | 'running' | 'done' | 'failed';

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
  error?: string;
}
