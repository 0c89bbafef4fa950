import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { collectChanges } from '../../shared/notify/changes';
import { dispatchChanges } from '../../shared/notify/dispatch';
import { log } from '../../shared/log';

/**
 * The change fan-out (ARCHITECTURE §1): the table's DynamoDB Stream → per-user Pryv
 * messages → every registered sink. Locally infra/local/stream-consumer.ts drives it.
 *
 * Partial batch response: a user whose dispatch failed reports the sequence number of the
 * first record of theirs in the batch; Lambda (and the local consumer) retries from the
 * lowest one reported, so what came before is not sent again and nothing after is lost.
 */
export async function handler(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
  const changes = collectChanges(event.Records, (record, err) =>
    log.error('fanout: unreadable stream record skipped', { err, sequenceNumber: record.dynamodb?.SequenceNumber }),
  );
  const failures: string[] = [];
  await Promise.all(
    [...changes].map(async ([username, user]) => {
      try {
        await dispatchChanges(new Map([[username, user.messages]]));
      } catch (err) {
        log.error('fanout: dispatch failed', { err, username });
        if (user.firstSequenceNumber) failures.push(user.firstSequenceNumber);
        else throw err; // no position to retry from: fail the whole batch
      }
    }),
  );
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}
