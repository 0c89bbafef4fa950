import type { DynamoDBStreamEvent } from 'aws-lambda';
import { jobOfRecord } from '../../shared/store/exports';
import { runJob } from '../../shared/domain/account-copy/jobs';

/**
 * The export/import worker Lambda, on the table's stream filtered to job INSERTs
 * (infra/stack.ts). Jobs of a batch run concurrently; each ends done or failed by itself.
 */
export async function handler(event: DynamoDBStreamEvent): Promise<void> {
  const jobs = event.Records.map(jobOfRecord).filter((j) => j !== undefined);
  await Promise.all(jobs.map((j) => runJob(j.username, j.kind, j.id)));
}
