import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { HttpApi, WebSocketApi } from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { ASSETS_PATH_PREFIX, PAGE_FOLDERS, SECURITY_HEADERS } from '../../shared/http/web-pages';
import { VENDOR_FILES } from '../web-vendor-files';

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
/** Web pages: a folder URL serves its index.html. */
export const PAGE_PATH_FUNCTION = `function handler(event) {
  var r = event.request;
  if (r.uri.charAt(r.uri.length - 1) === '/') r.uri += 'index.html';
  return r;
}`;

export interface WebFrontProps {
  httpApi: HttpApi;
  webSocketApi: WebSocketApi;
  /** The WebSocket API stage that `/socket.io/*` reaches. */
  webSocketStageName: string;
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
    });

    const noCache = {
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
    };
    const executeApiDomain = (apiId: string) => `${apiId}.execute-api.${Stack.of(scope).region}.amazonaws.com`;
    const pageSecurityHeaders: cloudfront.ResponseSecurityHeadersBehavior = {
      contentSecurityPolicy: { contentSecurityPolicy: SECURITY_HEADERS['Content-Security-Policy']!, override: true },
      contentTypeOptions: { override: true },
      frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
      referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
    };
    const pagesBehavior: cloudfront.BehaviorOptions = {
      origin: origins.S3BucketOrigin.withOriginAccessControl(webBucket),
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
      // The same headers the local gateway sends with the pages (shared/http/web-pages.ts).
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
    const pagePaths = PAGE_FOLDERS.map((folder) => `/${folder}/*`);
    this.distribution = new cloudfront.Distribution(scope, 'Distribution', {
      comment: 'Pryv API, Socket.IO and web pages under one origin',
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      defaultBehavior: {
        origin: new origins.HttpOrigin(executeApiDomain(props.httpApi.apiId), { protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY }),
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
              function: new cloudfront.Function(scope, 'SocketPathFunction', { code: cloudfront.FunctionCode.fromInline(SOCKET_PATH_FUNCTION) }),
            },
          ],
        },
        // Service assets (login button, styles): loaded by apps on any origin.
        [`${ASSETS_PATH_PREFIX}*`]: {
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
        },
        ...Object.fromEntries(pagePaths.map((path) => [path, pagesBehavior])),
      },
    });
    new s3deploy.BucketDeployment(scope, 'WebPagesDeployment', {
      sources: [
        s3deploy.Source.asset(WEB_PAGES_DIR),
        ...Object.entries(VENDOR_FILES).map(([key, file]) => s3deploy.Source.data(key, readFileSync(file, 'utf8'))),
      ],
      destinationBucket: webBucket,
      distribution: this.distribution,
      distributionPaths: pagePaths,
    });
  }
}
