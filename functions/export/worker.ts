import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { setAsideRecord } from '../../shared/adapters/dead-letters';
import { runJob } from '../../shared/domain/account-copy/jobs';
import { log } from '../../shared/log';
import { jobOfRecord } from '../../shared/store/exports';

/**
 * The export/import worker Lambda, on the table's stream filtered to job INSERTs
 * (infra/stack.ts). Jobs of a batch run concurrently; each ends done or failed by itself.
 * A record it cannot read is set aside (shared/adapters/dead-letters.ts), not allowed to
 * fail the jobs of its batch; only one that could not even be set aside is retried.
 */
export async function handler(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
  const jobs: Array<NonNullable<ReturnType<typeof jobOfRecord>>> = [];
  const failures: string[] = [];
  const setAside = async (record: DynamoDBRecord, err: unknown) => {
    try {
      await setAsideRecord('export-worker', record, err);
    } catch (asideErr) {
      log.error('export worker: record neither read nor set aside; retried', {
        err: asideErr,
        sequenceNumber: record.dynamodb?.SequenceNumber,
      });
      if (record.dynamodb?.SequenceNumber) failures.push(record.dynamodb.SequenceNumber);
    }
  };
  for (const record of event.Records) {
    try {
      const job = jobOfRecord(record);
      if (job) jobs.push(job);
    } catch (err) {
      await setAside(record, err);
    }
  }
  await Promise.all(jobs.map((j) => runJob(j.username, j.kind, j.id)));
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}
