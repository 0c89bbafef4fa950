import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, NestedStack, Stack } from 'aws-cdk-lib';
import type { WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Architecture, Function as LambdaFunction, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { Capability } from '../../shared/api/types';
import { LIMITS } from '../../shared/limits';
import { ALL_OBJECT_AREAS, OBJECT_AREAS, type ObjectArea } from '../../shared/store/keys';
import { MAIN_TABLE } from '../../shared/store/table-definition';
import { functionCode } from '../bundling/function-code';
import { acknowledge, acknowledgeLogEncryption, managedPolicyRule, wildcardResourceRule } from './acknowledge';
import type { DataStore } from './data';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

const DEFAULT_MEMORY_MB = 256; // enough for bcrypt + ajv; raise with the `memorySize` setting
/** API Gateway gives up at 30 s: a function behind it fails first, with our own error. */
const FUNCTION_TIMEOUT = Duration.seconds(LIMITS.apiCallSeconds);
const LOG_RETENTION = logs.RetentionDays.ONE_MONTH;
const BASIC_EXECUTION_POLICY = 'service-role/AWSLambdaBasicExecutionRole';

/**
 * The table's data actions the code sends (shared/store: reads, conditional writes, batches,
 * transactions; `npm run test:bundled` checks every recorded call against them). Not CDK's
 * read-write set: no Scan, DescribeTable or stream reads (the stream consumers get those from
 * their event source mapping).
 */
const TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
  // A call's usage counters and audit records, written as one PartiQL batch (shared/store/call-records.ts).
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLInsert',
];
/** Indexes are only ever queried. */
const INDEX_ACTIONS = ['dynamodb:Query'];
/** What the code does with attachment objects (shared/store: get, head, put, copy, multipart upload, delete). */
const OBJECT_ACTIONS = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'];
/** Using the data key, when there is one: through DynamoDB, S3 and Secrets Manager. */
const KEY_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'];

/** Why the HIPAA pack's Lambda rules do not fit these functions, and the AWS Solutions runtime rule. */
const LAMBDA_ACKNOWLEDGEMENTS: ReadonlyArray<[string, string]> = [
  [
    'AwsSolutions-L1',
    'Node.js 22, the runtime the bundles target and the tests run on (supported by Lambda to 2027); a move to 24 is its own change',
  ],
  [
    'HIPAA.Security-LambdaConcurrency',
    "Reserved concurrency per function would cut the account's pool into 80+ fixed slices and throttle a busy method while others idle",
  ],
  [
    'HIPAA.Security-LambdaDLQ',
    'Invoked synchronously (APIs, deployment trigger), by a stream mapping with its own failure queue, or by a minute schedule whose next run redoes the work',
  ],
  [
    'HIPAA.Security-LambdaInsideVPC',
    'Reaches only AWS APIs and public webhook URLs: a VPC would add NAT gateways (cost, cold starts) and isolate nothing',
  ],
];

/** How capabilities show, in this order, in a shared role's id: `Role-Data-AdminKey-Sockets` (ids of deployed roles: keep them). */
const ROLE_KEY_PARTS: ReadonlyArray<[Capability, string]> = [
  ['adminKey', 'AdminKey'],
  ['filesSecret', 'FilesSecret'],
  ['socketManagement', 'Sockets'],
  ['mail', 'Mail'],
];

export interface FunctionOptions {
  /** Construct id of the function; its log group is `{id}-Logs`. */
  id: string;
  /** Entry file, relative to the repository root. */
  entry: string;
  description: string;
  /** What it may read and write: the table alone, or the table and the attachments bucket. */
  data: 'table' | 'tableAndBucket';
  /** With `tableAndBucket`: the bucket's areas (key prefixes) it may touch. Default: all of them. */
  bucketAreas?: readonly ObjectArea[];
  /** What it is granted besides: variables and IAM rights (see `Capability`). */
  capabilities?: readonly Capability[];
  /** More environment variables than the ones every function gets. */
  environment?: Record<string, string>;
  /** Default: FUNCTION_TIMEOUT. */
  timeout?: Duration;
  /** Use the one role of all functions with the same data access and capabilities (the method functions: see Functions). */
  sharedRole?: boolean;
  /** Modules bundled with the entry, loaded before it (esbuild `inject`): its method's parameter validators. */
  inject?: readonly string[];
}

/** The bucket's areas a function may touch (none for `table`). */
function areasOf(options: FunctionOptions): readonly ObjectArea[] {
  return options.data === 'tableAndBucket' ? (options.bucketAreas ?? ALL_OBJECT_AREAS) : [];
}

export interface FunctionsProps {
  data: DataStore;
  webSocketApi: WebSocketApi;
  webSocketStage: WebSocketStage;
  /** Variables every function gets, besides the table's and bucket's names (and source maps when on). */
  environment: Record<string, string>;
  memorySize?: number;
  /** Sender address of mails; unset: the `mail` capability grants nothing. */
  mailFrom?: string;
  /** Ship source maps and turn them on (`sourceMaps` setting). Default: off. */
  sourceMaps?: boolean;
  /** X-Ray active tracing and the tracer in the bundles (`tracing` setting). Default: off. */
  tracing?: boolean;
}

/**
 * Makes the stack's Lambda functions, all alike: Node.js 22 on ARM64, JSON logs into their own
 * log group, built by infra/bundling/function-code.ts (once, in chunks), and given exactly the data access and the
 * capabilities they are declared with. Added to the stack it is given (see infra/stack.ts).
 *
 * CloudFormation allows 500 resources per stack and each method has a function, a route, an
 * integration and a permission: the log groups live in a nested stack, and the method
 * functions share one role per set of capabilities (grants stay per capability).
 */
export class Functions {
  private readonly scope: Construct;
  private readonly props: FunctionsProps;
  private readonly logGroups: NestedStack;
  private readonly sharedRoles = new Map<string, iam.Role>();
  /** Every function added, in order (the alarms and the dashboard cover them all). */
  readonly all: LambdaFunction[] = [];

  constructor(scope: Construct, props: FunctionsProps) {
    this.scope = scope;
    this.props = props;
    this.logGroups = new NestedStack(scope, 'LogGroups', { description: 'Pryv API: one log group per function' });
  }

  add(options: FunctionOptions): LambdaFunction {
    const { data } = this.props;
    const granted = (capability: Capability) =>
      (options.capabilities ?? []).includes(capability) && (capability !== 'mail' || this.props.mailFrom !== undefined);
    const fn = new LambdaFunction(this.scope, options.id, {
      ...(options.sharedRole ? { role: this.sharedRole(areasOf(options), granted) } : {}),
      code: functionCode(join(REPO_ROOT, options.entry), {
        sourceMaps: this.props.sourceMaps === true,
        tracing: this.props.tracing === true,
        inject: options.inject,
      }),
      handler: 'index.handler',
      description: options.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: this.props.memorySize ?? DEFAULT_MEMORY_MB,
      timeout: options.timeout ?? FUNCTION_TIMEOUT,
      loggingFormat: LoggingFormat.JSON,
      logGroup: this.logGroup(options.id),
      environment: {
        TABLE_NAME: data.table.tableName,
        BUCKET_NAME: data.bucket.bucketName,
        ...(this.props.sourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
        ...this.props.environment,
        ...options.environment,
        ...(granted('adminKey') ? { ADMIN_KEY_SECRET_ARN: data.adminKey.secretArn } : {}),
        ...(granted('filesSecret') ? { FILES_READ_TOKEN_SECRET_ARN: data.filesSecret.secretArn } : {}),
        ...(granted('socketManagement') ? { SOCKET_MANAGEMENT_ENDPOINT: this.props.webSocketStage.callbackUrl } : {}),
      },
      ...(this.props.tracing ? { tracing: Tracing.ACTIVE } : {}),
    });
    this.all.push(fn);
    this.grantData(fn, areasOf(options));
    if (granted('adminKey')) data.adminKey.grantRead(fn);
    if (granted('filesSecret')) data.filesSecret.grantRead(fn);
    if (granted('mail')) {
      // SES sending, from the configured address only (its address or its domain identity).
      const mailFrom = this.props.mailFrom!;
      const identity = (name: string) => Stack.of(this.scope).formatArn({ service: 'ses', resource: 'identity', resourceName: name });
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['ses:SendEmail'],
          resources: [identity(mailFrom), identity(mailFrom.slice(mailFrom.indexOf('@') + 1))],
          conditions: { StringEquals: { 'ses:FromAddress': mailFrom } },
        }),
      );
    }
    if (granted('socketManagement')) {
      // Posting to and closing connections of the one stage; connection ids are made per socket at run time.
      const connections = Stack.of(this.scope).formatArn({
        service: 'execute-api',
        resource: this.props.webSocketApi.apiId,
        resourceName: `${this.props.webSocketStage.stageName}/*/@connections/*`,
      });
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['execute-api:ManageConnections'], resources: [connections] }));
      acknowledge(
        fn.role!,
        wildcardResourceRule(this.scope, connections),
        'Connection ids are made per socket at run time; the stage is fixed',
      );
    }
    for (const [rule, reason] of LAMBDA_ACKNOWLEDGEMENTS) acknowledge(fn, rule, reason);
    this.acknowledgeRole(fn.role!);
    if (this.props.tracing) {
      acknowledge(fn.role!, wildcardResourceRule(this.scope, '*'), 'X-Ray PutTraceSegments and PutTelemetryRecords take no resource');
    }
    return fn;
  }

  /** The table (and its indexes, by name), the bucket's objects under the given areas' prefixes, and the data key. */
  private grantData(fn: LambdaFunction, areas: readonly ObjectArea[]): void {
    const { table, bucket, key } = this.props.data;
    const indexes = MAIN_TABLE.globalIndexes.map((index) => `${table.tableArn}/index/${index.name}`);
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: TABLE_ACTIONS, resources: [table.tableArn] }));
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: INDEX_ACTIONS, resources: indexes }));
    if (areas.length > 0) {
      const objects = areas.map((area) => bucket.arnForObjects(`${OBJECT_AREAS[area]}*`));
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: OBJECT_ACTIONS, resources: objects }));
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] })); // a missing key answers 404, not 403
      for (const arn of objects)
        acknowledge(fn.role!, wildcardResourceRule(this.scope, arn), "Object keys hold each user's name and file ids, made at run time");
    }
    if (key) fn.addToRolePolicy(new iam.PolicyStatement({ actions: KEY_ACTIONS, resources: [key.keyArn] }));
  }

  /** A function's own log group, in the nested stack, encrypted with the data key when there is one (also for the stack's other functions: see Observability). */
  logGroup(id: string): logs.LogGroup {
    const { key } = this.props.data;
    const group = new logs.LogGroup(this.logGroups, `${id}-Logs`, { retention: LOG_RETENTION, encryptionKey: key });
    acknowledgeLogEncryption(group, key);
    return group;
  }

  /** What every function role holds by design (its own log writing, per-role policies). */
  private acknowledgeRole(role: iam.IRole): void {
    acknowledge(role, managedPolicyRule(BASIC_EXECUTION_POLICY), "AWS's minimal policy for a function to write its own logs");
    acknowledge(
      role,
      'HIPAA.Security-IAMNoInlinePolicy',
      'Each policy belongs to one role (what its functions were granted): a managed policy could be attached elsewhere',
    );
  }

  /**
   * Functions given the same role must have the same rights: the key names them all. The
   * whole bucket is `Data` (the ids of deployed roles), none `Table`, some areas
   * `Table-Files-Pending`.
   */
  private sharedRole(areas: readonly ObjectArea[], granted: (capability: Capability) => boolean): iam.Role {
    const data =
      areas.length === ALL_OBJECT_AREAS.length
        ? ['Data']
        : ['Table', ...ALL_OBJECT_AREAS.filter((a) => areas.includes(a)).map((a) => a[0]!.toUpperCase() + a.slice(1))];
    const key = [...data, ...ROLE_KEY_PARTS.filter(([c]) => granted(c)).map(([, part]) => part)].join('-');
    let role = this.sharedRoles.get(key);
    if (!role) {
      role = new iam.Role(this.scope, `Role-${key}`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `Pryv API methods with capabilities: ${key}`,
        managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName(BASIC_EXECUTION_POLICY)],
      });
      this.sharedRoles.set(key, role);
    }
    return role;
  }
}
