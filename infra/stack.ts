import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ApiFunctions, createHttpApi } from './constructs/api-functions';
import { DataStore } from './constructs/data';
import { ExportWorker } from './constructs/export-worker';
import { Functions } from './constructs/functions';
import { Notifications, SOCKET_PING_ENVIRONMENT, createSocketApi } from './constructs/notifications';
import { WebFront } from './constructs/web-front';

/** Settings that reach the functions' environment; unset ones keep shared/config.ts defaults. */
export interface PryvApiStackProps extends StackProps {
  /** Public base URL (no trailing slash). Default: the CloudFront distribution's own address. */
  publicUrl?: string;
  trustedApps?: string;
  serviceName?: string;
  /** Comma-separated list, or `*` for any (Pryv `invitationTokens`). */
  invitationTokens?: string;
  /** Sender address of mails (password reset, MFA codes), verified in SES; unset: no mail is sent. */
  mailFrom?: string;
  memorySize?: number;
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

    const data = new DataStore(this);
    // Both APIs exist before the functions, so that the distribution in front of them can be
    // the functions' default PUBLIC_URL without a cycle (only routes depend on functions).
    const httpApi = createHttpApi(this);
    const sockets = createSocketApi(this);
    const web = new WebFront(this, { httpApi, webSocketApi: sockets.api, webSocketStageName: sockets.stage.stageName });

    const settings: Record<string, string | undefined> = {
      PUBLIC_URL: props.publicUrl?.replace(/\/+$/, '') ?? `https://${web.distribution.distributionDomainName}`,
      TRUSTED_APPS: props.trustedApps,
      SERVICE_NAME: props.serviceName,
      INVITATION_TOKENS: props.invitationTokens,
      MAIL_FROM: props.mailFrom,
    };
    const environment: Record<string, string> = { ...SOCKET_PING_ENVIRONMENT };
    for (const [name, value] of Object.entries(settings)) if (value !== undefined) environment[name] = value;
    const functions = new Functions(this, {
      data,
      webSocketApi: sockets.api,
      webSocketStage: sockets.stage,
      environment,
      memorySize: props.memorySize,
      mailFrom: props.mailFrom,
    });

    new ApiFunctions(this, { httpApi, functions });
    const notifications = new Notifications(this, { data, sockets, functions });
    const exportWorker = new ExportWorker({ data, functions });

    new CfnOutput(this, 'ApiUrl', { value: httpApi.apiEndpoint });
    new CfnOutput(this, 'WebSocketUrl', { value: sockets.stage.url });
    new CfnOutput(this, 'DistributionDomainName', { value: web.distribution.distributionDomainName });
    new CfnOutput(this, 'PublicUrl', { value: environment.PUBLIC_URL! });
    new CfnOutput(this, 'TableName', { value: data.table.tableName });
    new CfnOutput(this, 'BucketName', { value: data.bucket.bucketName });
    new CfnOutput(this, 'AdminKeySecretArn', { value: data.adminKey.secretArn });
    new CfnOutput(this, 'FanoutDlqUrl', { value: notifications.fanoutDlq.queueUrl });
    new CfnOutput(this, 'ExportWorkerDlqUrl', { value: exportWorker.dlq.queueUrl });
  }
}
