import { Duration } from 'aws-cdk-lib';
import type { IEventSourceDlq, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { acknowledge } from './acknowledge';

/**
 * The dead-letter queue of a function fed by the table's stream, and the mapping's on-failure
 * destination pointing at it. Two senders use the function's role: the handler, for each record
 * it cannot read (shared/adapters/dead-letters-sqs.ts, told the queue by DEAD_LETTER_QUEUE_URL),
 * and Lambda's event source mapping, for the metadata of a batch it gave up on. Both only send,
 * so the role gets sqs:SendMessage on this queue and nothing else: CDK's grantSendMessages and
 * SqsDlq would add GetQueueAttributes and GetQueueUrl, which nothing here calls.
 */
export function streamDeadLetterQueue(
  scope: Construct,
  id: string,
  fn: LambdaFunction,
  nagReason: string,
): { queue: sqs.Queue; onFailure: IEventSourceDlq } {
  const queue = new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    retentionPeriod: Duration.days(14),
    enforceSSL: true,
  });
  acknowledge(queue, 'AwsSolutions-SQS3', nagReason);
  fn.addEnvironment('DEAD_LETTER_QUEUE_URL', queue.queueUrl);
  queue.grant(fn, 'sqs:SendMessage');
  return { queue, onFailure: { bind: () => ({ destination: queue.queueArn }) } };
}
