import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, NestedStack, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { Architecture, CfnFunction, FilterCriteria, FilterRule, LoggingFormat, Runtime, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogLevel, NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { HttpApi, HttpMethod, HttpRoute, HttpRouteKey, WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration, WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import * as triggers from 'aws-cdk-lib/triggers';
import { METHODS, functionEntryName } from '../shared/api/registry';
import { ASSETS_PATH_PREFIX, SECURITY_HEADERS, VENDOR_FILES } from './local/static-pages';
import type { MethodDef } from '../shared/api/types';
import { MAIN_TABLE } from '../shared/store/table-definition';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const DEFAULT_MEMORY_MB = 256; // enough for bcrypt + ajv; raise with the `memorySize` setting
const FUNCTION_TIMEOUT = Duration.seconds(29); // API Gateway gives up at 30 s: fail first, with our own error
const LOG_RETENTION = logs.RetentionDays.ONE_MONTH;
const WEBSOCKET_STAGE = 'live';
// Engine.IO pings come from a sweep started every minute (EventBridge's finest rate); clients
// wait pingInterval + pingTimeout for one, so a late sweep does not drop them.
const SOCKET_PING_INTERVAL_MS = '60000';
const SOCKET_PING_TIMEOUT_MS = '60000';
/** How every function is bundled: locally with esbuild, one self-contained ESM file each. */
export const FUNCTION_BUNDLING: BundlingOptions = {
  forceDockerBundling: false, // local esbuild from node_modules
  logLevel: LogLevel.WARNING, // keep `cdk synth` output readable: 20 bundles
  minify: true,
  sourceMap: true,
  format: OutputFormat.ESM,
  mainFields: ['module', 'main'],
  target: 'node22',
  // Bundle everything, AWS SDK included: the versions in package-lock.json run, not
  // whatever SDK v3 the runtime happens to ship.
  externalModules: [],
  // CommonJS dependencies inside an ESM bundle still call require().
  banner:
    "import { createRequire as __pryvCreateRequire } from 'module'; const require = __pryvCreateRequire(import.meta.url);",
};

export const SOCKET_PING_DESCRIPTION = 'Pryv WebSocket ping sweep (every minute)';
/** Partition-key prefixes of the items whose stream records the change fan-out reads. */
export const FANOUT_PARTITION_PREFIXES = ['EV#', 'USER#', 'WSCONN#'];
export const SERVICE_BOOT_DESCRIPTION = 'Pryv webhooksServiceBoot message (after deployments)';

/** Rewrites viewer requests: `POST /{username}/` (callBatch) → `/{username}`, as API Gateway has no trailing-slash routes. */
export const API_PATH_FUNCTION = `function handler(event) {
  var r = event.request;
  if (r.uri.length > 1 && r.uri.charAt(r.uri.length - 1) === '/') r.uri = r.uri.replace(/\\/+$/, '');
  return r;
}`;
/** The WebSocket API listens at its stage root: `/socket.io/?EIO=4…` → `/{stage}/?EIO=4…` (the origin path adds the stage). */
export const SOCKET_PATH_FUNCTION = `function handler(event) {
  var r = event.request;
  r.uri = '/';
  return r;
}`;
/** Web pages: a folder URL serves its index.html. */
export const PAGE_PATH_FUNCTION = `function handler(event) {
  var r = event.request;
  if (r.uri.charAt(r.uri.length - 1) === '/') r.uri += 'index.html';
  return r;
}`;

/** Settings that reach the functions' environment; unset ones keep shared/config.ts defaults. */
export interface PryvApiStackProps extends StackProps {
  /** Public base URL (no trailing slash). Default: the HTTP API's own endpoint. */
  publicUrl?: string;
  trustedApps?: string;
  serviceName?: string;
  /** Comma-separated list, or `*` for any (Pryv `invitationTokens`). */
  invitationTokens?: string;
  /** Sender address of mails (password reset, MFA codes), verified in SES; unset: no mail is sent. */
  mailFrom?: string;
  memorySize?: number;
}

/** Functions whose method checks the admin key: the only ones that may read the secret. */
export function needsAdminKey(method: MethodDef): boolean {
  return method.auth === 'admin' || method.id.startsWith('auth.delete');
}

export const WEBHOOK_WORKER_DESCRIPTION = 'Pryv webhook delivery worker (every minute)';
export const EXPORT_WORKER_DESCRIPTION = 'Pryv account export and import worker (job INSERTs on the table stream)';
const EXPORT_WORKER_TIMEOUT = Duration.minutes(15); // Lambda's maximum: builds stream page by page, so this bounds account size by throughput only
const EXPORT_WORKER_MEMORY_MB = 1024; // gzip and S3 multipart parts in flight; more memory also means more CPU
const EXPORT_WORKER_TMP_MB = 10_240; // JSON Lines files are staged in /tmp (a tar entry needs its size first)
const EXPORT_ARCHIVE_DAYS = 7; // export archives are removed after a week; the user asks for a new one

/** Functions that read or write attachments: the only ones that may read the read-token secret. */
export function needsFilesSecret(method: MethodDef): boolean {
  return method.id.startsWith('events.') || method.id === 'callBatch';
}

/** Functions that send mail (password reset; MFA codes of the `sms` method): the only ones allowed to use SES. */
export const MAIL_METHOD_IDS = ['account.requestPasswordReset', 'auth.login', 'mfa.activate', 'mfa.challenge'];
export function needsMail(method: MethodDef): boolean {
  return MAIL_METHOD_IDS.includes(method.id);
}

/** Functions that close or post to WebSocket connections: account deletion closes the user's sockets. */
export function needsSocketManagement(method: MethodDef): boolean {
  return method.id === 'auth.delete';
}

/** API Gateway rejects trailing-slash paths (except `/` itself). */
export function normaliseRoutePath(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

/** `Fn-service-info` for `service.info`. */
export function functionId(methodId: string): string {
  return `Fn-${methodId.replace(/\./g, '-')}`;
}

export class PryvApiStack extends Stack {
  constructor(scope: Construct, id: string, props: PryvApiStackProps = {}) {
    super(scope, id, props);

    // Holds user data: never deleted with the stack.
    const table = new dynamodb.TableV2(this, 'MainTable', {
      partitionKey: { name: MAIN_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: MAIN_TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      globalSecondaryIndexes: MAIN_TABLE.globalIndexes.map((index) => ({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      })),
      timeToLiveAttribute: MAIN_TABLE.ttlAttribute,
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      dynamoStream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES, // change fan-out (webhooks, sockets)
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const bucket = new s3.Bucket(this, 'Attachments', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL, // reached through the API or short-lived presigned URLs only
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        // Presigned uploads never confirmed (shared/store/files.ts `pending/`).
        { prefix: 'pending/', expiration: Duration.days(1), abortIncompleteMultipartUploadAfter: Duration.days(1) },
        // Account exports (shared/store/exports.ts) and archives uploaded for an import.
        { prefix: 'exports/', expiration: Duration.days(EXPORT_ARCHIVE_DAYS), abortIncompleteMultipartUploadAfter: Duration.days(1) },
        { prefix: 'imports/', expiration: Duration.days(1), abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      // Browsers PUT large files straight to presigned URLs and follow download redirects.
      cors: [{ allowedMethods: [s3.HttpMethods.PUT, s3.HttpMethods.GET], allowedOrigins: ['*'], allowedHeaders: ['*'], maxAge: 3600 }],
    });

    // Generated by CloudFormation: the key never appears in the template or in an environment.
    const adminKey = new secretsmanager.Secret(this, 'AdminKey', {
      description: 'Pryv API admin key (system API, Authorization header)',
      generateSecretString: { excludePunctuation: true, passwordLength: 48 },
    });

    // Signs attachment read tokens (spec §2.2.6); only the event functions may read it.
    const filesSecret = new secretsmanager.Secret(this, 'FilesReadTokenSecret', {
      description: 'Pryv API secret of attachment read tokens',
      generateSecretString: { excludePunctuation: true, passwordLength: 48 },
    });

    // The API exists before the functions, so its endpoint can default PUBLIC_URL without a
    // cycle: functions depend on the API, routes and integrations depend on the functions.
    const api = new HttpApi(this, 'HttpApi', {
      description: 'Pryv.io-compatible HTTP API',
      // No corsPreflight: handlers answer CORS, OPTIONS falls through to $default.
    });

    // Socket.IO (issue 5): API Gateway's WebSocket API; its routes are added below.
    const webSocketApi = new WebSocketApi(this, 'WebSocketApi', { description: 'Pryv Socket.IO (Engine.IO 4 over WebSocket)' });
    const webSocketStage = new WebSocketStage(this, 'WebSocketStage', { webSocketApi, stageName: WEBSOCKET_STAGE, autoDeploy: true });

    // Static web pages (consent, login, registration, password reset): shared/web → S3.
    const webBucket = new s3.Bucket(this, 'WebPages', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL, // served through CloudFront only (origin access control)
      enforceSSL: true,
      removalPolicy: RemovalPolicy.DESTROY, // rebuilt from the repository at every deployment
      autoDeleteObjects: true,
    });

    // One origin for everything a user reaches (ARCHITECTURE §1): the Pryv URL layout.
    const noCache = {
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
    };
    const executeApiDomain = (apiId: string) => `${apiId}.execute-api.${this.region}.amazonaws.com`;
    const pageSecurityHeaders: cloudfront.ResponseSecurityHeadersBehavior = {
      contentSecurityPolicy: { contentSecurityPolicy: SECURITY_HEADERS['Content-Security-Policy']!, override: true },
      contentTypeOptions: { override: true },
      frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
      referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
    };
    const pagesBehavior: cloudfront.BehaviorOptions = {
      origin: origins.S3BucketOrigin.withOriginAccessControl(webBucket),
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
      // The same headers the local gateway sends with the pages (infra/local/static-pages.ts).
      responseHeadersPolicy: new cloudfront.ResponseHeadersPolicy(this, 'PageHeaders', {
        comment: 'Pryv web pages: CSP, no framing, no sniffing, no referrer',
        securityHeadersBehavior: pageSecurityHeaders,
      }),
      functionAssociations: [
        {
          eventType: cloudfront.FunctionEventType.VIEWER_REQUEST,
          function: new cloudfront.Function(this, 'PagePathFunction', { code: cloudfront.FunctionCode.fromInline(PAGE_PATH_FUNCTION) }),
        },
      ],
    };
    const distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Pryv API, Socket.IO and web pages under one origin',
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      defaultBehavior: {
        origin: new origins.HttpOrigin(executeApiDomain(api.apiId), { protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        ...noCache,
        functionAssociations: [
          {
            eventType: cloudfront.FunctionEventType.VIEWER_REQUEST,
            function: new cloudfront.Function(this, 'ApiPathFunction', { code: cloudfront.FunctionCode.fromInline(API_PATH_FUNCTION) }),
          },
        ],
      },
      additionalBehaviors: {
        '/socket.io/*': {
          origin: new origins.HttpOrigin(executeApiDomain(webSocketApi.apiId), {
            originPath: `/${WEBSOCKET_STAGE}`,
            protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
          }),
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
          ...noCache,
          functionAssociations: [
            {
              eventType: cloudfront.FunctionEventType.VIEWER_REQUEST,
              function: new cloudfront.Function(this, 'SocketPathFunction', { code: cloudfront.FunctionCode.fromInline(SOCKET_PATH_FUNCTION) }),
            },
          ],
        },
        // Service assets (login button, styles): loaded by apps on any origin.
        [`${ASSETS_PATH_PREFIX}*`]: {
          ...pagesBehavior,
          responseHeadersPolicy: new cloudfront.ResponseHeadersPolicy(this, 'AssetHeaders', {
            comment: 'Pryv service assets: any origin may load them',
            securityHeadersBehavior: pageSecurityHeaders,
            corsBehavior: {
              accessControlAllowOrigins: ['*'],
              accessControlAllowMethods: ['GET', 'HEAD'],
              accessControlAllowHeaders: ['*'],
              accessControlAllowCredentials: false,
              originOverride: true,
            },
          }),
        },
        '/access/*': pagesBehavior,
        '/www/*': pagesBehavior,
        '/account/*': pagesBehavior,
      },
    });
    new s3deploy.BucketDeployment(this, 'WebPagesDeployment', {
      sources: [
        s3deploy.Source.asset(join(REPO_ROOT, 'shared/web')),
        // The packages' browser modules the pages import (served from node_modules locally).
        ...Object.entries(VENDOR_FILES).map(([key, file]) => s3deploy.Source.data(key, readFileSync(file, 'utf8'))),
      ],
      destinationBucket: webBucket,
      distribution,
      distributionPaths: ['/access/*', '/www/*', '/account/*'],
    });

    const settings: Record<string, string | undefined> = {
      PUBLIC_URL: props.publicUrl?.replace(/\/+$/, '') ?? `https://${distribution.distributionDomainName}`,
      TRUSTED_APPS: props.trustedApps,
      SERVICE_NAME: props.serviceName,
      INVITATION_TOKENS: props.invitationTokens,
      MAIL_FROM: props.mailFrom,
    };
    const environment: Record<string, string> = {
      TABLE_NAME: table.tableName,
      BUCKET_NAME: bucket.bucketName,
      NODE_OPTIONS: '--enable-source-maps',
      SOCKET_PING_INTERVAL_MS,
      SOCKET_PING_TIMEOUT_MS,
    };
    for (const [name, value] of Object.entries(settings)) if (value !== undefined) environment[name] = value;

    /** `readWrite`: the API functions (table and bucket); `tableReadWrite`: the table only. */
    type DataAccess = 'readWrite' | 'tableReadWrite';
    // CloudFormation allows 500 resources per stack and each method has a function, a route,
    // an integration and a permission: log groups live in a nested stack, and the method
    // functions share one role per set of capabilities (grants stay per capability).
    const logGroups = new NestedStack(this, 'LogGroups', { description: 'Pryv API: one log group per function' });
    const sharedRoles = new Map<string, iam.Role>();
    const sharedRole = (key: string) => {
      let role = sharedRoles.get(key);
      if (!role) {
        role = new iam.Role(this, `Role-${key}`, {
          assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
          description: `Pryv API methods with capabilities: ${key}`,
          managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole')],
        });
        sharedRoles.set(key, role);
      }
      return role;
    };
    const makeFunction = (
      id: string,
      entry: string,
      description: string,
      extraEnv: Record<string, string> = {},
      dataAccess: DataAccess = 'readWrite',
      timeout: Duration = FUNCTION_TIMEOUT,
      /** Functions with the same key share one role: give the same key only to the same capabilities. */
      roleKey?: string,
    ) => {
      const fn = new NodejsFunction(this, id, {
        ...(roleKey ? { role: sharedRole(roleKey) } : {}),
        entry: join(REPO_ROOT, entry),
        projectRoot: REPO_ROOT,
        depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
        description,
        runtime: Runtime.NODEJS_22_X,
        architecture: Architecture.ARM_64,
        memorySize: props.memorySize ?? DEFAULT_MEMORY_MB,
        timeout,
        loggingFormat: LoggingFormat.JSON,
        logGroup: new logs.LogGroup(logGroups, `${id}-Logs`, { retention: LOG_RETENTION }),
        environment: { ...environment, ...extraEnv },
        bundling: FUNCTION_BUNDLING,
      });
      if (dataAccess === 'readWrite') {
        table.grantReadWriteData(fn);
        bucket.grantReadWrite(fn);
      } else {
        table.grantReadWriteData(fn);
      }
      return fn;
    };

    const routeOwners = new Map<string, string>(); // route key → method id
    for (const method of METHODS) {
      const fnId = functionId(method.id);
      const admin = needsAdminKey(method);
      const files = needsFilesSecret(method);
      const sockets = needsSocketManagement(method);
      const mail = Boolean(props.mailFrom) && needsMail(method);
      const capabilities = ['Data', admin && 'AdminKey', files && 'FilesSecret', sockets && 'Sockets', mail && 'Mail'].filter(Boolean).join('-');
      const fn = makeFunction(
        fnId,
        `functions/api/${functionEntryName(method)}.ts`,
        `Pryv API method ${method.id}`,
        {
          ...(admin ? { ADMIN_KEY_SECRET_ARN: adminKey.secretArn } : {}),
          ...(files ? { FILES_READ_TOKEN_SECRET_ARN: filesSecret.secretArn } : {}),
          ...(sockets ? { SOCKET_MANAGEMENT_ENDPOINT: webSocketStage.callbackUrl } : {}),
        },
        'readWrite',
        FUNCTION_TIMEOUT,
        capabilities,
      );
      if (admin) adminKey.grantRead(fn);
      if (files) filesSecret.grantRead(fn);
      if (mail) {
        // SES sending, from the configured address only.
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ['ses:SendEmail'],
            resources: [this.formatArn({ service: 'ses', resource: 'identity', resourceName: '*' })],
            conditions: { StringEquals: { 'ses:FromAddress': props.mailFrom } },
          }),
        );
      }
      if (sockets) webSocketApi.grantManageConnections(fn);
      // One invoke permission per function, not per route (each is a resource, see the 500 limit above).
      const integration = new HttpLambdaIntegration(`${fnId}-Integration`, fn, { scopePermissionToRoute: false });
      for (const route of method.routes) {
        const path = normaliseRoutePath(route.path);
        const key = `${route.verb} ${path}`;
        const owner = routeOwners.get(key);
        if (owner === method.id) continue; // same route declared twice, e.g. `/{username}` and `/{username}/`
        if (owner) throw new Error(`route ${key} declared by both ${owner} and ${method.id}`);
        routeOwners.set(key, method.id);
        api.addRoutes({ path, methods: [HttpMethod[route.verb]], integration });
      }
    }

    // $default: CORS preflights and Pryv's JSON 404 for everything no route matches.
    const notFound = makeFunction('Fn-not-found', 'functions/http/not-found.ts', 'Pryv API $default route (404, CORS preflight)');
    new HttpRoute(this, 'DefaultRoute', {
      httpApi: api,
      routeKey: HttpRouteKey.DEFAULT,
      integration: new HttpLambdaIntegration('Fn-not-found-Integration', notFound),
    });

    // Change fan-out (issue 5 §1): the table's stream → per-user Pryv change messages → sinks.
    const fanout = makeFunction(
      'Fn-notify-fanout',
      'functions/notify/fanout.ts',
      'Pryv change fan-out (DynamoDB Stream → notifications)',
      { SOCKET_MANAGEMENT_ENDPOINT: webSocketStage.callbackUrl },
      'tableReadWrite', // queues webhook messages and delivers the first attempt
    );
    webSocketApi.grantManageConnections(fanout); // socket pushes and open packets
    // Lambda sends the metadata of a batch it gave up on (shard, sequence-number range) here,
    // not the records themselves: the stream keeps those 24 hours, so replay from it within that.
    const fanoutDlq = new sqs.Queue(this, 'FanoutDlq', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
    });
    fanout.addEventSource(
      new DynamoEventSource(table, {
        startingPosition: StartingPosition.LATEST,
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(1), // coalesces bursts into one message per user
        parallelizationFactor: 1, // one batch per shard at a time: per-user order is kept
        retryAttempts: 5,
        bisectBatchOnError: true, // a failing batch is split until the bad record is alone
        reportBatchItemFailures: true, // the handler returns batchItemFailures
        maxRecordAge: Duration.hours(1),
        onFailure: new SqsDlq(fanoutDlq), // so one bad record never blocks the shard
        // Only partitions whose changes notify anyone (shared/notify/changes.ts: event heads,
        // a user's streams and accesses; socketio/server.ts: new connections). Audit records,
        // one per API call, and index copies never start the function.
        filters: FANOUT_PARTITION_PREFIXES.map((prefix) =>
          FilterCriteria.filter({ dynamodb: { Keys: { pk: { S: FilterRule.beginsWith(prefix) } } } }),
        ),
      }),
    );

    // WebSocket routes (shared/notify/socketio/server.ts): $connect records, $default answers
    // through @connections, $disconnect forgets. The message function runs API methods.
    const wsEnv = { SOCKET_MANAGEMENT_ENDPOINT: webSocketStage.callbackUrl };
    const wsConnect = makeFunction('Fn-ws-connect', 'functions/ws/connect.ts', 'Pryv WebSocket $connect', wsEnv, 'tableReadWrite');
    const wsMessage = makeFunction('Fn-ws-message', 'functions/ws/message.ts', 'Pryv WebSocket $default (Socket.IO packets, method calls)', {
      ...wsEnv,
      FILES_READ_TOKEN_SECRET_ARN: filesSecret.secretArn,
    });
    filesSecret.grantRead(wsMessage);
    const wsDisconnect = makeFunction('Fn-ws-disconnect', 'functions/ws/disconnect.ts', 'Pryv WebSocket $disconnect', wsEnv, 'tableReadWrite');
    for (const fn of [wsMessage]) webSocketApi.grantManageConnections(fn);
    webSocketApi.addRoute('$connect', { integration: new WebSocketLambdaIntegration('Fn-ws-connect-Integration', wsConnect) });
    webSocketApi.addRoute('$default', { integration: new WebSocketLambdaIntegration('Fn-ws-message-Integration', wsMessage) });
    webSocketApi.addRoute('$disconnect', { integration: new WebSocketLambdaIntegration('Fn-ws-disconnect-Integration', wsDisconnect) });

    // Engine.IO pings (and API Gateway's 10-minute idle limit): a sweep every minute.
    const socketPing = makeFunction('Fn-ws-ping', 'functions/notify/socket-ping.ts', SOCKET_PING_DESCRIPTION, wsEnv, 'tableReadWrite', Duration.seconds(50));
    webSocketApi.grantManageConnections(socketPing);
    new events.Rule(this, 'SocketPingSchedule', {
      description: 'Ping every WebSocket connection (Engine.IO heartbeat)',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(socketPing)],
    });

    // `webhooksServiceBoot` (spec §6.2): a serverless service has no start, so every deployment
    // that changes this function counts as one; the message goes through the durable delivery.
    const serviceBoot = makeFunction('Fn-notify-service-boot', 'functions/notify/service-boot.ts', SERVICE_BOOT_DESCRIPTION, {}, 'tableReadWrite');
    new triggers.Trigger(this, 'ServiceBootTrigger', { handler: serviceBoot, executeOnHandlerChange: true, executeAfter: [table] });

    new CfnOutput(this, 'ApiUrl', { value: api.apiEndpoint });
    new CfnOutput(this, 'WebSocketUrl', { value: webSocketStage.url });
    new CfnOutput(this, 'DistributionDomainName', { value: distribution.distributionDomainName });
    new CfnOutput(this, 'PublicUrl', { value: environment.PUBLIC_URL! });
    new CfnOutput(this, 'TableName', { value: table.tableName });
    new CfnOutput(this, 'BucketName', { value: bucket.bucketName });
    new CfnOutput(this, 'AdminKeySecretArn', { value: adminKey.secretArn });
    new CfnOutput(this, 'FanoutDlqUrl', { value: fanoutDlq.queueUrl });

    // Webhook retries (shared/notify/webhook-delivery.ts): due attempts are kept in the table;
    // this worker, started every minute, delivers them for ~50 s.
    const webhookWorker = makeFunction(
      'Fn-notify-webhook-worker',
      'functions/notify/webhook-worker.ts',
      WEBHOOK_WORKER_DESCRIPTION,
      {},
      'tableReadWrite',
      Duration.seconds(70),
    );
    // Account export and import (shared/domain/export-jobs.ts): a job item's INSERT starts the
    // worker through its own mapping on the table's stream, filtered to those records. Jobs
    // of different users run in parallel (parallelization factor); the worker ends each job
    // done or failed itself, so the mapping retries only a crash (a job already taken is skipped).
    const exportWorker = makeFunction('Fn-export-worker', 'functions/export/worker.ts', EXPORT_WORKER_DESCRIPTION, {}, 'readWrite', EXPORT_WORKER_TIMEOUT);
    const exportWorkerCfn = exportWorker.node.defaultChild as CfnFunction;
    exportWorkerCfn.memorySize = EXPORT_WORKER_MEMORY_MB;
    exportWorkerCfn.ephemeralStorage = { size: EXPORT_WORKER_TMP_MB };
    exportWorker.addEventSource(
      new DynamoEventSource(table, {
        startingPosition: StartingPosition.LATEST,
        batchSize: 10,
        parallelizationFactor: 10,
        retryAttempts: 1,
        maxRecordAge: Duration.hours(1),
        filters: [
          FilterCriteria.filter({ eventName: FilterRule.isEqual('INSERT'), dynamodb: { NewImage: { sk: { S: FilterRule.beginsWith('EXPORT#') } } } }),
          FilterCriteria.filter({ eventName: FilterRule.isEqual('INSERT'), dynamodb: { NewImage: { sk: { S: FilterRule.beginsWith('IMPORT#') } } } }),
        ],
      }),
    );

    new events.Rule(this, 'WebhookWorkerSchedule', {
      description: 'Deliver due webhook attempts',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(webhookWorker)],
    });
  }
}
