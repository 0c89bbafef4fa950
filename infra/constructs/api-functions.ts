import type { Construct } from 'constructs';
import { HttpApi, HttpMethod, HttpRoute, HttpRouteKey } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { METHODS, functionEntryName } from '../../shared/api/registry';
import type { Functions } from './functions';

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
export function createHttpApi(scope: Construct): HttpApi {
  return new HttpApi(scope, 'HttpApi', {
    description: 'Pryv.io-compatible HTTP API',
    // No corsPreflight: handlers answer CORS, OPTIONS falls through to $default.
  });
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
    for (const method of METHODS) {
      const fnId = functionId(method.id);
      const fn = functions.add({
        id: fnId,
        entry: `functions/api/${functionEntryName(method)}.ts`,
        description: `Pryv API method ${method.id}`,
        data: 'tableAndBucket',
        capabilities: method.capabilities,
        sharedRole: true,
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
      data: 'tableAndBucket',
    });
    new HttpRoute(scope, 'DefaultRoute', {
      httpApi,
      routeKey: HttpRouteKey.DEFAULT,
      integration: new HttpLambdaIntegration('Fn-not-found-Integration', notFound),
    });
  }
}
