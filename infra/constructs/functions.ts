import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, NestedStack, Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Capability } from '../../shared/api/types';
import type { DataStore } from './data';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

const DEFAULT_MEMORY_MB = 256; // enough for bcrypt + ajv; raise with the `memorySize` setting
/** API Gateway gives up at 30 s: a function behind it fails first, with our own error. */
const FUNCTION_TIMEOUT = Duration.seconds(29);
const LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

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
  /** What it is granted besides: variables and IAM rights (see `Capability`). */
  capabilities?: readonly Capability[];
  /** More environment variables than the ones every function gets. */
  environment?: Record<string, string>;
  /** Default: FUNCTION_TIMEOUT. */
  timeout?: Duration;
  /** Use the one role of all functions with the same data access and capabilities (the method functions: see Functions). */
  sharedRole?: boolean;
}

export interface FunctionsProps {
  data: DataStore;
  webSocketApi: WebSocketApi;
  webSocketStage: WebSocketStage;
  /** Variables every function gets, besides the table's and bucket's names and source maps. */
  environment: Record<string, string>;
  memorySize?: number;
  /** Sender address of mails; unset: the `mail` capability grants nothing. */
  mailFrom?: string;
}

/**
 * Makes the stack's Lambda functions, all alike: Node.js 22 on ARM64, JSON logs into their own
 * log group, bundled with FUNCTION_BUNDLING, and given exactly the data access and the
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

  constructor(scope: Construct, props: FunctionsProps) {
    this.scope = scope;
    this.props = props;
    this.logGroups = new NestedStack(scope, 'LogGroups', { description: 'Pryv API: one log group per function' });
  }

  add(options: FunctionOptions): NodejsFunction {
    const { data } = this.props;
    const granted = (capability: Capability) =>
      (options.capabilities ?? []).includes(capability) && (capability !== 'mail' || this.props.mailFrom !== undefined);
    const fn = new NodejsFunction(this.scope, options.id, {
      ...(options.sharedRole ? { role: this.sharedRole(options.data, granted) } : {}),
      entry: join(REPO_ROOT, options.entry),
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      description: options.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: this.props.memorySize ?? DEFAULT_MEMORY_MB,
      timeout: options.timeout ?? FUNCTION_TIMEOUT,
      loggingFormat: LoggingFormat.JSON,
      logGroup: new logs.LogGroup(this.logGroups, `${options.id}-Logs`, { retention: LOG_RETENTION }),
      environment: {
        TABLE_NAME: data.table.tableName,
        BUCKET_NAME: data.bucket.bucketName,
        NODE_OPTIONS: '--enable-source-maps',
        ...this.props.environment,
        ...options.environment,
        ...(granted('adminKey') ? { ADMIN_KEY_SECRET_ARN: data.adminKey.secretArn } : {}),
        ...(granted('filesSecret') ? { FILES_READ_TOKEN_SECRET_ARN: data.filesSecret.secretArn } : {}),
        ...(granted('socketManagement') ? { SOCKET_MANAGEMENT_ENDPOINT: this.props.webSocketStage.callbackUrl } : {}),
      },
      bundling: FUNCTION_BUNDLING,
    });
    data.table.grantReadWriteData(fn);
    if (options.data === 'tableAndBucket') data.bucket.grantReadWrite(fn);
    if (granted('adminKey')) data.adminKey.grantRead(fn);
    if (granted('filesSecret')) data.filesSecret.grantRead(fn);
    if (granted('mail')) {
      // SES sending, from the configured address only.
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['ses:SendEmail'],
          resources: [Stack.of(this.scope).formatArn({ service: 'ses', resource: 'identity', resourceName: '*' })],
          conditions: { StringEquals: { 'ses:FromAddress': this.props.mailFrom } },
        }),
      );
    }
    if (granted('socketManagement')) this.props.webSocketApi.grantManageConnections(fn);
    return fn;
  }

  /** Functions given the same role must have the same rights: the key names them all. */
  private sharedRole(data: FunctionOptions['data'], granted: (capability: Capability) => boolean): iam.Role {
    const key = [data === 'tableAndBucket' ? 'Data' : 'Table', ...ROLE_KEY_PARTS.filter(([c]) => granted(c)).map(([, part]) => part)].join('-');
    let role = this.sharedRoles.get(key);
    if (!role) {
      role = new iam.Role(this.scope, `Role-${key}`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `Pryv API methods with capabilities: ${key}`,
        managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole')],
      });
      this.sharedRoles.set(key, role);
    }
    return role;
  }
}
