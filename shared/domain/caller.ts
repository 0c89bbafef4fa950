import type { Config } from '../config';
import type { Access } from '../model/accesses';
import type { EventDeletion } from '../model/events';
import type { DataMeta } from '../model/streams';
import type { CounterAdd, ItemInsert } from '../store/call-records';
import type { EventHead } from '../store/events/items';
import type { SeriesState } from '../store/series/state';

/**
 * What authentication read in the same round trip as the token, for the call's first use
 * only (whoever uses it clears it: later calls of a batch must see the batch's own writes).
 */
export interface Prefetched {
  dataMeta?: DataMeta;
  /** The head (or tombstone) of the event the path names, for HF series calls. */
  event?: { id: string; head?: EventHead; deletion?: EventDeletion; series?: { state: SeriesState | undefined } };
}

/**
 * Who is calling, as domain code sees a call made with an access: the path user, the
 * access (authenticated and live), the time of the call and the settings. Built once per
 * call by the API layer (shared/api/caller.ts).
 */
/** What a call's writes hand over to be written with its usage and audit records (Caller.withRecords). */
export interface CallRecordWrites {
  counters: CounterAdd[];
  inserts?: ItemInsert[];
  /** Run once the records and inserts are written (not if they could not be): a compaction of what they stored. */
  then?: () => Promise<void>;
}

export interface Caller {
  username: string;
  access: Access;
  /** Time of the call, Unix seconds (float). */
  now: number;
  /** `createdBy` / `modifiedBy` of what the call writes: the access id, plus the caller id when one was given (spec §1.3). */
  author: string;
  config: Config;
  prefetched?: Prefetched;
  /**
   * A call of a callBatch: its changes are not pushed to sockets by the call itself but told
   * by the fan-out, coalesced (a batch of 1,000 creations is a few messages, not 1,000).
   */
  inBatch?: boolean;
  /**
   * Hands over work started after the call's commit (a direct push to sockets) that its
   * answer need not wait for apart: it is finished beside the call's usage and audit writes.
   * Without it the caller awaits the work itself.
   */
  alongside?: (work: Promise<void>) => void;
  /**
   * Hands over counter adds (storage usage, a series' tally) and new items (a series'
   * segment) to write in the same request as the call's usage and audit records, and work to
   * run once they are written, all before the answer. Without it the caller writes them.
   */
  withRecords?: (records: CallRecordWrites) => void;
}
