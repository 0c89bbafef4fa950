import { keys } from '../../shared/store/keys';
import type { WireStreamRecord } from './stream-records';

/**
 * The filter criteria of the stack's event source mappings (infra/constructs/notifications.ts,
 * infra/constructs/export-worker.ts), for the local stream readers: the Lambda service drops
 * the records a mapping's filter refuses before invoking the function, so locally too the
 * handlers see only those (test/unit/stream-filters.test.ts holds them to the stack's).
 * Without them every index copy, audit record and job item would be read, converted and
 * looked at by both handlers in the local runtime's process, which a function in AWS never does.
 */

/** Partition-key prefixes of the items the change fan-out reads (the stack's FANOUT_PARTITION_PREFIXES). */
export const LOCAL_FANOUT_PARTITION_PREFIXES = ['EV#', 'USER#', 'WSCONN#'];

export function fanoutAccepts(record: WireStreamRecord): boolean {
  const pk = record.dynamodb?.Keys?.pk?.S;
  return typeof pk === 'string' && LOCAL_FANOUT_PARTITION_PREFIXES.some((prefix) => pk.startsWith(prefix));
}

/** Job INSERTs (export and import), by the new image's sort key. */
export function exportWorkerAccepts(record: WireStreamRecord): boolean {
  if (record.eventName !== 'INSERT') return false;
  const sk = record.dynamodb?.NewImage?.sk?.S;
  return typeof sk === 'string' && (sk.startsWith(keys.exportJobPrefix) || sk.startsWith(keys.importJobPrefix));
}
