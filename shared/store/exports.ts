import type { DynamoDBRecord } from 'aws-lambda';
import type { Job, JobProgress } from '../model/jobs';
import { dynamo, table } from './clients';
import { GetCommand, UpdateCommand } from './commands';
import { ifConditionHolds } from './conditional';
import { keys } from './keys';
import { insertedItem, recordKey } from './stream-records';
import { transactWrite } from './transact';

/**
 * Export and import jobs.
 *
 *   USER#{user}  EXPORT#{id}     an export job (its INSERT on the table's stream starts the worker)
 *   USER#{user}  EXPORTACTIVE    the pending or running export: a second request while it exists gets it
 *   USER#{user}  IMPORT#{id}     an import job (same trigger)
 */
/** A job still `running` this long after it started is taken as dead (the worker Lambda times out at 15 min). */
export const JOB_STALE_AFTER_S = 20 * 60;
const JOB_TTL_S = 30 * 24 * 3600; // job records go after a month (their archives sooner, by the bucket's lifecycle rule)

const jobKey = (username: string, job: Pick<Job, 'kind' | 'id'>) =>
  job.kind === 'export' ? keys.exportJob(username, job.id) : keys.importJob(username, job.id);

function strip(item: Record<string, unknown>): Job {
  const { pk: _pk, sk: _sk, ttl: _t, username: _u, ...job } = item;
  return job as unknown as Job;
}

/**
 * Creates an export job unless one is pending or running (and not stale): then that one is
 * returned. The claim (EXPORTACTIVE) and the job are written in one transaction.
 */
export async function requestExportJob(username: string, job: Job, now: number): Promise<{ job: Job; created: boolean }> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const failed = await transactWrite([
      {
        Put: {
          TableName: undefined,
          Item: { ...keys.exportActive(username), exportId: job.id, requested: now },
          ConditionExpression: 'attribute_not_exists(pk) OR requested < :stale',
          ExpressionAttributeValues: { ':stale': now - JOB_STALE_AFTER_S },
        },
      },
      { Put: { TableName: undefined, Item: { ...jobKey(username, job), username, ...job, ttl: Math.floor(now + JOB_TTL_S) } } },
    ]);
    if (failed.length === 0) return { job, created: true };
    const active = await dynamo().send(new GetCommand({ TableName: table(), Key: keys.exportActive(username), ConsistentRead: true }));
    const activeId = active.Item?.exportId as string | undefined;
    if (activeId) {
      const existing = await getJob(username, 'export', activeId);
      if (existing) return { job: existing, created: false };
    }
  }
  throw new Error('export request: could not settle the active export');
}

/** Creates an import job (its id is the upload's, so it is created once). */
export async function createImportJob(username: string, job: Job, now: number): Promise<boolean> {
  const failed = await transactWrite([
    {
      Put: {
        TableName: undefined,
        Item: { ...jobKey(username, job), username, ...job, ttl: Math.floor(now + JOB_TTL_S) },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
  ]);
  return failed.length === 0;
}

export async function getJob(username: string, kind: Job['kind'], id: string): Promise<Job | undefined> {
  const out = await dynamo().send(new GetCommand({ TableName: table(), Key: jobKey(username, { kind, id }), ConsistentRead: true }));
  return out.Item ? strip(out.Item) : undefined;
}

/** Takes a pending job (or a stale running one) for this worker; false if someone else has it. */
export async function startJob(username: string, kind: Job['kind'], id: string, now: number): Promise<boolean> {
  const started = await ifConditionHolds(
    dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: jobKey(username, { kind, id }),
        UpdateExpression: 'SET #s = :running, started = :now',
        ConditionExpression: 'attribute_exists(pk) AND (#s = :pending OR (#s = :running AND started < :stale))',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':running': 'running', ':pending': 'pending', ':now': now, ':stale': now - JOB_STALE_AFTER_S },
      }),
    ),
  );
  return started !== false;
}

/** Records a running job's progress (nothing if it is no longer running). */
export async function reportJobProgress(username: string, kind: Job['kind'], id: string, progress: JobProgress): Promise<void> {
  await ifConditionHolds(
    dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: jobKey(username, { kind, id }),
        UpdateExpression: 'SET progress = :p',
        ConditionExpression: '#s = :running',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':p': progress, ':running': 'running' },
      }),
    ),
  );
}

/** Ends a job (done or failed) and, for an export, releases the active-export claim. */
export async function finishJob(
  username: string,
  kind: Job['kind'],
  id: string,
  fields: Partial<Job> & { status: 'done' | 'failed' },
): Promise<void> {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets = Object.entries(fields).map(([k, v], i) => {
    names[`#f${i}`] = k;
    values[`:v${i}`] = v;
    return `#f${i} = :v${i}`;
  });
  await dynamo().send(
    new UpdateCommand({
      TableName: table(),
      Key: jobKey(username, { kind, id }),
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
  if (kind === 'export') {
    await transactWrite([
      {
        Delete: {
          TableName: undefined,
          Key: keys.exportActive(username),
          ConditionExpression: 'exportId = :id',
          ExpressionAttributeValues: { ':id': id },
        },
      },
    ]);
  }
}

/** The job whose creation a stream record is (the worker's trigger), if it is one. */
export function jobOfRecord(record: DynamoDBRecord): { username: string; kind: Job['kind']; id: string } | undefined {
  // Decided from the keys first: only job items are read whole (every other item is none of ours here).
  if (record.eventName !== 'INSERT') return undefined;
  const sk = recordKey(record)?.sk ?? '';
  const kind = sk.startsWith(keys.exportJobPrefix) ? 'export' : sk.startsWith(keys.importJobPrefix) ? 'import' : undefined;
  if (!kind) return undefined;
  const item = insertedItem(record);
  if (!item || typeof item.username !== 'string' || typeof item.id !== 'string') return undefined;
  return { username: item.username, kind, id: item.id };
}
