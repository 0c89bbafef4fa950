import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { config } from '../config';
import { recordSdkCalls } from '../sdk-calls';

/**
 * The SQS call of ./dead-letters.ts, imported when a record is first set aside on a queue: the
 * readers that use it (the change fan-out, the export worker) almost never do, so their cold
 * starts do not load the SQS client.
 */
let sqs: SQSClient | undefined;

export async function sendDeadLetter(queueUrl: string, body: string): Promise<void> {
  // Recorded like every client (shared/sdk-calls.ts): test:bundled holds its sends to the function's role.
  sqs ??= recordSdkCalls(new SQSClient({ region: config().region }));
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
}
