import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { acknowledge, managedPolicyRule } from './acknowledge';
import type { DataStore } from './data';

/** `backup=daily` setting: how long each daily recovery point is kept. */
export interface BackupSetting {
  retentionDays: number;
}

/** AWS Backup's own policies for backing up and restoring DynamoDB and S3. */
const BACKUP_POLICIES = [
  'service-role/AWSBackupServiceRolePolicyForBackup',
  'service-role/AWSBackupServiceRolePolicyForRestores',
  'AWSBackupServiceRolePolicyForS3Backup',
  'AWSBackupServiceRolePolicyForS3Restore',
];

/**
 * Daily AWS Backup recovery points of the table and the attachments bucket, into a vault of
 * their own (encrypted with the data key when there is one; retained with the data). Point-in-
 * time recovery covers the last 35 days to the second; these copies cover mistakes found later
 * and survive the table's deletion. Added to the stack it is given (see infra/stack.ts).
 */
export class Backups {
  readonly vault: backup.BackupVault;
  readonly plan: backup.BackupPlan;

  constructor(scope: Construct, props: { data: DataStore; setting: BackupSetting }) {
    const { data, setting } = props;
    this.vault = new backup.BackupVault(scope, 'BackupVault', { encryptionKey: data.key, removalPolicy: RemovalPolicy.RETAIN });
    this.plan = new backup.BackupPlan(scope, 'BackupPlan', {
      backupVault: this.vault,
      backupPlanRules: [
        new backup.BackupPlanRule({
          ruleName: 'Daily',
          scheduleExpression: events.Schedule.cron({ hour: '3', minute: '0' }), // 03:00 UTC
          startWindow: Duration.hours(1),
          completionWindow: Duration.hours(8),
          deleteAfter: Duration.days(setting.retentionDays),
        }),
      ],
    });
    const role = new iam.Role(scope, 'BackupRole', {
      assumedBy: new iam.ServicePrincipal('backup.amazonaws.com'),
      description: 'AWS Backup: back up and restore the Pryv table and attachments bucket',
      managedPolicies: BACKUP_POLICIES.map((name) => iam.ManagedPolicy.fromAwsManagedPolicyName(name)),
    });
    for (const name of BACKUP_POLICIES)
      acknowledge(role, managedPolicyRule(name), "AWS Backup's own service policy, kept current by AWS as the services change");
    if (data.key)
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: [
            'kms:Decrypt',
            'kms:Encrypt',
            'kms:GenerateDataKey',
            'kms:GenerateDataKeyWithoutPlaintext',
            'kms:ReEncryptFrom',
            'kms:ReEncryptTo',
            'kms:DescribeKey',
            'kms:CreateGrant',
          ],
          resources: [data.key.keyArn],
        }),
      );
    acknowledge(role, 'HIPAA.Security-IAMNoInlinePolicy', 'Its one policy (use of the data key) belongs to this role only');
    this.plan.addSelection('Data', {
      role,
      resources: [backup.BackupResource.fromArn(data.table.tableArn), backup.BackupResource.fromArn(data.bucket.bucketArn)],
    });
  }
}
