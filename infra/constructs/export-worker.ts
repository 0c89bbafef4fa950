import { Duration, Stack } from 'aws-cdk-lib';
import { type CfnFunction, FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { LIMITS } from '../../shared/limits';
import type { DataStore } from './data';
import { streamDeadLetterQueue } from './dead-letter-queue';
import type { Functions } from './functions';

export const EXPORT_WORKER_DESCRIPTION = 'Pryv account export and import worker (job INSERTs on the table stream)';
const EXPORT_WORKER_TIMEOUT = Duration.seconds(LIMITS.jobSeconds); // Lambda's maximum: builds stream page by page, so this bounds account size by throughput only
const EXPORT_WORKER_MEMORY_MB = 1024; // gzip and S3 multipart parts in flight; more memory also means more CPU
const EXPORT_WORKER_TMP_MB = 10_240; // JSON Lines files are staged in /tmp (a tar entry needs its size first)

/**
 * Account export and import (shared/domain/account-copy/jobs.ts): a job item's INSERT starts the
 * worker through its own mapping on the table's stream, filtered to those records. Jobs of
 * different users run in parallel (parallelization factor); the worker ends each job done or
 * failed itself, so the mapping retries only a crash (a job already taken is skipped).
 * Its function is made by `Functions`, in the stack (see infra/stack.ts).
 */
export class ExportWorker {
  /** Job records the worker cannot read (sent by the handler) and batches its mapping gave up on (metadata). */
  readonly dlq: sqs.Queue;

  constructor(props: { data: DataStore; functions: Functions }) {
    const worker = props.functions.add({
      id: 'Fn-export-worker',
      entry: 'functions/export/worker.ts',
      description: EXPORT_WORKER_DESCRIPTION,
      data: 'tableAndBucket', // archives and attachments
      timeout: EXPORT_WORKER_TIMEOUT,
    });
    const cfn = worker.node.defaultChild as CfnFunction;
    cfn.memorySize = EXPORT_WORKER_MEMORY_MB;
    cfn.ephemeralStorage = { size: EXPORT_WORKER_TMP_MB };
    const dlq = streamDeadLetterQueue(
      Stack.of(worker),
      'ExportWorkerDlq',
      worker,
      "It is the dead-letter destination of the export worker's stream mapping",
    );
    this.dlq = dlq.queue;
    worker.addEventSource(
      new DynamoEventSource(props.data.table, {
        startingPosition: StartingPosition.LATEST,
        batchSize: 10,
        parallelizationFactor: 10,
        retryAttempts: 1,
        reportBatchItemFailures: true, // a record the handler could not even set aside
        onFailure: dlq.onFailure,
        maxRecordAge: Duration.hours(1),
        filters: [
          FilterCriteria.filter({
            eventName: FilterRule.isEqual('INSERT'),
            dynamodb: { NewImage: { sk: { S: FilterRule.beginsWith('EXPORT#') } } },
          }),
          FilterCriteria.filter({
            eventName: FilterRule.isEqual('INSERT'),
            dynamodb: { NewImage: { sk: { S: FilterRule.beginsWith('IMPORT#') } } },
          }),
        ],
      }),
    );
  }
}
