import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { MAIN_TABLE } from '../../shared/store/table-definition';
import { BUCKET_CORS } from '../bucket-cors';
import { acknowledge } from './acknowledge';

/** Export archives are removed after a week; the user asks for a new one. */
export const EXPORT_ARCHIVE_DAYS = 7;
/**
 * Overwritten and deleted attachments stay recoverable (as noncurrent S3 versions) as long as
 * the table's point-in-time window keeps deleted items: after that, a deletion is final.
 */
export const DELETED_DATA_DAYS = 35;
/** S3 server access logs are kept as long as the API's own audit records (AUDIT_RETENTION_DAYS). */
export const ACCESS_LOG_DAYS = 365;
/** Where the S3 server access logs of each bucket go, in the access-logs bucket. */
export const ACCESS_LOG_PREFIXES = { attachments: 's3/attachments/', webPages: 's3/web-pages/' } as const;

/** `kmsKey` setting: a key made by the stack, or an existing one (see the README's settings table). */
export type KmsKeySetting = { create: true } | { arn: string };

export interface DataStoreProps {
  /** Unset: AWS-owned and AWS-managed keys (no key to manage or pay for). */
  kmsKey?: KmsKeySetting;
}

const NO_REPLICA =
  'A replica needs a bucket in a second region, outside this one-region stack; the backup option keeps copies in AWS Backup';
const AWS_MANAGED_KEY = 'Customer-managed key is the kmsKey setting (off by default: key cost and care, see the README settings)';

/**
 * What the service keeps: the table, the attachments bucket (both retained when the stack is
 * deleted) and the two generated secrets, added to the stack it is given (see infra/stack.ts).
 */
export class DataStore {
  readonly table: dynamodb.TableV2;
  readonly bucket: s3.Bucket;
  /** The customer-managed key of the data, secrets and logs, when the `kmsKey` setting asks for one. */
  readonly key?: kms.IKey;
  /** S3 server access logs of both buckets (under ACCESS_LOG_PREFIXES), retained. */
  readonly accessLogs: s3.Bucket;
  /** Key of the system API; only the functions declaring `adminKey` may read it. */
  readonly adminKey: secretsmanager.Secret;
  /** Signs attachment read tokens (Pryv API reference §2.2.6); only functions declaring `filesSecret` may read it. */
  readonly filesSecret: secretsmanager.Secret;

  constructor(scope: Construct, props: DataStoreProps = {}) {
    this.key = props.kmsKey && dataKey(scope, props.kmsKey);

    // Holds user data: never deleted with the stack.
    this.table = new dynamodb.TableV2(scope, 'MainTable', {
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
      dynamoStream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES, // change fan-out (webhooks, sockets), export jobs
      removalPolicy: RemovalPolicy.RETAIN,
      ...(this.key ? { encryption: dynamodb.TableEncryptionV2.customerManagedKey(this.key) } : {}),
    });

    // S3 server access logs of both buckets. S3 delivers them only to a bucket encrypted with
    // S3-managed keys; retained, as access records are evidence.
    this.accessLogs = new s3.Bucket(scope, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        { expiration: Duration.days(ACCESS_LOG_DAYS), noncurrentVersionExpiration: Duration.days(1) },
        { expiredObjectDeleteMarker: true },
      ],
    });
    acknowledge(
      this.accessLogs,
      'AwsSolutions-S1',
      'It is the access-log destination: logging it into itself would log its own log deliveries',
    );
    acknowledge(
      this.accessLogs,
      'HIPAA.Security-S3BucketLoggingEnabled',
      'It is the access-log destination: logging it into itself would log its own log deliveries',
    );
    acknowledge(
      this.accessLogs,
      'HIPAA.Security-S3DefaultEncryptionKMS',
      'S3 delivers server access logs only to buckets encrypted with S3-managed keys',
    );
    acknowledge(this.accessLogs, 'HIPAA.Security-S3BucketReplicationEnabled', NO_REPLICA);

    this.bucket = new s3.Bucket(scope, 'Attachments', {
      ...(this.key
        ? { encryption: s3.BucketEncryption.KMS, encryptionKey: this.key, bucketKeyEnabled: true } // one KMS call per object batch, not per request
        : { encryption: s3.BucketEncryption.S3_MANAGED }),
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL, // reached through the API or short-lived presigned URLs only
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
      // Versions protect from mistaken or malicious overwrites and deletions, and let AWS Backup copy the bucket.
      versioned: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: ACCESS_LOG_PREFIXES.attachments,
      lifecycleRules: [
        // Presigned uploads never confirmed (shared/store/files.ts `pending/`).
        {
          prefix: 'pending/',
          expiration: Duration.days(1),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        // Account exports (shared/store/exports.ts) and archives uploaded for an import.
        {
          prefix: 'exports/',
          expiration: Duration.days(EXPORT_ARCHIVE_DAYS),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        {
          prefix: 'imports/',
          expiration: Duration.days(1),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        // What users deleted or replaced goes for good after the recovery window.
        { noncurrentVersionExpiration: Duration.days(DELETED_DATA_DAYS), expiredObjectDeleteMarker: true },
      ],
      // Browsers PUT files straight to presigned URLs and follow download redirects (infra/bucket-cors.ts).
      cors: [
        {
          allowedMethods: BUCKET_CORS.allowedMethods.map((method) => s3.HttpMethods[method]),
          allowedOrigins: BUCKET_CORS.allowedOrigins,
          allowedHeaders: BUCKET_CORS.allowedHeaders,
          maxAge: BUCKET_CORS.maxAgeS,
        },
      ],
    });
    acknowledge(this.bucket, 'HIPAA.Security-S3BucketReplicationEnabled', NO_REPLICA);
    if (!this.key) acknowledge(this.bucket, 'HIPAA.Security-S3DefaultEncryptionKMS', AWS_MANAGED_KEY);

    // Generated by CloudFormation: the keys never appear in the template or in an environment.
    this.adminKey = new secretsmanager.Secret(scope, 'AdminKey', {
      description: 'Pryv API admin key (system API, Authorization header)',
      generateSecretString: { excludePunctuation: true, passwordLength: 48 },
      encryptionKey: this.key,
    });
    const adminKeyRotation = 'Rotated by the operator: the admin clients must get the new key at the same time';
    acknowledge(this.adminKey, 'AwsSolutions-SMG4', adminKeyRotation);
    acknowledge(this.adminKey, 'HIPAA.Security-SecretsManagerRotationEnabled', adminKeyRotation);
    this.filesSecret = new secretsmanager.Secret(scope, 'FilesReadTokenSecret', {
      description: 'Pryv API secret of attachment read tokens',
      generateSecretString: { excludePunctuation: true, passwordLength: 48 },
      encryptionKey: this.key,
    });
    const readTokenRotation = 'Attachment read tokens given out are derived from it: a rotation would break every link issued';
    acknowledge(this.filesSecret, 'AwsSolutions-SMG4', readTokenRotation);
    acknowledge(this.filesSecret, 'HIPAA.Security-SecretsManagerRotationEnabled', readTokenRotation);
    if (!this.key)
      for (const secret of [this.adminKey, this.filesSecret])
        acknowledge(secret, 'HIPAA.Security-SecretsManagerUsingKMSKey', AWS_MANAGED_KEY);
  }
}

/**
 * The `kmsKey` setting's key: made here (rotated yearly, kept when the stack goes, as the
 * data it encrypts is), or an existing one. CloudWatch Logs may use it for the log groups.
 */
function dataKey(scope: Construct, setting: KmsKeySetting): kms.IKey {
  if ('arn' in setting) return kms.Key.fromKeyArn(scope, 'DataKey', setting.arn);
  const key = new kms.Key(scope, 'DataKey', {
    description: 'Pryv API: user data, secrets, logs and backups',
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const stack = Stack.of(scope);
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKey', 'kms:DescribeKey'],
      resources: ['*'], // in a key policy, "*" is this key
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: '*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
      },
    }),
  );
  return key;
}
