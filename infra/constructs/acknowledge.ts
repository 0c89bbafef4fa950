import { Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { IConstruct } from 'constructs';

/**
 * Accepts one cdk-nag finding on a construct and everything under it, with the reason in
 * one line (the rule packs run at every synth: see infra/checks.ts). Placed on the narrowest
 * construct the reason is true of.
 */
export function acknowledge(scope: IConstruct, rule: string, reason: string): void {
  // Once per construct and rule: a role shared by many functions is acknowledged by each.
  const recorded = scope.node.metadata.some(
    (entry) =>
      entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY &&
      Object.keys(entry.data as object).some((id) => id.replace(/^annotation::/i, '') === rule),
  );
  if (!recorded) Validations.of(scope).acknowledge({ id: rule, reason });
}

/** The id cdk-nag gives the finding "this resource ARN has a wildcard" (AwsSolutions-IAM5). */
export function wildcardResourceRule(scope: IConstruct, arn: string): string {
  return `AwsSolutions-IAM5[Resource::${flattenCfnReference(Stack.of(scope).resolve(arn))}]`;
}

/** The id cdk-nag gives the finding "this role uses the AWS managed policy NAME" (AwsSolutions-IAM4). */
export function managedPolicyRule(name: string): string {
  return `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${name}]`;
}

/**
 * Accepts every wildcard (AwsSolutions-IAM5) its policy holds now, for roles whose policy CDK
 * writes (its own deployment helpers): call it once their grants are made.
 */
export function acknowledgeWildcards(role: iam.IRole, reason: string): void {
  const policy = role.node.tryFindChild('DefaultPolicy') as iam.Policy | undefined;
  if (!policy) return;
  const document = Stack.of(role).resolve(policy.document) as {
    Statement?: Array<{ Effect: string; Action: string | string[]; Resource: unknown }>;
  };
  const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
  for (const statement of document.Statement ?? []) {
    if (statement.Effect !== 'Allow') continue;
    for (const action of list(statement.Action))
      if (action.includes('*')) acknowledge(role, `AwsSolutions-IAM5[Action::${action}]`, reason);
    for (const resource of list(statement.Resource).map(flattenCfnReference))
      if (resource.includes('*')) acknowledge(role, `AwsSolutions-IAM5[Resource::${resource}]`, reason);
  }
}

/** A log group without the data key is encrypted by CloudWatch Logs itself: said once for every group. */
export function acknowledgeLogEncryption(group: logs.LogGroup, key: kms.IKey | undefined): void {
  if (!key)
    acknowledge(
      group,
      'HIPAA.Security-CloudWatchLogGroupEncrypted',
      'Encrypted by CloudWatch Logs; a customer-managed key is the kmsKey setting',
    );
}
