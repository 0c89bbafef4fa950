import { handler } from '../../functions/export/worker';
import { type StreamConsumer, type StreamHandler, startStreamConsumer } from './stream-consumer';
import { exportWorkerAccepts } from './stream-filters';

const POLL_MS = 250; // exports are not latency-sensitive; a quarter second keeps the local stream quiet

/**
 * The local stand-in for the export worker's event source mapping: a second reader of the
 * table's stream (as in AWS, where the worker has its own mapping) calling the same handler,
 * which ignores every record but job INSERTs; the mapping's filter, as in AWS, spares it the others.
 */
export function startExportWorker(options: {
  endpoint: string;
  tableName: string;
  checkpointFile?: string;
  /** The worker function (default: functions/export/worker.ts from sources; in bundle mode, its bundle). */
  handler?: StreamHandler;
}): Promise<StreamConsumer> {
  return startStreamConsumer({ handler, ...options, pollMs: POLL_MS, maxRetryAttempts: 2, filter: exportWorkerAccepts });
}
