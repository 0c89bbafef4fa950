import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { AUDIT_DELETION_MODES, NOTIFICATION_SCOPES } from '../shared/config';
import { ApiFunctions, createHttpApi } from './constructs/api-functions';
import { type BackupSetting, Backups } from './constructs/backups';
import { DataStore, type KmsKeySetting } from './constructs/data';
import { ExportWorker } from './constructs/export-worker';
import { Functions } from './constructs/functions';
import { createSocketApi, Notifications, SOCKET_PING_ENVIRONMENT } from './constructs/notifications';
import { metricsNamespace, Observability } from './constructs/observability';
import { type CustomDomain, type WafSetting, WebFront } from './constructs/web-front';

/**
 * The deploy settings, read from the CDK context and checked by infra/settings.ts. Those that
 * reach the functions' environment keep the shared/config.ts defaults when unset.
 */
export interface PryvApiStackProps extends StackProps {
  /** Public base URL (no trailing slash). Default: the custom domain, else the CloudFront distribution's own address. */
  publicUrl?: string;
  /** A name for the distribution, with its us-east-1 ACM certificate (TLS 1.2 minimum). */
  customDomain?: CustomDomain;
  trustedApps?: string;
  serviceName?: string;
  /** Service-info links and the pages' branding (SERVICE_HOME, SERVICE_SUPPORT, SERVICE_TERMS, SERVICE_PRIVACY, SERVICE_LOGO, colours). */
  serviceHome?: string;
  serviceSupport?: string;
  serviceTerms?: string;
  servicePrivacy?: string;
  serviceLogo?: string;
  serviceAccentColor?: string;
  serviceBackgroundColor?: string;
  /** `adminToken`, `personalToken` or both, comma-separated (ACCOUNT_DELETION). */
  accountDeletion?: string;
  auditOnAccountDeletion?: (typeof AUDIT_DELETION_MODES)[number];
  auditRetentionDays?: number;
  /** Who hears of a change: `access` (default, what its access may read) or `user` (every change, as Pryv.io). */
  notificationScope?: (typeof NOTIFICATION_SCOPES)[number];
  /** `false`: events and accesses are written without `integrity` (INTEGRITY=off). Default: with. */
  integrity?: boolean;
  /** `false`: every `events.get` is read from the table, none answered from a container's kept answers (EVENTS_ANSWER_CACHE=off). Default: kept. */
  eventsAnswerCache?: boolean;
  /** Comma-separated list, or `*` for any (Pryv `invitationTokens`). */
  invitationTokens?: string;
  /** Sender address of mails (password reset, MFA codes), verified in SES; unset: no mail is sent. */
  mailFrom?: string;
  memorySize?: number;
  /** Ship source maps with the functions and turn them on (stack traces name source lines; bigger bundles, slower cold starts). Default: off. */
  sourceMaps?: boolean;
  /** Customer-managed KMS key for the table, bucket, secrets, logs and backups. Default: AWS-owned and AWS-managed keys. */
  kmsKey?: KmsKeySetting;
  /** Level of the functions' logs (LOG_LEVEL: debug, info, warn, error, silent). Default: info. */
  logLevel?: string;
  /** Share of calls (0–1) logged at debug level whatever the level (POWERTOOLS_LOGGER_SAMPLE_RATE). Default: none. */
  logDebugSampleRate?: number;
  /** X-Ray tracing of every function (Powertools Tracer, bundled only then). Default: off. */
  tracing?: boolean;
  /** SNS topic the alarms notify. Default: none (the alarms exist, with no action). */
  alarmTopicArn?: string;
  /** A WAF web ACL on the distribution. Default: none. */
  waf?: WafSetting;
  /** Daily AWS Backup of the table and the bucket. Default: none (point-in-time recovery only). */
  backup?: BackupSetting;
}

/**
 * The whole service, from the parts in infra/constructs/. Each part adds its resources to
 * this stack directly, not under a construct of its own: a resource's logical id comes from
 * its construct path, so a new level would rename, hence replace, deployed resources (the
 * retained table and buckets among them) and restart the stream mappings from LATEST.
 */
export class PryvApiStack extends Stack {
  constructor(scope: Construct, id: string, props: PryvApiStackProps = {}) {
    super(scope, id, props);

    const data = new DataStore(this, { kmsKey: props.kmsKey });
    // Both APIs exist before the functions, so that the distribution in front of them can be
    // the functions' default PUBLIC_URL without a cycle (only routes depend on functions).
    const http = createHttpApi(this, data.key);
    const httpApi = http.api;
    const sockets = createSocketApi(this, data.key);
    const web = new WebFront(this, {
      httpApi,
      webSocketApi: sockets.api,
      webSocketStageName: sockets.stage.stageName,
      accessLogs: data.accessLogs,
      uploads: data.bucket,
      customDomain: props.customDomain,
      waf: props.waf,
      key: data.key,
    });

    const settings: Record<string, string | undefined> = {
      PUBLIC_URL:
        props.publicUrl?.replace(/\/+$/, '') ??
        (props.customDomain ? `https://${props.customDomain.domain}` : `https://${web.distribution.distributionDomainName}`),
      TRUSTED_APPS: props.trustedApps,
      SERVICE_NAME: props.serviceName,
      SERVICE_HOME: props.serviceHome,
      SERVICE_SUPPORT: props.serviceSupport,
      SERVICE_TERMS: props.serviceTerms,
      SERVICE_PRIVACY: props.servicePrivacy,
      SERVICE_LOGO: props.serviceLogo,
      SERVICE_ACCENT_COLOR: props.serviceAccentColor,
      SERVICE_BACKGROUND_COLOR: props.serviceBackgroundColor,
      ACCOUNT_DELETION: props.accountDeletion,
      AUDIT_ON_ACCOUNT_DELETION: props.auditOnAccountDeletion,
      AUDIT_RETENTION_DAYS: props.auditRetentionDays?.toString(),
      NOTIFICATION_SCOPE: props.notificationScope,
      INTEGRITY: props.integrity === false ? 'off' : undefined,
      EVENTS_ANSWER_CACHE: props.eventsAnswerCache === false ? 'off' : undefined,
      INVITATION_TOKENS: props.invitationTokens,
      MAIL_FROM: props.mailFrom,
    };
    // Logs, metrics and traces (shared/log.ts, shared/metrics.ts, shared/tracing.ts).
    settings.LOG_LEVEL = props.logLevel;
    settings.POWERTOOLS_LOGGER_SAMPLE_RATE = props.logDebugSampleRate?.toString();
    settings.POWERTOOLS_METRICS_NAMESPACE = metricsNamespace(this);
    settings.TRACING = props.tracing ? 'on' : undefined;
    const environment: Record<string, string> = { ...SOCKET_PING_ENVIRONMENT };
    for (const [name, value] of Object.entries(settings)) if (value !== undefined) environment[name] = value;
    const functions = new Functions(this, {
      data,
      webSocketApi: sockets.api,
      webSocketStage: sockets.stage,
      environment,
      memorySize: props.memorySize,
      mailFrom: props.mailFrom,
      sourceMaps: props.sourceMaps,
      tracing: props.tracing,
    });

    new ApiFunctions(this, { httpApi, functions });
    const notifications = new Notifications(this, { data, sockets, functions });
    const exportWorker = new ExportWorker({ data, functions });
    if (props.backup) new Backups(this, { data, setting: props.backup });
    // Last: it watches every function and queue made above.
    const observability = new Observability(this, {
      httpApi,
      functions,
      fanout: notifications.fanout,
      deadLetterQueues: [notifications.fanoutDlq, exportWorker.dlq],
      alarmTopicArn: props.alarmTopicArn,
    });

    new CfnOutput(this, 'ApiUrl', { value: httpApi.apiEndpoint });
    new CfnOutput(this, 'WebSocketUrl', { value: sockets.stage.url });
    new CfnOutput(this, 'DistributionDomainName', { value: web.distribution.distributionDomainName });
    new CfnOutput(this, 'PublicUrl', { value: environment.PUBLIC_URL! });
    new CfnOutput(this, 'TableName', { value: data.table.tableName });
    new CfnOutput(this, 'BucketName', { value: data.bucket.bucketName });
    new CfnOutput(this, 'AdminKeySecretArn', { value: data.adminKey.secretArn });
    new CfnOutput(this, 'FanoutDlqUrl', { value: notifications.fanoutDlq.queueUrl });
    new CfnOutput(this, 'AccessLogsBucketName', { value: data.accessLogs.bucketName });
    new CfnOutput(this, 'HttpApiAccessLogGroup', { value: http.accessLogs.logGroupName });
    new CfnOutput(this, 'WebSocketAccessLogGroup', { value: sockets.accessLogs.logGroupName });
    new CfnOutput(this, 'ExportWorkerDlqUrl', { value: exportWorker.dlq.queueUrl });
    new CfnOutput(this, 'DashboardName', { value: observability.dashboard.dashboardName });
  }
}
