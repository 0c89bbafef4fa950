/** Stored event shapes (spec §3.1). */

export interface Attachment {
  id: string;
  fileName: string;
  type: string;
  size: number;
  integrity?: string;
}

export interface StoredEvent {
  id: string;
  streamIds: string[];
  time: number;
  /** Absent or 0: a point event; null: running (open end). */
  duration?: number | null;
  type: string;
  content?: unknown;
  description?: string | null;
  clientData?: Record<string, unknown> | null;
  trashed?: boolean;
  attachments?: Attachment[];
  created: number;
  createdBy: string;
  modified: number;
  modifiedBy: string;
  /** `EVENT:0:sha256-…` of this version, computed when it was written (domain/integrity/canonical.ts); absent on items written without. */
  integrity?: string;
}

/** A permanently deleted event, kept so that sync (`modifiedSince` + deletions) sees it. */
export interface EventDeletion {
  id: string;
  deleted: number;
}

/** Largest number DynamoDB stores: the end of a running event. */
export const RUNNING_END = 9.9e125;

export function endTime(event: Pick<StoredEvent, 'time' | 'duration'>): number {
  if (event.duration === null) return RUNNING_END;
  return event.time + (event.duration ?? 0);
}
