import { RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { acknowledgeLogEncryption } from './acknowledge';

/** API access logs are kept as long as the API's own audit records (AUDIT_RETENTION_DAYS). */
export const API_ACCESS_LOG_RETENTION = logs.RetentionDays.ONE_YEAR;

/**
 * One JSON line per HTTP request: who (IP), when, which route, the outcome. No path, query
 * string or header beyond the user agent, so no token (`?auth=`), read token or username
 * reaches the log; the audit log (README "Your data") holds what a user's tokens did.
 */
export const HTTP_ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  time: '$context.requestTimeEpoch',
  method: '$context.httpMethod',
  routeKey: '$context.routeKey',
  status: '$context.status',
  responseLength: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationError: '$context.integrationErrorMessage',
});

/** One JSON line per WebSocket event ($connect, messages, $disconnect), with the same care. */
export const WEBSOCKET_ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  time: '$context.requestTimeEpoch',
  eventType: '$context.eventType',
  routeKey: '$context.routeKey',
  connectionId: '$context.connectionId',
  status: '$context.status',
  error: '$context.error.message',
});

/**
 * The log group of one API's access logs, named by its construct id (its CloudFormation name
 * is in the stack outputs), encrypted with the data key when there is one, retained.
 */
export function apiAccessLogGroup(scope: Construct, id: string, key: kms.IKey | undefined, logGroupName?: string): logs.LogGroup {
  const group = new logs.LogGroup(scope, id, {
    logGroupName,
    retention: API_ACCESS_LOG_RETENTION,
    encryptionKey: key,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  acknowledgeLogEncryption(group, key);
  return group;
}
