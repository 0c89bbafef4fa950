import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';

/**
 * What `cdk synth` wrote (a cdk.out folder), read to run it: each function's bundle with the
 * environment its template gives it, the HTTP API's routes and the WebSocket API's routes,
 * each to the function the template wires it to. Used by the local gateway in bundle mode
 * (`RuntimeOptions.bundles`) and by `npm run test:bundled` (test/bundled/).
 */

export const STACK_NAME = 'PryvApiStack';

export type Intrinsic = string | number | boolean | { [fn: string]: unknown } | Intrinsic[];

export interface TemplateResource {
  Type: string;
  // biome-ignore lint/suspicious/noExplicitAny: template JSON, read by the shapes CloudFormation documents
  Properties?: Record<string, any>;
  // biome-ignore lint/suspicious/noExplicitAny: template JSON, as above
  Metadata?: Record<string, any>;
}

export interface Template {
  Resources: Record<string, TemplateResource>;
}

export interface DeployedFunction {
  /** Logical id in the template. */
  logicalId: string;
  /** Construct id (`Fn-events-get`): the FunctionName locally. */
  id: string;
  /** The bundle file (`asset.…/index.mjs`). */
  file: string;
  /** Environment variables as the template writes them (Refs and GetAtts unresolved). */
  environment: Record<string, Intrinsic>;
  /** Logical id of its IAM role. */
  roleId: string;
  memoryMb: number;
  timeoutS: number;
}

export interface Assembly {
  directory: string;
  template: Template;
  functions: Map<string, DeployedFunction>;
  /** The HTTP API's routes (`GET /{username}/events`, `$default`) → function id. */
  httpRoutes: Map<string, string>;
  /** The WebSocket API's routes (`$connect`, `$default`, `$disconnect`) → function id. */
  webSocketRoutes: Map<string, string>;
}

const ref = (value: unknown): string | undefined =>
  value && typeof value === 'object' && 'Ref' in value ? String((value as { Ref: unknown }).Ref) : undefined;
const getAtt = (value: unknown): [string, string] | undefined =>
  value && typeof value === 'object' && 'Fn::GetAtt' in value ? (value as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'] : undefined;

/** Reads `{directory}/{stack}.template.json` and the functions' bundles next to it. */
export function readAssembly(directory: string, stackName = STACK_NAME): Assembly {
  const templateFile = join(directory, `${stackName}.template.json`);
  if (!existsSync(templateFile)) throw new Error(`no ${stackName}.template.json in ${directory}: run cdk synth with bundling first`);
  const template = JSON.parse(readFileSync(templateFile, 'utf8')) as Template;
  const functions = new Map<string, DeployedFunction>();
  const byLogicalId = new Map<string, DeployedFunction>();
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const assetPath = resource.Metadata?.['aws:asset:path'];
    const cdkPath = String(resource.Metadata?.['aws:cdk:path'] ?? '');
    const id = cdkPath.split('/')[1] ?? logicalId;
    if (!id.startsWith('Fn-')) continue; // CDK's own helpers (custom resources, triggers)
    if (typeof assetPath !== 'string') throw new Error(`${id}: no bundle in the template (synthesized without bundling?)`);
    const roleAtt = getAtt(resource.Properties?.Role);
    if (!roleAtt) throw new Error(`${id}: no role`);
    const fn: DeployedFunction = {
      logicalId,
      id,
      file: join(directory, assetPath, 'index.mjs'),
      environment: (resource.Properties?.Environment?.Variables ?? {}) as Record<string, Intrinsic>,
      roleId: roleAtt[0],
      memoryMb: Number(resource.Properties?.MemorySize ?? 128),
      timeoutS: Number(resource.Properties?.Timeout ?? 3),
    };
    functions.set(id, fn);
    byLogicalId.set(logicalId, fn);
  }

  const apiOf = (resource: TemplateResource) => ref(resource.Properties?.ApiId);
  const apis = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::ApiGatewayV2::Api');
  const httpApi = apis.find(([, r]) => r.Properties?.ProtocolType === 'HTTP')?.[0];
  const webSocketApi = apis.find(([, r]) => r.Properties?.ProtocolType === 'WEBSOCKET')?.[0];
  const httpRoutes = new Map<string, string>();
  const webSocketRoutes = new Map<string, string>();
  for (const [routeId, route] of Object.entries(template.Resources)) {
    if (route.Type !== 'AWS::ApiGatewayV2::Route') continue;
    const target = route.Properties?.Target as { 'Fn::Join': [string, unknown[]] } | undefined;
    const integrationId = ref(target?.['Fn::Join']?.[1]?.[1]);
    const integration = integrationId ? template.Resources[integrationId] : undefined;
    const fnLogicalId = getAtt(integration?.Properties?.IntegrationUri)?.[0] ?? fnOfInvokeUri(integration?.Properties?.IntegrationUri);
    const fn = fnLogicalId ? byLogicalId.get(fnLogicalId) : undefined;
    if (!fn) throw new Error(`route ${routeId} (${route.Properties?.RouteKey}) reaches no function of the stack`);
    const routes = apiOf(route) === httpApi ? httpRoutes : apiOf(route) === webSocketApi ? webSocketRoutes : undefined;
    if (!routes) throw new Error(`route ${routeId} belongs to no known API`);
    routes.set(String(route.Properties?.RouteKey), fn.id);
  }
  return { directory, template, functions, httpRoutes, webSocketRoutes };
}

/** WebSocket integrations name the function inside an invocation URI (`…/functions/{arn}/invocations`). */
function fnOfInvokeUri(uri: unknown): string | undefined {
  if (!uri || typeof uri !== 'object' || !('Fn::Join' in uri)) return undefined;
  const parts = (uri as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  for (const part of parts) {
    const att = getAtt(part);
    if (att && att[1] === 'Arn') return att[0];
  }
  return undefined;
}

/** What the local runtime stands in for, by template resource type. */
export interface LocalEquivalents {
  tableName: string;
  bucketName: string;
  /** The public URL (the CloudFront distribution's address in AWS). */
  publicUrl: string;
  /** The `@connections` endpoint (the WebSocket stage's callback URL in AWS). */
  socketManagementEndpoint: string;
  /** Secret logical id → its local ARN (served by the local Secrets Manager). */
  secretArn: (logicalId: string) => string | undefined;
  /** Local ARNs of template resources, for the permission check (see test/bundled/). */
  region: string;
  account: string;
}

/**
 * One environment variable's value, the template's intrinsics resolved to the local
 * equivalents. Anything it cannot resolve is an error: the variable would have no meaning here.
 */
export function resolveValue(value: Intrinsic, template: Template, local: LocalEquivalents, where: string): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  const referenced = ref(value);
  if (referenced !== undefined) {
    const type = template.Resources[referenced]?.Type;
    if (type === 'AWS::DynamoDB::GlobalTable' || type === 'AWS::DynamoDB::Table') return local.tableName;
    if (type === 'AWS::S3::Bucket' && referenced.startsWith('Attachments')) return local.bucketName;
    if (type === 'AWS::SecretsManager::Secret') {
      const arn = local.secretArn(referenced);
      if (arn) return arn;
    }
    if (referenced === 'AWS::Region') return local.region;
    // No SQS here: an empty queue URL makes a reader set records aside under the data folder (shared/adapters/dead-letters.ts).
    if (type === 'AWS::SQS::Queue') return '';
    throw new Error(`${where}: cannot resolve Ref ${referenced} (${type ?? 'unknown'}) locally`);
  }
  if (!Array.isArray(value) && 'Fn::Join' in value) {
    const parts = (value['Fn::Join'] as [string, Intrinsic[]])[1];
    const refs = parts.flatMap((part) => [ref(part), getAtt(part)?.[0]]).filter((id): id is string => id !== undefined);
    // The distribution's address: the public URL; the WebSocket stage's callback URL: @connections.
    if (refs.some((id) => template.Resources[id]?.Type === 'AWS::CloudFront::Distribution')) return local.publicUrl;
    const webSocket = refs.some(
      (id) => template.Resources[id]?.Type === 'AWS::ApiGatewayV2::Api' && template.Resources[id]?.Properties?.ProtocolType === 'WEBSOCKET',
    );
    if (webSocket) return local.socketManagementEndpoint;
  }
  throw new Error(`${where}: cannot resolve ${JSON.stringify(value)} locally`);
}

/** A function's environment exactly as the template sets it, resolved locally. */
export function resolveEnvironment(fn: DeployedFunction, template: Template, local: LocalEquivalents): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(fn.environment)) env[name] = resolveValue(value, template, local, `${fn.id} ${name}`);
  return env;
}

// biome-ignore lint/suspicious/noExplicitAny: a Lambda handler of any trigger (HTTP, WebSocket), as aws-lambda types it
type Handler = (event: any, context?: Context) => Promise<any>;

/** A worker-thread "container" per function, started at its first call (a cold start). */
export class BundledFunctions {
  private readonly workers = new Map<
    string,
    { worker: Worker; pending: Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }> }
  >();

  constructor(
    readonly assembly: Assembly,
    /** The whole environment of a function: the template's resolved, plus what Lambda and the local engines add. */
    private readonly environmentOf: (fn: DeployedFunction) => Record<string, string>,
  ) {}

  /** A handler that runs function `id`'s bundle. */
  handler(id: string): Handler {
    const fn = this.assembly.functions.get(id);
    if (!fn) throw new Error(`no function ${id} in ${this.assembly.directory}`);
    return (event) => this.invoke(fn, event);
  }

  private invoke(fn: DeployedFunction, event: unknown): Promise<APIGatewayProxyResultV2> {
    let entry = this.workers.get(fn.id);
    if (!entry) {
      const worker = new Worker(fileURLToPath(new URL('./bundle-host.mjs', import.meta.url)), {
        env: this.environmentOf(fn),
        execArgv: [],
        workerData: { file: fn.file, functionName: fn.id, memoryMb: fn.memoryMb },
      });
      const pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
      worker.on('message', (message: { id: string; result?: unknown; error?: string }) => {
        const call = pending.get(message.id);
        if (!call) return;
        pending.delete(message.id);
        if (message.error !== undefined) call.reject(new Error(`${fn.id}: ${message.error}`));
        else call.resolve(message.result);
      });
      worker.on('error', (err) => {
        for (const call of pending.values()) call.reject(new Error(`${fn.id} crashed: ${err.message}`));
        pending.clear();
        this.workers.delete(fn.id);
      });
      worker.unref();
      entry = { worker, pending };
      this.workers.set(fn.id, entry);
    }
    const { worker, pending } = entry;
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({
        id,
        event,
        requestId: (event as APIGatewayProxyEventV2)?.requestContext?.requestId ?? id,
        timeoutMs: fn.timeoutS * 1000,
      });
    });
  }

  async stop(): Promise<void> {
    await Promise.all([...this.workers.values()].map(({ worker }) => worker.terminate()));
    this.workers.clear();
  }
}
