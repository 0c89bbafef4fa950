import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { type CfnFunction, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUCKET_CORS } from '../../infra/bucket-cors';
import { type FunctionBuildSettings, functionCode } from '../../infra/bundling/function-code';
import { ACCESS_LOG_DAYS, ACCESS_LOG_PREFIXES, DELETED_DATA_DAYS } from '../../infra/constructs/data';
import { EXPORT_WORKER_DESCRIPTION } from '../../infra/constructs/export-worker';
import { SERVICE_BOOT_DESCRIPTION, SOCKET_PING_DESCRIPTION } from '../../infra/constructs/notifications';
import { API_PATH_FUNCTION, PAGE_PATH_FUNCTION, SOCKET_PATH_FUNCTION } from '../../infra/constructs/web-front';
import { readSettings } from '../../infra/settings';
import { PryvApiStack } from '../../infra/stack';
import { VENDOR_FILES } from '../../infra/web-vendor-files';
import { isBatchable } from '../../shared/api/batch';
import { METHODS } from '../../shared/api/registry';
import type { Capability, MethodDef } from '../../shared/api/types';
import { contentSecurityPolicy } from '../../shared/http/web-pages';
import { ALL_OBJECT_AREAS, OBJECT_AREAS } from '../../shared/store/keys';
import { MAIN_TABLE } from '../../shared/store/table-definition';
import { type Finding, synthesize, testApp, testOutdir } from './synth';

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string };

const declares = (method: MethodDef, capability: Capability) => method.capabilities?.includes(capability) ?? false;
const declaring = (capability: Capability) => METHODS.filter((m) => declares(m, capability)).map((m) => m.id);
const ADMIN_METHOD_IDS = declaring('adminKey');

/** Written independently of infra/constructs/api-functions.ts: `/x/` → `/x`, `/` stays. */
const normalise = (path: string) => (path !== '/' && path.endsWith('/') ? path.slice(0, -1) : path);

// Synthesized once with the default settings and the deploy checks, without bundling (80+
// esbuild runs take minutes); the bundling options every function uses are checked on one
// real bundle in 'bundling' below. test/infra/checks.test.ts synthesizes the other settings.
let template: Template;
let resources: Record<string, Resource>;
let logGroupResources: Record<string, Resource>;
let logGroupOutputs: Record<string, { Value: { Ref: string } }>;
let findings: Finding[];

beforeAll(() => {
  const synthesized = synthesize();
  template = synthesized.template;
  findings = synthesized.findings;
  resources = template.toJSON().Resources;
  const logGroups = synthesized.logGroups.toJSON();
  logGroupResources = logGroups.Resources;
  logGroupOutputs = logGroups.Outputs;
}, 600_000);

describe('deploy checks, default settings', () => {
  it('cdk-nag (AWS Solutions, HIPAA Security) and CloudFormation Validate find nothing unacknowledged', () => {
    expect(findings).toEqual([]);
  });
});

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
/** Our functions (CDK's own custom-resource handlers, e.g. the web pages deployment, excluded). */
const functions = () => ofType('AWS::Lambda::Function').filter(([, r]) => String(r.Properties.Description ?? '').startsWith('Pryv '));
const attachmentsBucketId = () =>
  ofType('AWS::S3::Bucket')
    .map(([id]) => id)
    .find((id) => id.startsWith('Attachments'))!;
const distributionId = () => ofType('AWS::CloudFront::Distribution')[0]![0];
const httpApiId = () => ofType('AWS::ApiGatewayV2::Api').find(([, r]) => r.Properties.ProtocolType === 'HTTP')![0];
const webSocketApiId = () => ofType('AWS::ApiGatewayV2::Api').find(([, r]) => r.Properties.ProtocolType === 'WEBSOCKET')![0];
/** The log group a function writes to, in the LogGroups nested stack. */
function logGroupOf(fn: Resource): Resource {
  const [, output] = fn.Properties.LoggingConfig.LogGroup['Fn::GetAtt'] as [string, string];
  const id = logGroupOutputs[output.replace(/^Outputs\./, '')]?.Value.Ref;
  expect(id, output).toBeDefined();
  return logGroupResources[id!]!;
}
function functionOf(description: string): [string, Resource] {
  const found = functions().filter(([, r]) => r.Properties.Description === description);
  expect(found, description).toHaveLength(1);
  return found[0]!;
}
const methodFunction = (id: string) => functionOf(`Pryv API method ${id}`);
const notFoundFunction = () => functionOf('Pryv API $default route (404, CORS preflight)');
const FANOUT_DESCRIPTION = 'Pryv change fan-out (DynamoDB Stream → notifications)';
const fanoutFunction = () => functionOf(FANOUT_DESCRIPTION);
const webhookWorkerFunction = () => functionOf('Pryv webhook delivery worker (every minute)');
/** The HTTP API's functions: one per method plus $default (not the fan-out). */
const apiFunctions = () => functions().filter(([, r]) => String(r.Properties.Description).startsWith('Pryv API '));

/** The policy documents attached to a function's role, as one JSON string. */
function rolePolicyText(fn: Resource): string {
  const roleId = fn.Properties.Role['Fn::GetAtt'][0];
  const policies = ofType('AWS::IAM::Policy').filter(([, p]) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleId));
  return JSON.stringify(policies.map(([, p]) => p.Properties.PolicyDocument));
}

/** The function a WebSocket API route invokes. */
const wsFunction = (route: string) => {
  const routeRes = ofType('AWS::ApiGatewayV2::Route').find(
    ([, r]) => r.Properties.RouteKey === route && r.Properties.ApiId.Ref === webSocketApiId(),
  );
  expect(routeRes, route).toBeDefined();
  const integrationId: string = routeRes![1].Properties.Target['Fn::Join'][1][1].Ref;
  const uri = JSON.stringify(resources[integrationId]!.Properties.IntegrationUri);
  const found = functions().find(([id]) => uri.includes(`"${id}"`));
  expect(found, route).toBeDefined();
  return found!;
};

/** The function logical id a route's integration invokes. */
function routeTarget(route: Resource): string {
  const target = route.Properties.Target;
  const integrationId: string = target['Fn::Join'][1][1].Ref;
  const integration = resources[integrationId]!;
  expect(integration.Type).toBe('AWS::ApiGatewayV2::Integration');
  expect(integration.Properties.IntegrationType).toBe('AWS_PROXY');
  expect(integration.Properties.PayloadFormatVersion).toBe('2.0');
  return integration.Properties.IntegrationUri['Fn::GetAtt'][0];
}

describe('DynamoDB table', () => {
  it('is on-demand, with PITR, deletion protection, stream, TTL, and retained', () => {
    const tables = ofType('AWS::DynamoDB::GlobalTable');
    expect(tables).toHaveLength(1);
    const [, table] = tables[0]!;
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      Replicas: [
        Match.objectLike({
          Region: 'eu-central-1',
          DeletionProtectionEnabled: true,
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        }),
      ],
    });
    expect(table.Properties.AttributeDefinitions).toEqual(
      expect.arrayContaining(
        ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk'].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
      ),
    );
  });

  it('has every global index of MAIN_TABLE, projecting ALL', () => {
    const [, table] = ofType('AWS::DynamoDB::GlobalTable')[0]!;
    const indexes = table.Properties.GlobalSecondaryIndexes as Array<Record<string, unknown>>;
    expect(indexes).toHaveLength(MAIN_TABLE.globalIndexes.length);
    expect(MAIN_TABLE.globalIndexes.map((i) => i.name)).toEqual(['gsi1', 'gsi2']);
    for (const index of MAIN_TABLE.globalIndexes) {
      expect(indexes).toContainEqual({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      });
    }
  });
});

describe('attachments bucket', () => {
  it('is encrypted, blocks all public access, is retained', () => {
    const bucket = resources[attachmentsBucketId()]!;
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
  });

  it('denies requests without TLS', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

const adminSecret = () => ofType('AWS::SecretsManager::Secret').find(([id]) => id.startsWith('AdminKey'))!;
const filesSecret = () => ofType('AWS::SecretsManager::Secret').find(([id]) => id.startsWith('FilesReadTokenSecret'))!;

describe('attachment read-token secret', () => {
  it('reaches exactly the methods declaring filesSecret (those answering with events), as an ARN', () => {
    const [secretId] = filesSecret();
    expect(declaring('filesSecret')).toEqual(expect.arrayContaining(['events.get', 'events.create', 'events.getAttachment', 'callBatch']));
    for (const method of METHODS) {
      const env = methodFunction(method.id)[1].Properties.Environment.Variables;
      if (declares(method, 'filesSecret')) expect(env.FILES_READ_TOKEN_SECRET_ARN, method.id).toEqual({ Ref: secretId });
      else expect(env.FILES_READ_TOKEN_SECRET_ARN, method.id).toBeUndefined();
      expect(Object.keys(env)).not.toContain('FILES_READ_TOKEN_SECRET');
    }
  });
});

describe('attachments bucket: presigned uploads', () => {
  it('expires unconfirmed presigned uploads and lets browsers PUT to presigned URLs', () => {
    const bucket = resources[attachmentsBucketId()]!;
    expect(bucket.Properties.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([expect.objectContaining({ Prefix: 'pending/', ExpirationInDays: 1, Status: 'Enabled' })]),
    );
    expect(bucket.Properties.CorsConfiguration.CorsRules[0].AllowedMethods).toEqual(expect.arrayContaining(['PUT', 'GET']));
    // From the public origin (the account app's import) as from any app's: the presigned URL is the permission.
    expect(bucket.Properties.CorsConfiguration.CorsRules[0].AllowedOrigins).toEqual(['*']);
    expect(bucket.Properties.CorsConfiguration.CorsRules).toEqual([
      expect.objectContaining({
        AllowedMethods: [...BUCKET_CORS.allowedMethods],
        AllowedHeaders: BUCKET_CORS.allowedHeaders,
        MaxAge: BUCKET_CORS.maxAgeS,
      }),
    ]);
  });
});

describe('admin key', () => {
  it('is a generated Secrets Manager secret, never a literal (as is the read-token secret)', () => {
    const secrets = ofType('AWS::SecretsManager::Secret');
    expect(secrets.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(['AdminKey', 'FilesReadTokenSecret']);
    for (const [, secret] of secrets) {
      expect(secret.Properties.GenerateSecretString).toMatchObject({ ExcludePunctuation: true });
      expect(secret.Properties.SecretString).toBeUndefined();
    }
  });

  it('no function gets ADMIN_KEY; only admin methods get the secret ARN', () => {
    const [secretId] = adminSecret();
    expect(ADMIN_METHOD_IDS).toEqual(expect.arrayContaining(['system.createUser', 'system.getUserInfo', 'auth.delete']));
    for (const [, fn] of functions()) {
      const env = fn.Properties.Environment.Variables as Record<string, unknown>;
      expect(Object.keys(env)).not.toContain('ADMIN_KEY');
    }
    for (const method of METHODS) {
      const env = methodFunction(method.id)[1].Properties.Environment.Variables;
      if (ADMIN_METHOD_IDS.includes(method.id)) expect(env.ADMIN_KEY_SECRET_ARN, method.id).toEqual({ Ref: secretId });
      else expect(env.ADMIN_KEY_SECRET_ARN, method.id).toBeUndefined();
    }
    expect(notFoundFunction()[1].Properties.Environment.Variables.ADMIN_KEY_SECRET_ARN).toBeUndefined();
  });

  it('only the admin methods’ roles may read the secret', () => {
    const [secretId] = adminSecret();
    const readerRoles = ofType('AWS::IAM::Policy')
      .filter(([, p]) => JSON.stringify(p.Properties.PolicyDocument).includes(`"Ref":"${secretId}"`))
      .flatMap(([, p]) => (p.Properties.Roles as Array<{ Ref: string }>).map((r) => r.Ref))
      .sort();
    const adminRoles = [...new Set(ADMIN_METHOD_IDS.map((id) => methodFunction(id)[1].Properties.Role['Fn::GetAtt'][0]))].sort();
    expect([...new Set(readerRoles)].sort()).toEqual(adminRoles);
    // Roles are shared only among functions with the same capabilities: no other function uses these.
    for (const [id, fn] of functions()) {
      if (ADMIN_METHOD_IDS.some((m) => methodFunction(m)[0] === id)) continue;
      expect(adminRoles, id).not.toContain(fn.Properties.Role['Fn::GetAtt'][0]);
    }
  });
});

/**
 * How each capability a method may declare shows in its function: the variable it gets and
 * what its role's policies name (mail only exists with a sender: see 'mail (SES)').
 */
const CAPABILITY_MARKS: Record<Exclude<Capability, 'mail'>, { variable: string; policy: () => string }> = {
  adminKey: { variable: 'ADMIN_KEY_SECRET_ARN', policy: () => `"Ref":"${adminSecret()[0]}"` },
  filesSecret: { variable: 'FILES_READ_TOKEN_SECRET_ARN', policy: () => `"Ref":"${filesSecret()[0]}"` },
  socketManagement: { variable: 'SOCKET_MANAGEMENT_ENDPOINT', policy: () => '"execute-api:ManageConnections"' },
};
/** The capabilities a function was given: [through its environment, through its role]. */
function grantedTo(fn: Resource): [Capability[], Capability[]] {
  const env = fn.Properties.Environment.Variables as Record<string, unknown>;
  const policy = rolePolicyText(fn);
  const entries = Object.entries(CAPABILITY_MARKS) as Array<[Capability, (typeof CAPABILITY_MARKS)['adminKey']]>;
  return [
    entries.filter(([, m]) => env[m.variable] !== undefined).map(([c]) => c),
    entries.filter(([, m]) => policy.includes(m.policy())).map(([c]) => c),
  ];
}

describe('method capabilities', () => {
  it('each method function gets, in its environment and its role, exactly what its method declares', () => {
    for (const method of METHODS) {
      const declared = (method.capabilities ?? []).filter((c) => c !== 'mail').sort();
      const [byEnvironment, byRole] = grantedTo(methodFunction(method.id)[1]);
      expect(byEnvironment.sort(), method.id).toEqual(declared);
      expect(byRole.sort(), method.id).toEqual(declared);
    }
  });

  it('every method checking the admin key declares it', () => {
    for (const method of METHODS.filter((m) => m.auth === 'admin')) expect(method.capabilities, method.id).toContain('adminKey');
  });

  it('callBatch and the socket $default function have every capability a method they may run declares', () => {
    const needed = new Set(METHODS.filter(isBatchable).flatMap((m) => m.capabilities ?? []));
    const callBatch = METHODS.find((m) => m.id === 'callBatch')!;
    for (const capability of needed) expect(callBatch.capabilities, capability).toContain(capability);
    // Sockets run the batchable methods and callBatch itself, and answer through @connections.
    const [byEnvironment, byRole] = grantedTo(wsFunction('$default')[1]);
    for (const capability of [...needed, ...(callBatch.capabilities ?? []), 'socketManagement' as const]) {
      expect(byEnvironment, capability).toContain(capability);
      expect(byRole, capability).toContain(capability);
    }
  });
});

describe('functions', () => {
  it('one per method plus the $default one, each with its own entry', () => {
    const mine = functions().filter(([, r]) => String(r.Properties.Description).startsWith('Pryv API method '));
    expect(mine).toHaveLength(METHODS.length);
    for (const method of METHODS) methodFunction(method.id);
    notFoundFunction();
    expect(methodFunction('service.info')[0]).toMatch(/^Fnserviceinfo[0-9A-F]{8}$/);
  });

  it('all run Node.js 22 on arm64 with JSON logs into a retained-for-a-month log group', () => {
    // methods, $default, fan-out, webhook worker, export worker, WebSocket $connect/$default/$disconnect, ping sweep, boot message
    expect(functions()).toHaveLength(METHODS.length + 9);
    for (const [id, fn] of functions()) {
      const p = fn.Properties;
      const exportWorker = p.Description === EXPORT_WORKER_DESCRIPTION; // sized for its job (see 'export worker')
      expect(p.Runtime, id).toBe('nodejs22.x');
      expect(p.Architectures, id).toEqual(['arm64']);
      expect(p.LoggingConfig.LogFormat, id).toBe('JSON');
      if (!exportWorker) expect(p.MemorySize, id).toBe(256);
      // Behind API Gateway (30 s) a function must fail first; the workers are not behind it.
      if (id !== webhookWorkerFunction()[0] && !exportWorker) expect(p.Timeout, id).toBeLessThanOrEqual(50);
      if (String(p.Description).startsWith('Pryv API ')) expect(p.Timeout, id).toBeLessThanOrEqual(29);
      expect(p.Handler, id).toBe('index.handler');
      const logGroup = logGroupOf(fn);
      expect(logGroup.Type).toBe('AWS::Logs::LogGroup');
      expect(logGroup.Properties.RetentionInDays).toBe(30);
    }
  });

  it('get the table, bucket and public URL in their environment, and no source maps by default', () => {
    const [tableId] = ofType('AWS::DynamoDB::GlobalTable')[0]!;
    const bucketId = attachmentsBucketId();
    for (const [id, fn] of functions()) {
      const env = fn.Properties.Environment.Variables;
      expect(env.TABLE_NAME, id).toEqual({ Ref: tableId });
      expect(env.BUCKET_NAME, id).toEqual({ Ref: bucketId });
      expect(env.NODE_OPTIONS, id).toBeUndefined();
      // No publicUrl given: the CloudFront distribution in front of everything (no trailing slash).
      expect(env.PUBLIC_URL, id).toEqual({ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distributionId(), 'DomainName'] }]] });
      expect(env.SOCKET_PING_INTERVAL_MS, id).toBe('60000');
    }
  });

  it('of the API may read and write the table, and the bucket only under the areas their method declares', () => {
    const [tableId] = ofType('AWS::DynamoDB::GlobalTable')[0]!;
    const bucketId = attachmentsBucketId();
    expect(apiFunctions()).toHaveLength(METHODS.length + 1);
    const objectActions = ['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:ListBucket'];
    for (const [id, fn] of apiFunctions()) {
      const text = rolePolicyText(fn);
      for (const action of ['dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:DeleteItem'])
        expect(text, `${id} ${action}`).toContain(`"${action}"`);
      expect(text, id).toContain(`"Fn::GetAtt":["${tableId}","Arn"]`);
      const method = METHODS.find((m) => fn.Properties.Description === `Pryv API method ${m.id}`);
      const areas = method?.bucket ?? [];
      for (const action of objectActions) expect(text.includes(`"${action}"`), `${id} ${action}`).toBe(areas.length > 0);
      expect(text.includes(`"Fn::GetAtt":["${bucketId}","Arn"]`), id).toBe(areas.length > 0);
      // Objects under the declared prefixes only: never the whole bucket.
      for (const area of ALL_OBJECT_AREAS) expect(text.includes(`"/${OBJECT_AREAS[area]}*"`), `${id} ${area}`).toBe(areas.includes(area));
      expect(text, id).not.toContain('"/*"');
    }
    // Methods without objects are most of them (58 functions had the bucket before areas were declared).
    expect(METHODS.filter((m) => !m.bucket?.length).length).toBeGreaterThan(50);
    expect(methodFunction('callBatch')[1].Properties.Role).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^RoleData/), 'Arn'] });
  });

  /** The asset folder CDK staged for a function of `stack` built from `entry` by functionCode (a real esbuild run). */
  const builtAsset = (entry: string, settings: FunctionBuildSettings = { sourceMaps: false, tracing: false }) => {
    const app = new App({ outdir: testOutdir() });
    const stack = new Stack(app, 'BundleCheck');
    const fn = new LambdaFunction(stack, 'Fn', {
      runtime: Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: functionCode(join(process.cwd(), entry), settings),
    });
    const key: string = (Template.fromStack(stack).toJSON().Resources[stack.getLogicalId(fn.node.defaultChild as CfnFunction)] as Resource)
      .Properties.Code.S3Key;
    return join(app.synth().directory, `asset.${key.replace(/\.zip$/, '')}`);
  };

  it('are built with the options of every function: a real bundle is minified ESM with a require() banner and no source map', () => {
    // One real esbuild run with the options every function gets (the full synth skips bundling).
    const dir = builtAsset('functions/api/events-get.ts');
    const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
    expect(code.startsWith('import { createRequire')).toBe(true);
    expect(/export\s*\{[^}]*\bas handler\b|export\s*\{\s*handler\b/.test(code)).toBe(true);
    expect(readdirSync(dir).filter((name) => name.endsWith('.map'))).toEqual([]);
    // Credentials from the environment only: none of the SDK's default chain (web identity, SSO, containers).
    const all = readdirSync(dir)
      .filter((name) => name.endsWith('.mjs'))
      .map((name) => readFileSync(join(dir, name), 'utf8'))
      .join('\n');
    expect(all).toContain('AWS_ACCESS_KEY_ID');
    for (const part of ['AssumeRoleWithWebIdentity', 'sso_session', 'AWS_CONTAINER_CREDENTIALS']) expect(all).not.toContain(part);
    // Minified: long lines, no indented source.
    expect(code.length / code.split('\n').length).toBeGreaterThan(1000);
    // Every function uses those options, with its own entry under functions/.
    for (const [id, f] of functions()) expect(f.Properties.Handler, id).toBe('index.handler');
  }, 300_000);

  /** The files a cold start reads: index.mjs and every chunk it imports statically, transitively. */
  const filesAtStart = (dir: string) => {
    const seen = new Set<string>();
    const pending = ['index.mjs'];
    for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
      if (seen.has(name)) continue;
      seen.add(name);
      const code = readFileSync(join(dir, name), 'utf8');
      // Static imports only (`import{…}from"./x.mjs"`, `import"./x.mjs"`), not `import("./x.mjs")`.
      for (const [, file] of code.matchAll(/(?:from|import)\s*"\.\/([^"]+\.mjs)"/g)) pending.push(file!);
    }
    return seen;
  };

  it('callBatch is built in chunks, once: an entry without the methods, each method module a chunk loaded by import()', () => {
    const dir = builtAsset('functions/api/callBatch.ts');
    const files = readdirSync(dir);
    const read = (name: string) => readFileSync(join(dir, name), 'utf8');
    const chunks = files.filter((name) => name.startsWith('chunk-') && name.endsWith('.mjs'));
    // Nothing but the entry, its chunks and the event-types catalogue its code reads (no map, no one-file bundle beside them).
    expect(files.filter((name) => name !== 'index.mjs' && !chunks.includes(name))).toEqual(['default-event-types.json']);
    expect(chunks.length).toBeGreaterThan(15); // one per method module at least
    const index = read('index.mjs');
    expect(index.startsWith('import { createRequire')).toBe(true);
    expect(/export\s*\{[^}]*\bas handler\b|export\s*\{\s*handler\b/.test(index)).toBe(true);
    const start = [...filesAtStart(dir)];
    expect(start.map(read).join('\n')).toMatch(/import\("\.\/chunk-[A-Z0-9]+\.mjs"\)/);
    // A method's declaration is in a chunk the start only loads by import(), in no file of the start.
    const route = '/{username}/webhooks/{id}';
    const webhooks = chunks.filter((name) => read(name).includes(route));
    expect(webhooks).toHaveLength(1);
    expect(start).not.toContain(webhooks[0]);
    // Minified, and every chunk can require() (CommonJS dependencies in an ESM asset).
    for (const name of ['index.mjs', ...chunks]) {
      expect(read(name).startsWith('import { createRequire'), name).toBe(true);
      const text = read(name);
      if (text.length > 10_000) expect(text.length / text.split('\n').length, name).toBeGreaterThan(1000);
    }
  }, 300_000);

  it('the functions that run any method load their start in a few files: each method chunk shares the entry (infra/bundling/method-chunks.ts)', () => {
    for (const entry of ['functions/api/callBatch.ts', 'functions/ws/message.ts']) {
      const dir = builtAsset(entry);
      const start = filesAtStart(dir);
      // Split by the sets of method modules that share each module, a start read 24 files
      // (callBatch) and 41 (the socket message function); what is left is shared with the
      // chunks that are not methods (the S3 client, the parameter validators, the socket sender).
      expect(start.size, entry).toBeLessThanOrEqual(12);
      // Each method chunk imports only what the start has loaded, plus chunks of its own.
      const methods = readdirSync(dir).filter((name) => readFileSync(join(dir, name), 'utf8').includes('/{username}/webhooks/{id}'));
      expect(methods, entry).toHaveLength(1);
      const imported = [...readFileSync(join(dir, methods[0]!), 'utf8').matchAll(/from\s*"\.\/([^"]+\.mjs)"/g)].map(([, file]) => file!);
      expect(imported.filter((file) => start.has(file)).length, entry).toBeGreaterThan(0);
    }
  }, 300_000);

  it('ship source maps only with sourceMaps=on', () => {
    const dir = builtAsset('functions/http/not-found.ts', { sourceMaps: true, tracing: false });
    expect(readdirSync(dir)).toContain('index.mjs.map');
  });
});

describe('dead-letter queues', () => {
  // Each stream-fed function's role may send to its own queue and do nothing else with SQS: the
  // handler and Lambda's mapping only send (infra/constructs/dead-letter-queue.ts).
  it('each queue is the on-failure destination of one mapping, whose function may only SendMessage to it', () => {
    const queues = ofType('AWS::SQS::Queue');
    expect(queues.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(['ExportWorkerDlq', 'FanoutDlq']);
    for (const [queueId] of queues) {
      const arn = { 'Fn::GetAtt': [queueId, 'Arn'] };
      const mappings = ofType('AWS::Lambda::EventSourceMapping').filter(
        ([, m]) => JSON.stringify(m.Properties.DestinationConfig?.OnFailure?.Destination) === JSON.stringify(arn),
      );
      expect(mappings, queueId).toHaveLength(1);
      const fnId = mappings[0]![1].Properties.FunctionName.Ref;
      const fn = resources[fnId]!;
      expect(fn.Properties.Environment.Variables.DEAD_LETTER_QUEUE_URL).toEqual({ Ref: queueId });
      const roleId = fn.Properties.Role['Fn::GetAtt'][0];
      const sqsStatements = ofType('AWS::IAM::Policy')
        .filter(([, p]) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleId))
        .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[])
        .filter((st) => [st.Action].flat().some((a) => a.startsWith('sqs:')));
      expect(sqsStatements, fnId).toEqual([expect.objectContaining({ Action: 'sqs:SendMessage', Effect: 'Allow', Resource: arn })]);
    }
  });
});

describe('change fan-out', () => {
  const tableId = () => ofType('AWS::DynamoDB::GlobalTable')[0]![0];
  const dlq = () => {
    // The fan-out's queue (the export worker has its own, checked with the worker).
    const queues = ofType('AWS::SQS::Queue').filter(([id]) => id.startsWith('FanoutDlq'));
    expect(queues).toHaveLength(1);
    return queues[0]!;
  };

  it('has its own function, Node.js 22 on arm64, outside the method count', () => {
    const [id, fn] = fanoutFunction();
    expect(id).toMatch(/^Fnnotifyfanout[0-9A-F]{8}$/);
    expect(fn.Properties.Runtime).toBe('nodejs22.x');
    expect(fn.Properties.Architectures).toEqual(['arm64']);
    expect(fn.Properties.Handler).toBe('index.handler');
    expect(FANOUT_DESCRIPTION.startsWith('Pryv API method ')).toBe(false);
  });

  it('is fed by the table stream: batched, retried, bisected, partial failures, dead letters to SQS', () => {
    const [fnId] = fanoutFunction();
    const [queueId] = dlq();
    const mappings = ofType('AWS::Lambda::EventSourceMapping').filter(([, m]) => m.Properties.FunctionName?.Ref === fnId);
    expect(mappings).toHaveLength(1);
    const [, mapping] = mappings[0]!;
    expect(mapping.Properties).toMatchObject({
      FunctionName: { Ref: fnId },
      EventSourceArn: { 'Fn::GetAtt': [tableId(), 'StreamArn'] },
      StartingPosition: 'LATEST',
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 0, // no wait beyond Lambda's poll: the notification delay (README)
      MaximumRetryAttempts: 5,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ParallelizationFactor: 1,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
    });
    // Filtered to the partitions that notify: audit records (one per call) never invoke it.
    const patterns = mapping.Properties.FilterCriteria.Filters.map(
      (f: { Pattern: string }) => JSON.parse(f.Pattern).dynamodb.Keys.pk.S[0].prefix,
    );
    expect(patterns.sort()).toEqual(['EV#', 'USER#', 'WSCONN#']);
    const maxAge = mapping.Properties.MaximumRecordAgeInSeconds;
    expect(maxAge).toBeGreaterThanOrEqual(60);
    expect(maxAge).toBeLessThanOrEqual(86_400); // the stream keeps records 24 hours
  });

  it('dead-letter queue: SQS-managed encryption, 14-day retention, TLS only', () => {
    const [queueId, queue] = dlq();
    expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    expect(queue.Properties.MessageRetentionPeriod).toBe(1_209_600);
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
  });

  it('may use the table and its stream and send to the queue, nothing more', () => {
    const [, fn] = fanoutFunction();
    const bucketId = attachmentsBucketId();
    const [queueId] = dlq();
    const text = rolePolicyText(fn);
    for (const action of [
      'dynamodb:Query',
      'dynamodb:GetItem',
      'dynamodb:GetRecords',
      'dynamodb:GetShardIterator',
      'dynamodb:DescribeStream',
      'sqs:SendMessage',
    ])
      expect(text, action).toContain(`"${action}"`);
    expect(text).toContain(`"Fn::GetAtt":["${tableId()}","StreamArn"]`);
    expect(text).toContain(`"Fn::GetAtt":["${queueId}","Arn"]`);
    // Writes: it queues webhook messages and records delivery attempts.
    for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']) expect(text).toContain(`"${action}"`);
    expect(text).not.toContain(bucketId);
    expect(text).not.toContain('secretsmanager:');
  });

  it('is not reachable through the HTTP API', () => {
    const [fnId] = fanoutFunction();
    const invoked = ofType('AWS::Lambda::Permission').map(([, p]) => JSON.stringify(p.Properties.FunctionName));
    expect(invoked.filter((name) => name.includes(`"${fnId}"`))).toEqual([]);
  });
});

describe('HTTP API', () => {
  it('has no CORS configuration of its own', () => {
    expect(resources[httpApiId()]!.Properties.CorsConfiguration).toBeUndefined();
  });

  it('routes every method route, normalised, to that method’s function', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').filter(([, r]) => r.Properties.ApiId.Ref === httpApiId());
    const byKey = new Map(routes.map(([, r]) => [r.Properties.RouteKey as string, r]));
    expect(byKey.size, 'route keys are unique').toBe(routes.length);

    const expected = new Set<string>();
    for (const method of METHODS) {
      const [fnId] = methodFunction(method.id);
      for (const route of method.routes) {
        const key = `${route.verb} ${normalise(route.path)}`;
        expected.add(key);
        const resource = byKey.get(key);
        expect(resource, key).toBeDefined();
        expect(routeTarget(resource!), key).toBe(fnId);
      }
    }
    expect(routes).toHaveLength(expected.size + 1);
    // Spot checks of the normalisation.
    expect(byKey.has('POST /{username}')).toBe(true);
    expect(byKey.has('POST /{username}/')).toBe(false);
    expect(byKey.has('GET /')).toBe(true);
    expect([...byKey.keys()].filter((k) => k.endsWith('/') && !k.endsWith(' /'))).toEqual([]);
  });

  it('sends $default to the not-found function', () => {
    const route = ofType('AWS::ApiGatewayV2::Route').find(
      ([, r]) => r.Properties.RouteKey === '$default' && r.Properties.ApiId.Ref === httpApiId(),
    );
    expect(route).toBeDefined();
    expect(routeTarget(route![1])).toBe(notFoundFunction()[0]);
  });

  it('lets API Gateway invoke every function', () => {
    const invoked = new Set(
      ofType('AWS::Lambda::Permission')
        .filter(([, p]) => p.Properties.Principal === 'apigateway.amazonaws.com')
        .map(([, p]) => p.Properties.FunctionName['Fn::GetAtt'][0] as string),
    );
    for (const [id] of apiFunctions()) expect(invoked.has(id), id).toBe(true);
  });
});

describe('outputs', () => {
  it('expose the API URL, table, bucket, secret ARN and fan-out dead-letter queue URL', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const [tableId] = ofType('AWS::DynamoDB::GlobalTable')[0]!;
    const bucketId = attachmentsBucketId();
    const [secretId] = adminSecret();
    const apiId = httpApiId();
    expect(outputs.ApiUrl?.Value).toEqual({ 'Fn::GetAtt': [apiId, 'ApiEndpoint'] });
    expect(outputs.TableName?.Value).toEqual({ Ref: tableId });
    expect(outputs.BucketName?.Value).toEqual({ Ref: bucketId });
    expect(outputs.AdminKeySecretArn?.Value).toEqual({ Ref: secretId });
    const [queueId] = ofType('AWS::SQS::Queue')[0]!;
    expect(outputs.FanoutDlqUrl?.Value).toEqual({ Ref: queueId });
  });
});

describe('settings', () => {
  it('passes publicUrl (trailing slash stripped), trustedApps and memorySize through', () => {
    // Bundling skipped: only the template matters here.
    const app = testApp();
    const stack = new PryvApiStack(app, 'Configured', {
      publicUrl: 'https://api.example.com/',
      trustedApps: '*@https://app.example.com*',
      memorySize: 512,
    });
    const configured = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
    const fns = Object.values(configured).filter(
      (r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties.Description).startsWith('Pryv '),
    );
    expect(fns).toHaveLength(METHODS.length + 9);
    for (const fn of fns) {
      expect(fn.Properties.Environment.Variables.PUBLIC_URL).toBe('https://api.example.com');
      expect(fn.Properties.Environment.Variables.TRUSTED_APPS).toBe('*@https://app.example.com*');
      // The export worker has its own memory size (see 'export worker').
      if (fn.Properties.Description !== EXPORT_WORKER_DESCRIPTION) expect(fn.Properties.MemorySize).toBe(512);
    }
  });

  it('sourceMaps=on turns source maps on in every function (off by default: see the bundling test)', () => {
    expect(readSettings({ sourceMaps: 'on' }, 'eu-central-1')).toEqual({ sourceMaps: true });
    expect(readSettings({ sourceMaps: 'off' }, 'eu-central-1')).toEqual({});
    expect(() => readSettings({ sourceMaps: 'yes please' }, 'eu-central-1')).toThrow('sourceMaps: expected "on" or "off"');
    const app = testApp();
    const stack = new PryvApiStack(app, 'WithSourceMaps', { sourceMaps: true });
    const resources = Object.values(Template.fromStack(stack).toJSON().Resources as Record<string, Resource>);
    const fns = resources.filter((r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties.Description).startsWith('Pryv '));
    expect(fns).toHaveLength(METHODS.length + 9);
    for (const fn of fns) expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
  });
});

describe('webhook delivery worker', () => {
  it('runs every minute with time for ~50 s of deliveries, with the table but not the bucket', () => {
    const [workerId, fn] = webhookWorkerFunction();
    expect(fn.Properties.Timeout).toBeGreaterThanOrEqual(60);
    expect(fn.Properties.Runtime).toBe('nodejs22.x');
    const rules = ofType('AWS::Events::Rule').filter(([, r]) => JSON.stringify(r.Properties.Targets).includes(`"${workerId}"`));
    expect(rules).toHaveLength(1);
    const [, rule] = rules[0]!;
    expect(rule.Properties.ScheduleExpression).toBe('rate(1 minute)');
    expect(JSON.stringify(rule.Properties.Targets)).toContain(`"Fn::GetAtt":["${workerId}","Arn"]`);
    const text = rolePolicyText(fn);
    for (const action of ['dynamodb:Query', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']) expect(text).toContain(`"${action}"`);
    expect(text).not.toContain(attachmentsBucketId());
    expect(text).not.toContain('secretsmanager:');
  });
});

describe('export worker', () => {
  const exportWorker = () => functionOf(EXPORT_WORKER_DESCRIPTION);

  it('has Lambda’s longest timeout, 1 GiB of memory and 10 GiB of /tmp, outside the method count', () => {
    const [, fn] = exportWorker();
    expect(fn.Properties).toMatchObject({
      Timeout: 900,
      MemorySize: 1024,
      EphemeralStorage: { Size: 10240 },
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
    });
    expect(EXPORT_WORKER_DESCRIPTION.startsWith('Pryv API method ')).toBe(false);
  });

  it('is started by job INSERTs on the table stream only, users in parallel, retried once', () => {
    const [fnId] = exportWorker();
    const tableId = ofType('AWS::DynamoDB::GlobalTable')[0]![0];
    const mappings = ofType('AWS::Lambda::EventSourceMapping').filter(([, m]) => m.Properties.FunctionName?.Ref === fnId);
    expect(mappings).toHaveLength(1);
    const [, mapping] = mappings[0]!;
    expect(mapping.Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': [tableId, 'StreamArn'] },
      StartingPosition: 'LATEST',
      ParallelizationFactor: 10,
      MaximumRetryAttempts: 1,
    });
    const patterns = mapping.Properties.FilterCriteria.Filters.map((f: { Pattern: string }) => JSON.parse(f.Pattern));
    expect(patterns).toEqual([
      { eventName: ['INSERT'], dynamodb: { NewImage: { sk: { S: [{ prefix: 'EXPORT#' }] } } } },
      { eventName: ['INSERT'], dynamodb: { NewImage: { sk: { S: [{ prefix: 'IMPORT#' }] } } } },
    ]);
  });

  it('may read and write the table and the bucket (archives, attachments), no secret', () => {
    const [, fn] = exportWorker();
    const bucketId = attachmentsBucketId();
    const text = rolePolicyText(fn);
    for (const action of [
      'dynamodb:Query',
      'dynamodb:BatchWriteItem',
      'dynamodb:UpdateItem',
      'dynamodb:GetRecords',
      's3:PutObject',
      's3:GetObject',
    ])
      expect(text, action).toContain(`"${action}"`);
    expect(text).toContain(bucketId);
    expect(text).not.toContain('secretsmanager:');
  });

  it('is not reachable through the HTTP API', () => {
    const [fnId] = exportWorker();
    const invoked = ofType('AWS::Lambda::Permission').map(([, p]) => JSON.stringify(p.Properties.FunctionName));
    expect(invoked.filter((name) => name.includes(`"${fnId}"`))).toEqual([]);
  });

  it('export archives expire after a week, import uploads after a day', () => {
    const bucket = resources[attachmentsBucketId()]!;
    expect(bucket.Properties.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Prefix: 'exports/', ExpirationInDays: 7, Status: 'Enabled' }),
        expect.objectContaining({ Prefix: 'imports/', ExpirationInDays: 1, Status: 'Enabled' }),
      ]),
    );
  });
});

describe('mail (SES)', () => {
  it('without mailFrom no function may send mail', () => {
    expect(JSON.stringify(resources)).not.toContain('ses:SendEmail');
    expect(methodFunction('account.requestPasswordReset')[1].Properties.Environment.Variables.MAIL_FROM).toBeUndefined();
  });

  it('with mailFrom: MAIL_FROM reaches the functions; only the mail-sending methods may call ses:SendEmail, from that address', () => {
    const app = testApp();
    const stack = new PryvApiStack(app, 'WithMail', { mailFrom: 'noreply@example.com' });
    const mailResources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
    const fnOf = (id: string) =>
      Object.values(mailResources).find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Description === `Pryv API method ${id}`)!;
    const policyText = (fn: Resource) => {
      const roleId = fn.Properties.Role['Fn::GetAtt'][0];
      return JSON.stringify(
        Object.values(mailResources)
          .filter((p) => p.Type === 'AWS::IAM::Policy' && p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleId))
          .map((p) => p.Properties.PolicyDocument),
      );
    };
    expect(declaring('mail')).toEqual(
      expect.arrayContaining(['account.requestPasswordReset', 'auth.login', 'mfa.activate', 'mfa.challenge']),
    );
    for (const method of METHODS) {
      const fn = fnOf(method.id);
      expect(fn.Properties.Environment.Variables.MAIL_FROM, method.id).toBe('noreply@example.com');
      const text = policyText(fn);
      if (declares(method, 'mail')) {
        expect(text, method.id).toContain('"ses:SendEmail"');
        expect(text, method.id).toContain('"ses:FromAddress":"noreply@example.com"');
      } else {
        expect(text, method.id).not.toContain('ses:');
      }
    }
  });
});

describe('WebSocket API (Socket.IO)', () => {
  it('is a WebSocket API whose $connect, $default and $disconnect routes reach their own functions, on an auto-deployed stage', () => {
    expect(resources[webSocketApiId()]!.Properties.RouteSelectionExpression).toBe('$request.body.action');
    const ids = ['$connect', '$default', '$disconnect'].map((r) => wsFunction(r)[0]);
    expect(new Set(ids).size).toBe(3);
    expect(wsFunction('$default')[1].Properties.Description).toMatch(/method calls/);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { ApiId: { Ref: webSocketApiId() }, StageName: 'live', AutoDeploy: true });
  });

  it('lets only the socket senders post to connections, through the stage callback URL', () => {
    expect(declaring('socketManagement')).toEqual(expect.arrayContaining(['auth.delete'])); // account deletion closes the user's sockets
    const methodSenders = declaring('socketManagement').map(methodFunction);
    const senders = [wsFunction('$default'), fanoutFunction(), functionOf(SOCKET_PING_DESCRIPTION), ...methodSenders];
    for (const [id, fn] of senders) {
      expect(rolePolicyText(fn), id).toContain('"execute-api:ManageConnections"');
      expect(JSON.stringify(fn.Properties.Environment.Variables.SOCKET_MANAGEMENT_ENDPOINT), id).toContain(webSocketApiId());
    }
    const senderIds = new Set(senders.map(([id]) => id));
    for (const [id, fn] of functions()) {
      if (senderIds.has(id)) continue;
      expect(rolePolicyText(fn), id).not.toContain('execute-api:ManageConnections');
    }
  });

  it('answers method calls with the read-token secret, like the event methods', () => {
    const [, fn] = wsFunction('$default');
    expect(rolePolicyText(fn)).toContain('secretsmanager:GetSecretValue');
    expect(fn.Properties.Environment.Variables.FILES_READ_TOKEN_SECRET_ARN).toBeDefined();
  });

  it('pings every connection each minute (Engine.IO pingInterval 60 s, within the 10-minute idle limit)', () => {
    const [pingId, fn] = functionOf(SOCKET_PING_DESCRIPTION);
    const rules = ofType('AWS::Events::Rule').filter(([, r]) => JSON.stringify(r.Properties.Targets).includes(`"${pingId}"`));
    expect(rules).toHaveLength(1);
    expect(rules[0]![1].Properties.ScheduleExpression).toBe('rate(1 minute)');
    expect(Number(fn.Properties.Environment.Variables.SOCKET_PING_INTERVAL_MS)).toBe(60_000);
    expect(fn.Properties.Timeout).toBeLessThan(60);
  });
});

describe('CloudFront distribution', () => {
  const distribution = () => resources[distributionId()]!.Properties.DistributionConfig;
  const originOf = (behavior: { TargetOriginId: string }) =>
    distribution().Origins.find((o: { Id: string }) => o.Id === behavior.TargetOriginId);

  it('sends the API by default, /socket.io/* to the WebSocket stage, web pages to their bucket', () => {
    const config = distribution();
    expect(JSON.stringify(originOf(config.DefaultCacheBehavior).DomainName)).toContain(httpApiId());
    expect(config.DefaultCacheBehavior.AllowedMethods).toEqual(expect.arrayContaining(['POST', 'PUT', 'DELETE', 'OPTIONS']));
    expect(config.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('https-only');
    const byPath = new Map(config.CacheBehaviors.map((b: { PathPattern: string }) => [b.PathPattern, b]));
    const socket = byPath.get('/socket.io/*') as { TargetOriginId: string };
    expect(JSON.stringify(originOf(socket).DomainName)).toContain(webSocketApiId());
    expect(originOf(socket).OriginPath).toBe('/live');
    for (const pages of ['/access/*', '/www/*', '/account/*']) {
      const behavior = byPath.get(pages) as { TargetOriginId: string };
      const origin = originOf(behavior);
      expect(origin.S3OriginConfig, pages).toBeDefined();
      expect(origin.OriginAccessControlId, pages).toBeDefined();
      const policy = resources[(behavior as any).ResponseHeadersPolicyId.Ref]!.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
      // A string, or for the account app a join naming the attachments bucket (checked below).
      expect(JSON.stringify(policy.ContentSecurityPolicy.ContentSecurityPolicy), pages).toContain("script-src 'self'");
      expect(policy.FrameOptions.FrameOption, pages).toBe('DENY');
    }
  });

  it('lets the account app (only) connect to the attachments bucket, at the address the SDK presigns its uploads for', async () => {
    const byPath = new Map(distribution().CacheBehaviors.map((b: { PathPattern: string }) => [b.PathPattern, b]));
    const cspOf = (path: string) =>
      resources[(byPath.get(path) as any).ResponseHeadersPolicyId.Ref]!.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig
        .ContentSecurityPolicy.ContentSecurityPolicy;
    // The template's value with the bucket's name and the URL suffix as CloudFormation fills them in.
    const bucketName = 'teststack-attachments1a2b3c-x9y8z7';
    const render = (value: unknown): string => {
      if (typeof value === 'string') return value;
      const v = value as { Ref?: string; 'Fn::Join'?: [string, unknown[]] };
      if (v.Ref === attachmentsBucketId()) return bucketName;
      if (v.Ref === 'AWS::URLSuffix') return 'amazonaws.com';
      if (v['Fn::Join']) return v['Fn::Join'][1].map(render).join(v['Fn::Join'][0]);
      throw new Error(`unexpected ${JSON.stringify(value)}`);
    };
    const client = new S3Client({ region: 'eu-central-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const presigned = await getSignedUrl(
      client,
      new PutObjectCommand({ Bucket: bucketName, Key: 'imports/x/y', ContentType: 'application/gzip' }),
      { expiresIn: 60 },
    );
    client.destroy();
    expect(render(cspOf('/account/*'))).toBe(contentSecurityPolicy([new URL(presigned).origin]));
    expect(render(cspOf('/account'))).toBe(render(cspOf('/account/*')));
    for (const path of ['/www/*', '/access/*', '/www/assets/*']) expect(cspOf(path), path).toBe(contentSecurityPolicy());
  });

  it('redirects each page folder named without its slash (`/account`) with the page function, not to the API', () => {
    const byPath = new Map(distribution().CacheBehaviors.map((b: { PathPattern: string }) => [b.PathPattern, b]));
    for (const folder of ['access', 'www', 'account']) {
      const exact = byPath.get(`/${folder}`) as any;
      expect(exact, folder).toBeDefined();
      expect(exact.FunctionAssociations).toEqual((byPath.get(`/${folder}/*`) as any).FunctionAssociations);
      expect(originOf(exact).S3OriginConfig, folder).toBeDefined();
    }
  });

  it('lets apps on any origin load the service assets (and only those)', () => {
    const byPath = new Map(distribution().CacheBehaviors.map((b: { PathPattern: string }) => [b.PathPattern, b]));
    const assets = byPath.get('/www/assets/*') as any;
    expect(originOf(assets).S3OriginConfig).toBeDefined();
    const config = resources[assets.ResponseHeadersPolicyId.Ref]!.Properties.ResponseHeadersPolicyConfig;
    expect(config.CorsConfig.AccessControlAllowOrigins.Items).toEqual(['*']);
    expect(config.CorsConfig.AccessControlAllowCredentials).toBe(false);
    const pages = byPath.get('/www/*') as any;
    expect(resources[pages.ResponseHeadersPolicyId.Ref]!.Properties.ResponseHeadersPolicyConfig.CorsConfig).toBeUndefined();
  });

  it('serves /openapi.json from the pages bucket, readable from any origin, like the assets', () => {
    const byPath = new Map(distribution().CacheBehaviors.map((b: { PathPattern: string }) => [b.PathPattern, b]));
    const description = byPath.get('/openapi.json') as any;
    expect(originOf(description).S3OriginConfig).toBeDefined();
    expect(description.ResponseHeadersPolicyId).toEqual((byPath.get('/www/assets/*') as any).ResponseHeadersPolicyId);
  });

  it('never caches API or socket answers and forwards query strings (tokens in ?auth=)', () => {
    const config = distribution();
    const byPath = new Map(config.CacheBehaviors.map((b: { PathPattern: string }) => [b.PathPattern, b]));
    for (const behavior of [config.DefaultCacheBehavior, byPath.get('/socket.io/*') as any]) {
      expect(behavior.CachePolicyId).toBe('4135ea2d-6df8-44a3-9df3-4b5a84be39ad'); // CachingDisabled
      expect(behavior.OriginRequestPolicyId).toBe('b689b0a8-53d0-40ab-baf2-68738e2966ac'); // AllViewerExceptHostHeader
    }
  });

  it("deploys shared/web and the pages' browser modules from node_modules to the pages bucket, and invalidates the pages", () => {
    const deployments = ofType('Custom::CDKBucketDeployment');
    expect(deployments).toHaveLength(1);
    expect(deployments[0]![1].Properties.DistributionPaths).toEqual(['/access/*', '/www/*', '/account/*', '/openapi.json']);
    // shared/web, one object per vendor file (the account app's QR code module, the API
    // reference's Swagger UI), and the OpenAPI document.
    expect(Object.keys(VENDOR_FILES)).toEqual(['account/vendor/uqr.js', 'www/api/swagger-ui-bundle.js', 'www/api/swagger-ui.css']);
    expect(deployments[0]![1].Properties.SourceObjectKeys).toHaveLength(1 + Object.keys(VENDOR_FILES).length + 1);
  });

  it('keeps the stack under CloudFormation’s 500-resource limit with room to grow', () => {
    expect(Object.keys(resources).length).toBeLessThan(450);
  });
});

describe('CloudFront viewer-request functions', () => {
  // The inline code is plain ES5, as CloudFront Functions run it: evaluate it here.
  const run = (code: string, uri: string) => new Function(`${code}; return handler;`)()({ request: { uri } }).uri as string;

  it('drop trailing slashes so `POST /{username}/` reaches callBatch', () => {
    expect(run(API_PATH_FUNCTION, '/alice/')).toBe('/alice');
    expect(run(API_PATH_FUNCTION, '/alice/events/')).toBe('/alice/events');
    expect(run(API_PATH_FUNCTION, '/')).toBe('/');
    expect(run(API_PATH_FUNCTION, '/alice/events')).toBe('/alice/events');
  });

  it('send Socket.IO to the WebSocket stage root', () => {
    expect(run(SOCKET_PATH_FUNCTION, '/socket.io/')).toBe('/');
  });

  it('serve index.html for page folders', () => {
    expect(run(PAGE_PATH_FUNCTION, '/www/')).toBe('/www/index.html');
    expect(run(PAGE_PATH_FUNCTION, '/access/access.html')).toBe('/access/access.html');
    expect(run(PAGE_PATH_FUNCTION, '/account/vendor/uqr.js')).toBe('/account/vendor/uqr.js');
  });

  it('redirect a page folder named without its trailing slash to it, query kept', () => {
    const respond = (uri: string, querystring: Record<string, unknown> = {}) =>
      new Function(`${PAGE_PATH_FUNCTION}; return handler;`)()({ request: { uri, querystring } }) as {
        statusCode?: number;
        headers?: any;
        uri?: string;
      };
    for (const [uri, location] of [
      ['/account', '/account/'],
      ['/www', '/www/'],
      ['/www/assets', '/www/assets/'],
    ]) {
      const answer = respond(uri!);
      expect(answer.statusCode, uri).toBe(301);
      expect(answer.headers.location.value, uri).toBe(location);
    }
    const withQuery = respond('/account', {
      from: { value: 'mail' },
      flag: { value: '' },
      id: { value: 'a', multiValue: [{ value: 'a' }, { value: 'b' }] },
    });
    expect(withQuery.headers.location.value).toBe('/account/?from=mail&flag&id=a&id=b');
  });
});

describe('webhooks boot message', () => {
  it('is sent by a function that a trigger runs after deployments that change it, with the table only', () => {
    const [bootId, fn] = functionOf(SERVICE_BOOT_DESCRIPTION);
    const trigger = ofType('Custom::Trigger');
    expect(trigger).toHaveLength(1);
    // The trigger runs the function's current version (so a new version runs it again).
    expect(JSON.stringify(trigger[0]![1].Properties.HandlerArn)).toContain(`${bootId.replace(/[0-9A-F]{8}$/, '')}CurrentVersion`);
    const text = rolePolicyText(fn);
    expect(text).toContain('"dynamodb:Query"');
    expect(text).not.toContain(attachmentsBucketId());
    expect(text).not.toContain('execute-api:ManageConnections');
  });
});

describe('data safety and access logs (default settings)', () => {
  const bucketNamed = (prefix: string) => ofType('AWS::S3::Bucket').find(([id]) => id.startsWith(prefix))!;
  const tls = Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });

  it('attachments: versioned, replaced or deleted files recoverable for 35 days then gone, access-logged', () => {
    const [, bucket] = bucketNamed('Attachments');
    const [logsId] = bucketNamed('AccessLogs');
    expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(bucket.Properties.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          NoncurrentVersionExpiration: { NoncurrentDays: DELETED_DATA_DAYS },
          ExpiredObjectDeleteMarker: true,
          Status: 'Enabled',
        }),
      ]),
    );
    // Short-lived prefixes do not linger as old versions.
    for (const prefix of ['pending/', 'exports/', 'imports/'])
      expect(bucket.Properties.LifecycleConfiguration.Rules).toContainEqual(
        expect.objectContaining({ Prefix: prefix, NoncurrentVersionExpiration: { NoncurrentDays: 1 } }),
      );
    expect(bucket.Properties.LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: logsId },
      LogFilePrefix: ACCESS_LOG_PREFIXES.attachments,
    });
    expect(DELETED_DATA_DAYS).toBe(35); // the table's point-in-time window
  });

  it('access logs: one retained bucket, TLS only, S3-managed keys (S3 delivers only there), kept a year, written by S3 logging only', () => {
    const [logsId, bucket] = bucketNamed('AccessLogs');
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault).toEqual({
      SSEAlgorithm: 'AES256',
    });
    expect(bucket.Properties.LifecycleConfiguration.Rules).toContainEqual(expect.objectContaining({ ExpirationInDays: ACCESS_LOG_DAYS }));
    expect(bucket.Properties.AccessControl).toBeUndefined(); // no ACL: S3 logging is allowed by the bucket policy
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logsId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          tls,
          Match.objectLike({ Effect: 'Allow', Principal: { Service: 'logging.s3.amazonaws.com' }, Action: 's3:PutObject' }),
        ]),
      },
    });
    const [, pages] = bucketNamed('WebPages');
    expect(pages.Properties.LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: logsId },
      LogFilePrefix: ACCESS_LOG_PREFIXES.webPages,
    });
  });

  it('every bucket refuses requests without TLS', () => {
    for (const [id] of ofType('AWS::S3::Bucket'))
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: { Statement: Match.arrayWith([tls]) },
      });
  });

  it('without settings: AWS-managed encryption, no KMS key, WAF or backup plan', () => {
    const types = Object.values(resources).map((r) => r.Type);
    for (const type of ['AWS::KMS::Key', 'AWS::WAFv2::WebACL', 'AWS::Backup::BackupPlan', 'AWS::Backup::BackupVault'])
      expect(types).not.toContain(type);
    expect(resources[distributionId()]!.Properties.DistributionConfig.WebACLId).toBeUndefined();
  });

  it('HTTP and WebSocket stages write JSON access logs, without path or query string (tokens), to retained log groups of a year', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: { Ref: string } }>;
    for (const [apiId, output] of [
      [httpApiId(), 'HttpApiAccessLogGroup'],
      [webSocketApiId(), 'WebSocketAccessLogGroup'],
    ] as const) {
      const [, stage] = ofType('AWS::ApiGatewayV2::Stage').find(([, s]) => s.Properties.ApiId.Ref === apiId)!;
      const groupId = outputs[output]!.Value.Ref;
      const group = resources[groupId]!;
      expect(group.Type).toBe('AWS::Logs::LogGroup');
      expect(group.DeletionPolicy).toBe('Retain');
      expect(group.Properties.RetentionInDays).toBe(365);
      expect(stage.Properties.AccessLogSettings.DestinationArn).toEqual({ 'Fn::GetAtt': [groupId, 'Arn'] });
      const format = JSON.parse(stage.Properties.AccessLogSettings.Format) as Record<string, string>;
      expect(format.requestId, output).toBe('$context.requestId');
      expect(format.routeKey, output).toBe('$context.routeKey');
      const variables = Object.values(format).join(' ');
      for (const leak of ['$context.path', 'querystring', '$context.authorizer', 'header']) expect(variables, output).not.toContain(leak);
    }
  });

  it('WebSocket logging has the API Gateway account role it needs, both kept when the stack goes', () => {
    const [, account] = ofType('AWS::ApiGateway::Account')[0]!;
    expect(account.DeletionPolicy).toBe('Retain');
    const role = resources[account.Properties.CloudWatchRoleArn['Fn::GetAtt'][0]]!;
    expect(role.DeletionPolicy).toBe('Retain');
    expect(JSON.stringify(role.Properties.ManagedPolicyArns)).toContain('AmazonAPIGatewayPushToCloudWatchLogs');
    expect(JSON.stringify(role.Properties.AssumeRolePolicyDocument)).toContain('apigateway.amazonaws.com');
  });

  it('functions may use the table and its indexes by name, never every index', () => {
    const [tableId] = ofType('AWS::DynamoDB::GlobalTable')[0]!;
    const policies = functions()
      .map(([, fn]) => rolePolicyText(fn))
      .join('\n');
    expect(policies).not.toContain('/index/*');
    for (const index of MAIN_TABLE.globalIndexes)
      expect(policies).toContain(JSON.stringify({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [tableId, 'Arn'] }, `/index/${index.name}`]] }));
    // No S3 action wildcard either.
    expect(policies).not.toMatch(/"s3:[A-Za-z]*\*"/);
  });
});
