import { handler } from '../../functions/export/worker';
import type { StreamHandler, StreamMapping } from './stream-consumer';
import { exportWorkerAccepts } from './stream-filters';

/**
 * The local stand-in for the export worker's event source mapping: a mapping of its own on
 * the table's stream (as in AWS, where the worker has its own), with its own checkpoint and
 * retries, served by the runtime's one stream reader (stream-consumer.ts) beside the fan-out's.
 * The handler ignores every record but job INSERTs; the mapping's filter, as in AWS, spares
 * it the others.
 */
export function exportWorkerMapping(options: {
  checkpointFile?: string;
  /** The worker function (default: functions/export/worker.ts from sources; in bundle mode, its bundle). */
  handler?: StreamHandler;
}): StreamMapping {
  return { name: 'export worker', handler, ...options, maxRetryAttempts: 2, filter: exportWorkerAccepts };
}
