import { type CfnStage, HttpApi, HttpMethod, HttpRoute, HttpRouteKey } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { functionEntryName, METHODS } from '../../shared/api/registry';
import { functionValidatorModules, writeParamsValidators } from '../bundling/params-validators';
import { apiAccessLogGroup, HTTP_ACCESS_LOG_FORMAT } from './access-logs';
import { acknowledge } from './acknowledge';
import type { Functions } from './functions';

/** Why no route has an API Gateway authorizer (cdk-nag AwsSolutions-APIG4). */
export const PRYV_AUTHORIZATION =
  'Pryv tokens (Authorization header, ?auth=, per-access permissions) are checked by every method itself (Pryv API reference §1.3)';

/** API Gateway rejects trailing-slash paths (except `/` itself). */
export function normaliseRoutePath(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

/** `Fn-service-info` for `service.info`. */
export function functionId(methodId: string): string {
  return `Fn-${methodId.replace(/\./g, '-')}`;
}

/**
 * The HTTP API, made before the functions: the distribution in front of it gives them their
 * default PUBLIC_URL, so functions depend on the API and only routes depend on functions.
 */
export function createHttpApi(scope: Construct, key: kms.IKey | undefined): { api: HttpApi; accessLogs: logs.LogGroup } {
  const api = new HttpApi(scope, 'HttpApi', {
    description: 'Pryv.io-compatible HTTP API',
    // No corsPreflight: handlers answer CORS, OPTIONS falls through to $default.
  });
  const accessLogs = apiAccessLogGroup(scope, 'HttpApiAccessLogs', key);
  (api.defaultStage!.node.defaultChild as CfnStage).accessLogSettings = {
    destinationArn: accessLogs.logGroupArn,
    format: HTTP_ACCESS_LOG_FORMAT,
  };
  acknowledge(api, 'AwsSolutions-APIG4', PRYV_AUTHORIZATION);
  return { api, accessLogs };
}

/**
 * One function per API method of the registry (shared/api/registry.ts), with the
 * capabilities its definition declares and its routes on the HTTP API, plus the `$default`
 * route. Added to the stack it is given (see infra/stack.ts).
 */
export class ApiFunctions {
  constructor(scope: Construct, props: { httpApi: HttpApi; functions: Functions }) {
    const { httpApi, functions } = props;
    const routeOwners = new Map<string, string>(); // route key → method id
    // Each function bundles the validators its method's routes use, generated here from the declarations.
    writeParamsValidators();
    for (const method of METHODS) {
      const fnId = functionId(method.id);
      const fn = functions.add({
        id: fnId,
        entry: `functions/api/${functionEntryName(method)}.ts`,
        description: `Pryv API method ${method.id}`,
        data: method.bucket?.length ? 'tableAndBucket' : 'table',
        bucketAreas: method.bucket,
        capabilities: method.capabilities,
        sharedRole: true,
        inject: functionValidatorModules(method),
      });
      // One invoke permission per function, not per route (each is a resource: the 500 limit, see Functions).
      const integration = new HttpLambdaIntegration(`${fnId}-Integration`, fn, { scopePermissionToRoute: false });
      for (const route of method.routes) {
        const path = normaliseRoutePath(route.path);
        const key = `${route.verb} ${path}`;
        const owner = routeOwners.get(key);
        if (owner === method.id) continue; // same route declared twice, e.g. `/{username}` and `/{username}/`
        if (owner) throw new Error(`route ${key} declared by both ${owner} and ${method.id}`);
        routeOwners.set(key, method.id);
        httpApi.addRoutes({ path, methods: [HttpMethod[route.verb]], integration });
      }
    }

    // $default: CORS preflights and Pryv's JSON 404 for everything no route matches.
    const notFound = functions.add({
      id: 'Fn-not-found',
      entry: 'functions/http/not-found.ts',
      description: 'Pryv API $default route (404, CORS preflight)',
      data: 'table',
    });
    const defaultRoute = new HttpRoute(scope, 'DefaultRoute', {
      httpApi,
      routeKey: HttpRouteKey.DEFAULT,
      integration: new HttpLambdaIntegration('Fn-not-found-Integration', notFound),
    });
    acknowledge(defaultRoute, 'AwsSolutions-APIG4', 'CORS preflights and the 404 answer need no token');
  }
}
