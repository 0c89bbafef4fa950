import { randomUUID } from 'node:crypto';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { setAsideRecord } from '../../shared/adapters/dead-letters';
import { log, sampleDebugLogs, withLogContext } from '../../shared/log';
import { METRIC, recordMetrics } from '../../shared/metrics';
import { classifyRecord, collectChanges } from '../../shared/notify/changes';
import { dispatchChanges, registerSink } from '../../shared/notify/dispatch';
import { deliverDueWebhooks, queueWebhookMessages, settleStartedAttempts } from '../../shared/notify/webhook-delivery';
import { pushChangesToSockets, sendOpenPacket } from '../../shared/socketio/outbound';
import { insertedConnections } from '../../shared/store/socket-connections';
import { writerRequestId } from '../../shared/store/stream-records';

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

/**
 * The records of a batch that can be read as far as the fan-out reads them (classifyRecord's
 * part, and a new connection's item); each other one is set aside (dead letter, error line)
 * so that it never takes the changes of the rest of its batch with it. One that could not
 * even be set aside is reported in `failures`, to be retried.
 */
async function readableRecords(records: DynamoDBRecord[], failures: string[]): Promise<DynamoDBRecord[]> {
  const readable: DynamoDBRecord[] = [];
  for (const record of records) {
    try {
      classifyRecord(record);
      insertedConnections([record]);
      readable.push(record);
    } catch (err) {
      try {
        await setAsideRecord('fanout', record, err);
      } catch (asideErr) {
        log.error('fanout: record neither read nor set aside; retried', { err: asideErr, sequenceNumber: record.dynamodb?.SequenceNumber });
        if (record.dynamodb?.SequenceNumber) failures.push(record.dynamodb.SequenceNumber);
      }
    }
  }
  return readable;
}

/**
 * How old the oldest change of a batch is as the fan-out starts it (the notification delay,
 * EMF `FanoutLag`): stream records carry their creation time in whole seconds.
 */
function recordLagMs(records: DynamoDBRecord[], now = Date.now()): number | undefined {
  const created = records.map((r) => r.dynamodb?.ApproximateCreationDateTime).filter((t): t is number => typeof t === 'number');
  return created.length === 0 ? undefined : Math.max(0, now - Math.min(...created) * 1000);
}

/** How long, at most, a fan-out in Lambda waits for the webhook calls it started (well under one call's timeout). */
const LAMBDA_ATTEMPT_GRACE_MS = 1000;

/** At most this many request ids are named on one line (a burst of writes coalesces into one dispatch). */
const MAX_CAUSES_LOGGED = 20;

/**
 * The request ids of the calls whose writes a batch holds, per user (event heads and
 * tombstones keep theirs), as log fields: `causedByRequestId` is one id, or a list when the
 * dispatch coalesces several calls' writes.
 */
function causes(records: DynamoDBRecord[]): Map<string, { causedByRequestId?: string | string[] }> {
  const ids = new Map<string, Set<string>>();
  for (const record of records) {
    const id = writerRequestId(record);
    const username = id && classifyRecord(record)?.username;
    if (!id || !username) continue;
    if (!ids.has(username)) ids.set(username, new Set());
    ids.get(username)!.add(id);
  }
  return new Map(
    [...ids].map(([username, set]) => {
      const list = [...set].slice(0, MAX_CAUSES_LOGGED);
      return [username, { causedByRequestId: list.length === 1 ? list[0]! : list }];
    }),
  );
}

export async function handler(event: DynamoDBStreamEvent, context?: Pick<Context, 'awsRequestId'>): Promise<DynamoDBBatchResponse> {
  sampleDebugLogs();
  // Every line of this run (dispatch, socket pushes, first webhook deliveries) carries its id.
  return withLogContext({ fanoutRequestId: context?.awsRequestId ?? randomUUID() }, () => fanOut(event));
}

async function fanOut(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
  const lag = recordLagMs(event.Records);
  if (lag !== undefined) recordMetrics({}, [{ name: METRIC.fanoutLag, unit: 'Milliseconds', value: lag }]);
  const failures: string[] = [];
  const records = await readableRecords(event.Records, failures);
  const changes = collectChanges(records);
  const causedBy = causes(records);
  // New WebSocket connections get their Engine.IO open packet (API Gateway refuses posts during `$connect`).
  const opened = insertedConnections(records);
  const opening = Promise.all(
    opened.map((c) => sendOpenPacket(c).catch((err) => log.error('fanout: open packet failed', { err, connectionId: c.connectionId }))),
  );
  let activeWebhooks = false;
  await Promise.all(
    [...changes].map(async ([username, user]) => {
      try {
        // Every line of this user's dispatch (socket pushes, first webhook attempts) names the calls that caused it.
        await withLogContext({ username, firstSequenceNumber: user.firstSequenceNumber, ...causedBy.get(username) }, async () => {
          if ((await dispatchChanges(new Map([[username, user]]))).activeWebhooks) activeWebhooks = true;
          log.info('fanout: changes dispatched', { messages: [...user.messages] });
        });
      } catch (err) {
        log.error('fanout: dispatch failed', { err, username });
        if (user.firstSequenceNumber) failures.push(user.firstSequenceNumber);
        else throw err; // no position to retry from: fail the whole batch
      }
    }),
  );
  await opening;
  // First attempts are started by the sink as it queues, and not waited for (a slow receiver
  // must not hold the shard's next batch, hence every user's socket pushes); attempts that
  // came due meanwhile (a throttled webhook) need not wait for the schedule, and run alike.
  // Only after a batch of a user with an active webhook: a batch of users without any has
  // queued nothing, and the worker's poll runs what came due (saving a Query per batch).
  // A failure here is the worker's to retry.
  if (activeWebhooks) {
    await deliverDueWebhooks(undefined, { background: true }).catch((err) => log.error('fanout: webhook delivery run failed', { err }));
  }
  // In Lambda the environment is frozen once the handler returns, and a call in flight would
  // resume only at the next invocation (or its lease run out, for the worker to retry): give
  // the calls a short grace, so a prompt receiver is served within this one. Locally the
  // process goes on and nothing need wait.
  if (process.env.AWS_LAMBDA_FUNCTION_NAME) await settleStartedAttempts(LAMBDA_ATTEMPT_GRACE_MS);
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}
