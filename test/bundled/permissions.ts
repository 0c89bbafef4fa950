import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Assembly, Template } from '../../infra/local/bundles';
import type { SdkCall } from '../../shared/sdk-calls';

/**
 * The least-privilege check of `npm run test:bundled`: what each function was seen sending
 * (shared/sdk-calls.ts records it per function) against what its role allows in the
 * synthesized template. Template ARNs are resolved to the local names the functions used
 * (the table, the bucket, the local secret ARNs), so both sides compare as plain ARNs.
 */

export const REGION = 'us-east-1';
export const ACCOUNT = '000000000000';

/** One permission a call needs: IAM action on a resource ARN. */
export interface Need {
  action: string;
  resource: string;
}

export interface Statement {
  actions: string[];
  resources: string[];
}

export interface Names {
  tableName: string;
  bucketName: string;
}

/** The recorded calls of each function (file `{function id}.jsonl`). */
export function readCalls(folder: string): Map<string, SdkCall[]> {
  const calls = new Map<string, SdkCall[]>();
  for (const file of readdirSync(folder)) {
    if (!file.endsWith('.jsonl')) continue;
    const lines = readFileSync(join(folder, file), 'utf8').split('\n').filter(Boolean);
    calls.set(
      file.replace(/\.jsonl$/, ''),
      lines.map((line) => JSON.parse(line) as SdkCall),
    );
  }
  return calls;
}

const TRANSACT_ACTIONS: Record<string, string> = {
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  ConditionCheck: 'ConditionCheckItem',
  Get: 'GetItem',
};

/** What IAM checks for one SDK call (the service authorization reference's action names). */
export function needsOf(call: SdkCall, webSocketApi: { id: string; stage: string }): Need[] {
  const op = call.command.replace(/Command$/, '');
  const { input } = call;
  const table = (name: string) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name}`;
  const object = (bucket: string, key: string) => `arn:aws:s3:::${bucket}/${key}`;
  switch (call.client) {
    case 'DynamoDBClient': {
      if (op === 'TransactWriteItems' || op === 'TransactGetItems')
        return (input.Items ?? []).map((item) => ({
          action: `dynamodb:${TRANSACT_ACTIONS[item.op] ?? item.op}`,
          resource: table(item.TableName),
        }));
      if (op === 'BatchExecuteStatement' || op === 'ExecuteStatement' || op === 'ExecuteTransaction')
        return (input.Items ?? []).map((item) => ({ action: `dynamodb:${item.op}`, resource: table(item.TableName) }));
      if (op === 'BatchWriteItem' || op === 'BatchGetItem')
        return (input.Items ?? []).map((item) => ({ action: `dynamodb:${op}`, resource: table(item.TableName) }));
      const resource = table(input.TableName ?? '?') + (input.IndexName ? `/index/${input.IndexName}` : '');
      return [{ action: `dynamodb:${op}`, resource }];
    }
    case 'S3Client': {
      const bucket = input.Bucket ?? '?';
      const key = input.Key ?? '*';
      if (op === 'ListObjectsV2' || op === 'ListObjects') return [{ action: 's3:ListBucket', resource: `arn:aws:s3:::${bucket}` }];
      if (op === 'GetObject' || op === 'HeadObject') return [{ action: 's3:GetObject', resource: object(bucket, key) }];
      if (['PutObject', 'CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload'].includes(op))
        return [{ action: 's3:PutObject', resource: object(bucket, key) }];
      if (op === 'DeleteObject' || op === 'DeleteObjects') return [{ action: 's3:DeleteObject', resource: object(bucket, key) }];
      if (op === 'CopyObject') {
        const source = decodeURIComponent((input.CopySource ?? '?').replace(/^\//, ''));
        return [
          { action: 's3:PutObject', resource: object(bucket, key) },
          { action: 's3:GetObject', resource: `arn:aws:s3:::${source}` },
        ];
      }
      return [{ action: `s3:${op}`, resource: object(bucket, key) }];
    }
    case 'SecretsManagerClient':
      return [{ action: `secretsmanager:${op}`, resource: input.SecretId ?? '?' }];
    case 'ApiGatewayManagementApiClient':
      return [
        {
          action: 'execute-api:ManageConnections',
          resource: `arn:aws:execute-api:${REGION}:${ACCOUNT}:${webSocketApi.id}/${webSocketApi.stage}/${op === 'DeleteConnection' ? 'DELETE' : op === 'GetConnection' ? 'GET' : 'POST'}/@connections/${input.ConnectionId ?? '?'}`,
        },
      ];
    case 'SQSClient':
      // The queue's URL ends with its name: https://sqs.{region}.amazonaws.com/{account}/{name}.
      return [{ action: `sqs:${op}`, resource: `arn:aws:sqs:${REGION}:${ACCOUNT}:${(input.QueueUrl ?? '?').split('/').at(-1)}` }];
    case 'SESv2Client':
      return [{ action: `ses:${op}`, resource: `arn:aws:ses:${REGION}:${ACCOUNT}:identity/${input.FromEmailAddress ?? '?'}` }];
    default:
      return [{ action: `${call.client}:${op}`, resource: '?' }];
  }
}

/** A template value (ARN with Refs, GetAtts and Joins) as the local ARN it stands for. */
export function resolveArn(value: unknown, template: Template, names: Names): string {
  if (typeof value === 'string') return value;
  if (!value || typeof value !== 'object') return String(value);
  const v = value as Record<string, any>;
  if ('Ref' in v) {
    const id = String(v.Ref);
    if (id === 'AWS::Partition') return 'aws';
    if (id === 'AWS::Region') return REGION;
    if (id === 'AWS::AccountId') return ACCOUNT;
    if (id === 'AWS::URLSuffix') return 'amazonaws.com';
    const type = template.Resources[id]?.Type;
    if (type === 'AWS::SecretsManager::Secret') return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${id}`;
    if (type === 'AWS::DynamoDB::GlobalTable' || type === 'AWS::DynamoDB::Table') return names.tableName;
    if (type === 'AWS::S3::Bucket') return id.startsWith('Attachments') ? names.bucketName : `bucket-${id}`;
    if (type === 'AWS::SQS::Queue') return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${id}`; // a queue's Ref is its URL
    return id; // API ids and the like: the logical id stands for the physical one
  }
  if ('Fn::GetAtt' in v) {
    const [id, attribute] = v['Fn::GetAtt'] as [string, string];
    const type = template.Resources[id]?.Type;
    if (attribute === 'Arn' && (type === 'AWS::DynamoDB::GlobalTable' || type === 'AWS::DynamoDB::Table'))
      return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${names.tableName}`;
    if (attribute === 'Arn' && type === 'AWS::SQS::Queue') return `arn:aws:sqs:${REGION}:${ACCOUNT}:${id}`;
    if (attribute === 'Arn' && type === 'AWS::S3::Bucket')
      return `arn:aws:s3:::${id.startsWith('Attachments') ? names.bucketName : `bucket-${id}`}`;
    return `${id}.${attribute}`;
  }
  if ('Fn::Join' in v) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => resolveArn(part, template, names)).join(separator);
  }
  return JSON.stringify(value);
}

const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );

/** The Allow statements of a role's policies in the template (actions and resources resolved). */
export function roleStatements(assembly: Assembly, roleId: string, names: Names): Statement[] {
  const statements: Statement[] = [];
  for (const resource of Object.values(assembly.template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const roles = (resource.Properties?.Roles ?? []) as Array<{ Ref?: string }>;
    if (!roles.some((r) => r.Ref === roleId)) continue;
    for (const s of resource.Properties?.PolicyDocument?.Statement ?? []) {
      if (s.Effect !== 'Allow') continue;
      statements.push({
        actions: [s.Action].flat() as string[],
        resources: [s.Resource].flat().map((r: unknown) => resolveArn(r, assembly.template, names)),
      });
    }
  }
  return statements;
}

/** Whether the statements allow a need (conditions not evaluated: they only narrow further). */
export function allows(statements: Statement[], need: Need): boolean {
  return statements.some((s) => s.actions.some((a) => glob(a).test(need.action)) && s.resources.some((r) => glob(r).test(need.resource)));
}

/** One granted action on one resource pattern that no function of the role was seen using. */
export interface UnusedGrant {
  role: string;
  functions: string[];
  action: string;
  resource: string;
}

export function unusedGrants(statements: Statement[], needs: Need[], role: string, functions: string[]): UnusedGrant[] {
  const unused: UnusedGrant[] = [];
  for (const s of statements)
    for (const action of s.actions)
      for (const resource of s.resources)
        if (!needs.some((n) => glob(action).test(n.action) && glob(resource).test(n.resource)))
          unused.push({ role, functions, action, resource });
  return unused;
}
