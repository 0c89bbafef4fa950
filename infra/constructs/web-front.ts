import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ArnFormat, Aws, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { HttpApi, WebSocketApi } from 'aws-cdk-lib/aws-apigatewayv2';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';
import {
  ASSETS_PATH_PREFIX,
  folderSecurityHeaders,
  OPENAPI_PATH,
  PAGE_FOLDERS,
  STORAGE_UPLOAD_FOLDERS,
  storageOrigin,
} from '../../shared/http/web-pages';
import { apiDescription } from '../openapi';
import { VENDOR_FILES } from '../web-vendor-files';
import { apiAccessLogGroup } from './access-logs';
import { acknowledge, acknowledgeWildcards, managedPolicyRule } from './acknowledge';
import { ACCESS_LOG_PREFIXES } from './data';

const WEB_PAGES_DIR = fileURLToPath(new URL('../../shared/web', import.meta.url));

/** Rewrites viewer requests: `POST /{username}/` (callBatch) → `/{username}`, as API Gateway has no trailing-slash routes. */
export const API_PATH_FUNCTION = `function handler(event) {
  var r = event.request;
  if (r.uri.length > 1 && r.uri.charAt(r.uri.length - 1) === '/') r.uri = r.uri.replace(/\\/+$/, '');
  return r;
}`;
/** The WebSocket API listens at its stage root: `/socket.io/?EIO=4…` → `/{stage}/?EIO=4…` (the origin path adds the stage). */
export const SOCKET_PATH_FUNCTION = `function handler(event) {
  var r = event.request;
  r.uri = '/';
  return r;
}`;
/**
 * Web pages: a folder URL serves its index.html; a folder named without its trailing slash
 * (`/account`, `/www/assets`: a last segment without a dot, as every page file has one) is
 * redirected to it, query kept, so that the page's relative links resolve inside the folder.
 */
export const PAGE_PATH_FUNCTION = `function handler(event) {
  var r = event.request;
  var uri = r.uri;
  if (uri.charAt(uri.length - 1) === '/') {
    r.uri = uri + 'index.html';
    return r;
  }
  if (uri.substring(uri.lastIndexOf('/') + 1).indexOf('.') !== -1) return r;
  var query = [];
  for (var name in r.querystring) {
    var param = r.querystring[name];
    var values = param.multiValue ? param.multiValue : [param];
    for (var i = 0; i < values.length; i++) query.push(values[i].value === '' ? name : name + '=' + values[i].value);
  }
  var location = uri + '/' + (query.length > 0 ? '?' + query.join('&') : '');
  return { statusCode: 301, statusDescription: 'Moved Permanently', headers: { location: { value: location } } };
}`;

/** `domain` and `certificateArn` settings: the name CloudFront answers for, with its us-east-1 certificate. */
export interface CustomDomain {
  domain: string;
  certificateArn: string;
}

/** `waf` setting: a web ACL made by the stack (in us-east-1 only), or an existing one. */
export type WafSetting = { create: true; rateLimit: number } | { arn: string };

/**
 * Rules of the AWS common rule set that only count: they read request bodies, and bodies here
 * are users' own data (event content, webhook URLs), which those rules would refuse as attacks.
 */
export const WAF_COUNTED_BODY_RULES = [
  'SizeRestrictions_BODY',
  'CrossSiteScripting_BODY',
  'GenericLFI_BODY',
  'GenericRFI_BODY',
  'EC2MetaDataSSRF_BODY',
];

export interface WebFrontProps {
  httpApi: HttpApi;
  webSocketApi: WebSocketApi;
  /** The WebSocket API stage that `/socket.io/*` reaches. */
  webSocketStageName: string;
  /** Where the pages bucket's S3 server access logs go. */
  accessLogs: s3.IBucket;
  /** The attachments bucket: the uploading pages (STORAGE_UPLOAD_FOLDERS) may PUT to its presigned URLs. */
  uploads: s3.IBucket;
  customDomain?: CustomDomain;
  waf?: WafSetting;
  /** Encrypts the WAF log group, when there is a data key. */
  key?: kms.IKey;
}

/**
 * One origin for everything a user reaches, in Pryv's URL layout: a CloudFront distribution
 * sending the API by default, `/socket.io/*` to the WebSocket API, and the web pages
 * (shared/web/) to a bucket filled at every deployment. Added to the stack it is given
 * (see infra/stack.ts).
 */
export class WebFront {
  readonly distribution: cloudfront.Distribution;

  constructor(scope: Construct, props: WebFrontProps) {
    // Static web pages (consent, login, registration, password reset): shared/web → S3.
    const webBucket = new s3.Bucket(scope, 'WebPages', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL, // served through CloudFront only (origin access control)
      enforceSSL: true,
      removalPolicy: RemovalPolicy.DESTROY, // rebuilt from the repository at every deployment
      autoDeleteObjects: true,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: ACCESS_LOG_PREFIXES.webPages,
    });
    const fromRepository = 'Public pages rebuilt from the repository at every deployment: the repository is their history and their copy';
    acknowledge(webBucket, 'HIPAA.Security-S3BucketVersioningEnabled', fromRepository);
    acknowledge(webBucket, 'HIPAA.Security-S3BucketReplicationEnabled', fromRepository);
    acknowledge(
      webBucket,
      'HIPAA.Security-S3DefaultEncryptionKMS',
      'Public pages, no user data; CloudFront reads them through origin access control',
    );

    const noCache = {
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
    };
    const executeApiDomain = (apiId: string) => `${apiId}.execute-api.${Stack.of(scope).region}.amazonaws.com`;
    // The same headers the local gateway sends with the pages (shared/http/web-pages.ts); the
    // uploading pages may also connect to the attachments bucket's own address, and no other.
    const stack = Stack.of(scope);
    const uploadOrigin = storageOrigin({ bucketName: props.uploads.bucketName, region: stack.region, urlSuffix: stack.urlSuffix });
    const securityHeadersOf = (folder: string): cloudfront.ResponseSecurityHeadersBehavior => ({
      contentSecurityPolicy: {
        contentSecurityPolicy: folderSecurityHeaders(folder, uploadOrigin)['Content-Security-Policy']!,
        override: true,
      },
      contentTypeOptions: { override: true },
      frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
      referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
    });
    const pageSecurityHeaders = securityHeadersOf('www');
    const pagesBehavior: cloudfront.BehaviorOptions = {
      origin: origins.S3BucketOrigin.withOriginAccessControl(webBucket),
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
      responseHeadersPolicy: new cloudfront.ResponseHeadersPolicy(scope, 'PageHeaders', {
        comment: 'Pryv web pages: CSP, no framing, no sniffing, no referrer',
        securityHeadersBehavior: pageSecurityHeaders,
      }),
      functionAssociations: [
        {
          eventType: cloudfront.FunctionEventType.VIEWER_REQUEST,
          function: new cloudfront.Function(scope, 'PagePathFunction', { code: cloudfront.FunctionCode.fromInline(PAGE_PATH_FUNCTION) }),
        },
      ],
    };
    const uploadingPagesHeaders = new cloudfront.ResponseHeadersPolicy(scope, 'UploadingPageHeaders', {
      comment: 'Pryv web pages that upload to presigned URLs: the page CSP, plus the attachments bucket',
      securityHeadersBehavior: securityHeadersOf(STORAGE_UPLOAD_FOLDERS[0]!),
    });
    const folderBehavior = (folder: string): cloudfront.BehaviorOptions =>
      STORAGE_UPLOAD_FOLDERS.includes(folder) ? { ...pagesBehavior, responseHeadersPolicy: uploadingPagesHeaders } : pagesBehavior;
    const pagePaths = [...PAGE_FOLDERS.map((folder) => `/${folder}/*`), OPENAPI_PATH];
    const anyOriginBehavior: cloudfront.BehaviorOptions = {
      ...pagesBehavior,
      responseHeadersPolicy: new cloudfront.ResponseHeadersPolicy(scope, 'AssetHeaders', {
        comment: 'Pryv service assets: any origin may load them',
        securityHeadersBehavior: pageSecurityHeaders,
        corsBehavior: {
          accessControlAllowOrigins: ['*'],
          accessControlAllowMethods: ['GET', 'HEAD'],
          accessControlAllowHeaders: ['*'],
          accessControlAllowCredentials: false,
          originOverride: true,
        },
      }),
    };
    const { customDomain } = props;
    this.distribution = new cloudfront.Distribution(scope, 'Distribution', {
      comment: 'Pryv API, Socket.IO and web pages under one origin',
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      ...(customDomain
        ? {
            domainNames: [customDomain.domain],
            certificate: acm.Certificate.fromCertificateArn(scope, 'Certificate', customDomain.certificateArn),
            minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
          }
        : {}),
      ...(props.waf ? { webAclId: 'arn' in props.waf ? props.waf.arn : webAcl(scope, props.waf.rateLimit, props.key).attrArn } : {}),
      defaultBehavior: {
        origin: new origins.HttpOrigin(executeApiDomain(props.httpApi.apiId), {
          protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
        }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        ...noCache,
        functionAssociations: [
          {
            eventType: cloudfront.FunctionEventType.VIEWER_REQUEST,
            function: new cloudfront.Function(scope, 'ApiPathFunction', { code: cloudfront.FunctionCode.fromInline(API_PATH_FUNCTION) }),
          },
        ],
      },
      additionalBehaviors: {
        '/socket.io/*': {
          origin: new origins.HttpOrigin(executeApiDomain(props.webSocketApi.apiId), {
            originPath: `/${props.webSocketStageName}`,
            protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
          }),
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
          ...noCache,
          functionAssociations: [
            {
              eventType: cloudfront.FunctionEventType.VIEWER_REQUEST,
              function: new cloudfront.Function(scope, 'SocketPathFunction', {
                code: cloudfront.FunctionCode.fromInline(SOCKET_PATH_FUNCTION),
              }),
            },
          ],
        },
        // Service assets (login button, styles) and the API description: loaded by apps on any origin.
        [`${ASSETS_PATH_PREFIX}*`]: anyOriginBehavior,
        [OPENAPI_PATH]: anyOriginBehavior,
        // `/account/…` and, redirected to it by PagePathFunction, `/account`.
        ...Object.fromEntries(
          PAGE_FOLDERS.flatMap((folder) => [`/${folder}/*`, `/${folder}`].map((path) => [path, folderBehavior(folder)])),
        ),
      },
    });
    const distribution = this.distribution;
    acknowledge(
      distribution,
      'AwsSolutions-CFR1',
      'A personal data API for users anywhere; a deployment may restrict countries on its distribution',
    );
    if (!props.waf)
      acknowledge(
        distribution,
        'AwsSolutions-CFR2',
        'WAF is the waf setting, off by default for its monthly cost (see the README settings)',
      );
    acknowledge(
      distribution,
      'AwsSolutions-CFR3',
      "CloudFront's standard logs always hold query strings, where Pryv clients may put tokens (?auth=); the API access logs record each call",
    );
    if (!customDomain)
      acknowledge(
        distribution,
        'AwsSolutions-CFR4',
        'The default *.cloudfront.net certificate cannot set a TLS minimum; the domain setting gets TLS 1.2',
      );

    const deployment = new s3deploy.BucketDeployment(scope, 'WebPagesDeployment', {
      sources: [
        s3deploy.Source.asset(WEB_PAGES_DIR),
        ...Object.entries(VENDOR_FILES).map(([key, file]) => s3deploy.Source.data(key, readFileSync(file, 'utf8'))),
        // The registry deployed with this stack, described (README "API reference"): a file,
        // not a function, as it changes only with a deployment.
        s3deploy.Source.data(OPENAPI_PATH.slice(1), JSON.stringify(apiDescription())),
      ],
      destinationBucket: webBucket,
      distribution,
      distributionPaths: pagePaths,
    });
    // CDK's own copy function (one per stack): its rights and runtime are CDK's, not ours to narrow.
    const cdkCopy = 'CDK BucketDeployment function, run at deployments only';
    const copyFunction = deployment.handlerRole.node.scope!;
    acknowledge(copyFunction, 'AwsSolutions-L1', `${cdkCopy}: CDK picks its runtime`);
    acknowledge(copyFunction, managedPolicyRule('service-role/AWSLambdaBasicExecutionRole'), `${cdkCopy}: writes its own logs`);
    acknowledgeWildcards(deployment.handlerRole, `${cdkCopy}: reads the pages asset, replaces every page object`);
    acknowledge(copyFunction, 'HIPAA.Security-IAMNoInlinePolicy', `${cdkCopy}: CDK writes its role's one policy`);
    acknowledge(copyFunction, 'HIPAA.Security-LambdaConcurrency', `${cdkCopy}: one run at a time by CloudFormation`);
    acknowledge(copyFunction, 'HIPAA.Security-LambdaDLQ', `${cdkCopy}: invoked synchronously by CloudFormation, which reports failures`);
    acknowledge(copyFunction, 'HIPAA.Security-LambdaInsideVPC', `${cdkCopy}: reaches only S3 and CloudFront`);
  }
}

/**
 * A web ACL for the distribution (`waf=create`): AWS's common and known-bad-inputs rule sets
 * (body rules counted, see WAF_COUNTED_BODY_RULES) and a per-IP rate limit over 5 minutes.
 */
function webAcl(scope: Construct, rateLimit: number, key: kms.IKey | undefined): wafv2.CfnWebACL {
  const visibility = (name: string) => ({ cloudWatchMetricsEnabled: true, metricName: name, sampledRequestsEnabled: true });
  const managed = (priority: number, name: string, counted: string[] = []): wafv2.CfnWebACL.RuleProperty => ({
    name,
    priority,
    overrideAction: { none: {} },
    statement: {
      managedRuleGroupStatement: {
        vendorName: 'AWS',
        name,
        ...(counted.length ? { ruleActionOverrides: counted.map((rule) => ({ name: rule, actionToUse: { count: {} } })) } : {}),
      },
    },
    visibilityConfig: visibility(name),
  });
  const acl = new wafv2.CfnWebACL(scope, 'WebAcl', {
    scope: 'CLOUDFRONT',
    description: 'Pryv API: AWS managed rules and a per-IP rate limit',
    defaultAction: { allow: {} },
    visibilityConfig: visibility('PryvApi'),
    rules: [
      {
        name: 'RateLimitPerIp',
        priority: 0,
        action: { block: {} },
        statement: { rateBasedStatement: { limit: rateLimit, evaluationWindowSec: 300, aggregateKeyType: 'IP' } },
        visibilityConfig: visibility('RateLimitPerIp'),
      },
      managed(1, 'AWSManagedRulesCommonRuleSet', WAF_COUNTED_BODY_RULES),
      managed(2, 'AWSManagedRulesKnownBadInputsRuleSet'),
    ],
  });
  // WAF logs whole requests: the token places (Authorization header, query string with ?auth=)
  // are redacted. WAF writes only to log groups named aws-waf-logs-…; the stack id's unique part
  // keeps the name free for a later stack of the same name, as this one is retained.
  const stackUuid = Fn.select(2, Fn.split('/', Aws.STACK_ID));
  const group = apiAccessLogGroup(scope, 'WafLogs', key, `aws-waf-logs-${Aws.STACK_NAME}-${stackUuid}`);
  new wafv2.CfnLoggingConfiguration(scope, 'WafLogging', {
    resourceArn: acl.attrArn,
    // The group's ARN without the ':*' that its Arn attribute ends with: WAF takes it so only.
    logDestinationConfigs: [
      Stack.of(scope).formatArn({
        service: 'logs',
        resource: 'log-group',
        resourceName: group.logGroupName,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    ],
    redactedFields: [{ singleHeader: { Name: 'authorization' } }, { queryString: {} }],
  });
  return acl;
}
