import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import { LogGroupLogDestination, WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { FilterCriteria, FilterRule, type Function as LambdaFunction, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as triggers from 'aws-cdk-lib/triggers';
import type { Construct } from 'constructs';
import { apiAccessLogGroup, WEBSOCKET_ACCESS_LOG_FORMAT } from './access-logs';
import { acknowledge, managedPolicyRule } from './acknowledge';
import { PRYV_AUTHORIZATION } from './api-functions';
import type { DataStore } from './data';
import { streamDeadLetterQueue } from './dead-letter-queue';
import type { Functions } from './functions';

const WEBSOCKET_STAGE = 'live';
/**
 * Engine.IO pings come from a sweep started every minute (EventBridge's finest rate); clients
 * wait pingInterval + pingTimeout for one, so a late sweep does not drop them. Given to every
 * function, like the other settings of shared/config.ts.
 */
export const SOCKET_PING_ENVIRONMENT = { SOCKET_PING_INTERVAL_MS: '60000', SOCKET_PING_TIMEOUT_MS: '60000' };

const FANOUT_DESCRIPTION = 'Pryv change fan-out (DynamoDB Stream → notifications)';
/** Partition-key prefixes of the items whose stream records the change fan-out reads. */
export const FANOUT_PARTITION_PREFIXES = ['EV#', 'USER#', 'WSCONN#'];
export const SOCKET_PING_DESCRIPTION = 'Pryv WebSocket ping sweep (every minute)';
export const SERVICE_BOOT_DESCRIPTION = 'Pryv webhooksServiceBoot message (after deployments)';
export const WEBHOOK_WORKER_DESCRIPTION = 'Pryv webhook delivery worker (every minute)';

/** Socket.IO's way in: API Gateway's WebSocket API and its auto-deployed stage. */
export interface SocketApi {
  api: WebSocketApi;
  stage: WebSocketStage;
  accessLogs: logs.LogGroup;
}

/** The WebSocket API, made before the functions (as the HTTP API, see createHttpApi); its routes are added by Notifications. */
export function createSocketApi(scope: Construct, key: kms.IKey | undefined): SocketApi {
  const api = new WebSocketApi(scope, 'WebSocketApi', { description: 'Pryv Socket.IO (Engine.IO 3 and 4 over WebSocket)' });
  acknowledge(api, 'AwsSolutions-APIG4', PRYV_AUTHORIZATION);
  const accessLogs = apiAccessLogGroup(scope, 'WebSocketAccessLogs', key);
  const stage = new WebSocketStage(scope, 'WebSocketStage', {
    webSocketApi: api,
    stageName: WEBSOCKET_STAGE,
    autoDeploy: true,
    accessLogSettings: {
      destination: new LogGroupLogDestination(accessLogs),
      format: apigateway.AccessLogFormat.custom(WEBSOCKET_ACCESS_LOG_FORMAT),
    },
  });
  stage.node.addDependency(apiGatewayLogsRole(scope));
  return { api, stage, accessLogs };
}

/**
 * WebSocket APIs write access logs through the region's API Gateway account setting, its
 * CloudWatch Logs role, which a new account lacks: the stack sets it (to a role that may only
 * write logs) and keeps both when it goes, as other APIs of the account may log through it.
 */
function apiGatewayLogsRole(scope: Construct): apigateway.CfnAccount {
  const policy = 'service-role/AmazonAPIGatewayPushToCloudWatchLogs';
  const role = new iam.Role(scope, 'ApiGatewayLogsRole', {
    assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
    description: 'API Gateway: write API access logs to CloudWatch Logs (region-wide API Gateway setting)',
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName(policy)],
  });
  role.applyRemovalPolicy(RemovalPolicy.RETAIN);
  acknowledge(role, managedPolicyRule(policy), "AWS's policy for this API Gateway service role, kept current by AWS");
  const account = new apigateway.CfnAccount(scope, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
  account.applyRemovalPolicy(RemovalPolicy.RETAIN);
  return account;
}

/**
 * What tells clients about changes: the change fan-out on the table's stream (with its
 * dead-letter queue), the WebSocket routes and their ping sweep, the webhook delivery worker,
 * and the `webhooksServiceBoot` message after deployments. Added to the stack it is given
 * (see infra/stack.ts).
 */
export class Notifications {
  /** Where the fan-out's mapping sends the batches it gave up on. */
  readonly fanoutDlq: sqs.Queue;
  /** The change fan-out function (its iterator age is watched: infra/constructs/observability.ts). */
  readonly fanout: LambdaFunction;

  constructor(scope: Construct, props: { data: DataStore; sockets: SocketApi; functions: Functions }) {
    const { data, sockets, functions } = props;

    // Change fan-out: the table's stream → per-user Pryv change messages → sinks.
    const fanout = functions.add({
      id: 'Fn-notify-fanout',
      entry: 'functions/notify/fanout.ts',
      description: FANOUT_DESCRIPTION,
      data: 'table', // queues webhook messages and delivers the first attempt
      capabilities: ['socketManagement'], // socket pushes and open packets
    });
    this.fanout = fanout;
    // Lambda sends the metadata of a batch it gave up on (shard, sequence-number range) here,
    // not the records themselves: the stream keeps those 24 hours, so replay from it within that.
    // The handler itself sends here, whole, each record it cannot read (shared/adapters/dead-letters.ts),
    // so that the rest of its batch is delivered.
    const fanoutDlq = streamDeadLetterQueue(
      scope,
      'FanoutDlq',
      fanout,
      "It is the dead-letter destination of the fan-out's stream mapping",
    );
    this.fanoutDlq = fanoutDlq.queue;
    fanout.addEventSource(
      new DynamoEventSource(data.table, {
        startingPosition: StartingPosition.LATEST,
        batchSize: 100,
        // No batching window: a batch goes as soon as Lambda's poll (4 a second per shard) finds
        // records, so a change reaches sockets and webhooks in a few hundred milliseconds (README
        // "Performance", change notifications in AWS: delay and cost). A burst still coalesces
        // into one message per user per batch.
        maxBatchingWindow: Duration.seconds(0),
        parallelizationFactor: 1, // one batch per shard at a time: per-user order is kept
        retryAttempts: 5,
        bisectBatchOnError: true, // a failing batch is split until the bad record is alone
        reportBatchItemFailures: true, // the handler returns batchItemFailures
        maxRecordAge: Duration.hours(1),
        onFailure: fanoutDlq.onFailure, // so one bad record never blocks the shard
        // Only partitions whose changes notify anyone (shared/notify/changes.ts: event heads,
        // a user's streams and accesses; socketio/server.ts: new connections). Audit records,
        // one per API call, and index copies never start the function.
        filters: FANOUT_PARTITION_PREFIXES.map((prefix) =>
          FilterCriteria.filter({ dynamodb: { Keys: { pk: { S: FilterRule.beginsWith(prefix) } } } }),
        ),
      }),
    );

    // WebSocket routes (shared/notify/socketio/server.ts): $connect records, $default answers
    // through @connections, $disconnect forgets. The message function runs API methods (those
    // callBatch may run, and callBatch itself), hence the read-token secret.
    const endpointOnly = { SOCKET_MANAGEMENT_ENDPOINT: sockets.stage.callbackUrl }; // $connect / $disconnect post nothing
    const wsConnect = functions.add({
      id: 'Fn-ws-connect',
      entry: 'functions/ws/connect.ts',
      description: 'Pryv WebSocket $connect',
      data: 'table',
      environment: endpointOnly,
    });
    const wsMessage = functions.add({
      id: 'Fn-ws-message',
      entry: 'functions/ws/message.ts',
      description: 'Pryv WebSocket $default (Socket.IO packets, method calls)',
      data: 'tableAndBucket',
      capabilities: ['filesSecret', 'socketManagement'],
    });
    const wsDisconnect = functions.add({
      id: 'Fn-ws-disconnect',
      entry: 'functions/ws/disconnect.ts',
      description: 'Pryv WebSocket $disconnect',
      data: 'table',
      environment: endpointOnly,
    });
    sockets.api.addRoute('$connect', { integration: new WebSocketLambdaIntegration('Fn-ws-connect-Integration', wsConnect) });
    sockets.api.addRoute('$default', { integration: new WebSocketLambdaIntegration('Fn-ws-message-Integration', wsMessage) });
    sockets.api.addRoute('$disconnect', { integration: new WebSocketLambdaIntegration('Fn-ws-disconnect-Integration', wsDisconnect) });

    // Engine.IO pings (and API Gateway's 10-minute idle limit): a sweep every minute.
    const socketPing = functions.add({
      id: 'Fn-ws-ping',
      entry: 'functions/notify/socket-ping.ts',
      description: SOCKET_PING_DESCRIPTION,
      data: 'table',
      capabilities: ['socketManagement'],
      timeout: Duration.seconds(50),
    });
    new events.Rule(scope, 'SocketPingSchedule', {
      description: 'Ping every WebSocket connection (Engine.IO heartbeat)',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(socketPing)],
    });

    // `webhooksServiceBoot` (Pryv API reference §6.2): a serverless service has no start, so
    // every deployment that changes this function counts as one; the message goes through the
    // durable delivery.
    const serviceBoot = functions.add({
      id: 'Fn-notify-service-boot',
      entry: 'functions/notify/service-boot.ts',
      description: SERVICE_BOOT_DESCRIPTION,
      data: 'table',
    });
    new triggers.Trigger(scope, 'ServiceBootTrigger', { handler: serviceBoot, executeOnHandlerChange: true, executeAfter: [data.table] });

    // Webhook retries (shared/notify/webhook-delivery.ts): due attempts are kept in the table;
    // this worker, started every minute, delivers them for ~50 s.
    const webhookWorker = functions.add({
      id: 'Fn-notify-webhook-worker',
      entry: 'functions/notify/webhook-worker.ts',
      description: WEBHOOK_WORKER_DESCRIPTION,
      data: 'table',
      timeout: Duration.seconds(70),
    });
    new events.Rule(scope, 'WebhookWorkerSchedule', {
      description: 'Deliver due webhook attempts',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(webhookWorker)],
    });
  }
}
