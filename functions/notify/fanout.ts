import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { collectChanges } from '../../shared/notify/changes';
import { dispatchChanges, registerSink } from '../../shared/notify/dispatch';
import { deliverDueWebhooks, queueWebhookMessages } from '../../shared/notify/webhook-delivery';
import { log } from '../../shared/log';
import { pushChangesToSockets, sendOpenPacket } from '../../shared/socketio/outbound';
import { insertedConnections } from '../../shared/store/socket-connections';

/**
 * The change fan-out: the table's DynamoDB Stream → per-user Pryv
 * messages → every registered sink. Locally infra/local/stream-consumer.ts drives it.
 *
 * Partial batch response: a user whose dispatch failed reports the sequence number of the
 * first record of theirs in the batch; Lambda (and the local consumer) retries from the
 * lowest one reported, so what came before is not sent again and nothing after is lost.
 */
// Webhook delivery (spec §6.2): messages are queued on each active webhook (durably, in the
// table); the scheduled worker (functions/notify/webhook-worker.ts, the local runtime's timer)
// delivers them. Registered once per module instance, for AWS and the local runtime alike.
registerSink(queueWebhookMessages);
// Socket pushes (spec §6.1): straight to every live socket of the user.
registerSink(pushChangesToSockets);

export async function handler(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
  const changes = collectChanges(event.Records, (record, err) =>
    log.error('fanout: unreadable stream record skipped', { err, sequenceNumber: record.dynamodb?.SequenceNumber }),
  );
  // New WebSocket connections get their Engine.IO open packet (API Gateway refuses posts during `$connect`).
  const opened = insertedConnections(event.Records);
  const opening = Promise.all(
    opened.map((c) => sendOpenPacket(c).catch((err) => log.error('fanout: open packet failed', { err, connectionId: c.connectionId }))),
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
  await opening;
  // First deliveries need not wait for the schedule; a failure here is the worker's to retry.
  if (changes.size > 0) {
    await deliverDueWebhooks().catch((err) => log.error('fanout: webhook delivery run failed', { err }));
  }
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}
