import type { HttpRoute, MethodDef, RequestInfo } from './types';

/**
 * The OpenAPI 3.1 description of the API, derived from the method registry (README "API
 * methods"): every route of every method, its path, query and body parameters from the
 * method's ajv schema, the Pryv error envelope with the error ids the registry lets us
 * know of (from the method's auth, path and verb), and the three ways to authenticate.
 * What a method answers on success is not declared in the registry: success bodies are
 * described as the Pryv result envelope only.
 *
 * Served as `/openapi.json` (shared/http/web-pages.ts OPENAPI_PATH) by the local gateway,
 * and put beside the web pages by the stack (README "API reference").
 */

type Schema = Record<string, unknown>;

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
}

/** Where each part of the method's params comes from in an HTTP request. */
interface HttpMapping {
  /** `{name}` path variables, by the params property they fill (when one does). */
  path: string[];
  /** Query parameters: `[query name, params property]`. */
  query: [string, string][];
  /** The JSON body: the whole params, one property of it, or nothing. */
  body: { whole: true } | { property: string } | undefined;
}

const PROBE_PATH = '\0path:';
const PROBE_QUERY = '\0query:';

const pathVariables = (path: string): string[] => [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);

/**
 * How a method builds its params from a request. Methods with their own `httpParams` are
 * asked, with a request whose parts are recognisable markers: where each marker lands
 * tells where that part goes. The others follow the default rule (shared/http/handler.ts):
 * query for GET and DELETE, body otherwise, plus the path ids.
 */
function httpMapping(method: MethodDef, route: HttpRoute): HttpMapping {
  const variables = pathVariables(route.path);
  const properties = Object.keys((method.params.properties as Schema | undefined) ?? {});
  if (method.httpParams) {
    const bodyMarker = { [PROBE_PATH]: 'body' };
    const request: RequestInfo = {
      transport: 'http',
      verb: route.verb,
      path: route.path,
      headers: {},
      query: new Proxy({} as Record<string, string>, { get: (_t, key) => (typeof key === 'string' ? `${PROBE_QUERY}${key}` : undefined) }),
      body: bodyMarker,
      pathParams: Object.fromEntries(variables.map((name) => [name, `${PROBE_PATH}${name}`])),
    };
    let built: unknown;
    try {
      built = method.httpParams(request);
    } catch {
      built = undefined;
    }
    if (built === bodyMarker) return { path: [], query: [], body: { whole: true } };
    if (built && typeof built === 'object') {
      const mapping: HttpMapping = { path: [], query: [], body: undefined };
      for (const [key, value] of Object.entries(built)) {
        if (value === bodyMarker) mapping.body = { property: key };
        else if (typeof value === 'string' && value.startsWith(PROBE_PATH)) mapping.path.push(key);
        else if (typeof value === 'string' && value.startsWith(PROBE_QUERY)) mapping.query.push([value.slice(PROBE_QUERY.length), key]);
      }
      return mapping;
    }
  }
  const inPath = variables.filter((name) => name !== 'username');
  const rest = properties.filter((name) => !inPath.includes(name));
  if (route.verb === 'GET' || route.verb === 'DELETE') return { path: inPath, query: rest.map((name) => [name, name]), body: undefined };
  return { path: inPath, query: [], body: { whole: true } };
}

/** The params schema without the properties that come from the path. */
function withoutProperties(schema: Schema, names: string[]): Schema {
  if (names.length === 0 || !schema.properties) return schema;
  const properties = Object.fromEntries(Object.entries(schema.properties as Schema).filter(([name]) => !names.includes(name)));
  const required = ((schema.required as string[] | undefined) ?? []).filter((name) => !names.includes(name));
  const out: Schema = { ...schema, properties };
  if (required.length > 0) out.required = required;
  else delete out.required;
  return out;
}

const propertySchema = (method: MethodDef, name: string): Schema =>
  ((method.params.properties as Record<string, Schema> | undefined)?.[name] as Schema | undefined) ?? { type: 'string' };
const isRequired = (method: MethodDef, name: string) => ((method.params.required as string[] | undefined) ?? []).includes(name);

/** Error ids by HTTP status that any call of this method may meet, from what the registry declares. */
export function errorIds(method: MethodDef, route: HttpRoute): Map<number, string[]> {
  const ids = new Map<number, Set<string>>();
  const add = (status: number, ...list: string[]) => {
    const set = ids.get(status) ?? new Set<string>();
    for (const id of list) set.add(id);
    ids.set(status, set);
  };
  add(400, 'invalid-request-structure', 'invalid-parameters-format');
  add(500, 'unexpected-error');
  add(503, 'api-unavailable');
  const variables = pathVariables(route.path);
  if (method.auth === 'token') {
    add(401, 'invalid-access-token');
    add(403, 'invalid-access-token', 'forbidden');
  }
  // An unknown user, an unknown id in the path, or (system API) a wrong admin key.
  if (method.auth === 'admin' || variables.length > 0) add(404, 'unknown-resource');
  if (route.verb === 'POST' || route.verb === 'PUT') {
    add(413, 'invalid-request-structure');
    add(415, 'unsupported-content-type');
  }
  return new Map([...ids].sort(([a], [b]) => a - b).map(([status, set]) => [status, [...set]]));
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request: the request or its parameters are not valid',
  401: 'No valid token',
  403: 'The access does not allow this',
  404: 'Unknown user or resource',
  413: 'Too large',
  415: 'Unsupported content type',
  500: 'A bug on our side',
  503: 'Service fault (storage unreachable, throttled, contended): retry after `Retry-After` seconds',
};

function errorResponse(status: number, ids: string[], registerStyle: boolean): Schema {
  const pryv = {
    allOf: [{ $ref: '#/components/schemas/Error' }, { properties: { error: { properties: { id: { enum: ids } } } } }],
  };
  const schema = registerStyle ? { anyOf: [pryv, { $ref: '#/components/schemas/RegisterError' }] } : pryv;
  return {
    description: `${STATUS_TEXT[status] ?? 'Error'} (${ids.join(', ')})`,
    content: { 'application/json': { schema } },
  };
}

function security(method: MethodDef): Schema[] {
  if (method.auth === 'token') return [{ token: [] }, { tokenQuery: [] }];
  if (method.auth === 'admin') return [{ adminKey: [] }];
  return [];
}

function operation(method: MethodDef, route: HttpRoute, index: number): Schema {
  const mapping = httpMapping(method, route);
  const parameters: Schema[] = pathVariables(route.path).map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: name === 'username' || !mapping.path.includes(name) ? { type: 'string' } : propertySchema(method, name),
  }));
  for (const [name, property] of mapping.query) {
    parameters.push({ name, in: 'query', required: isRequired(method, property), schema: propertySchema(method, property) });
  }
  const op: Schema = {
    operationId: index === 0 ? method.id : `${method.id}_${index + 1}`,
    summary: method.id,
    tags: [method.id.includes('.') ? method.id.slice(0, method.id.indexOf('.')) : method.id],
    'x-pryv-method': method.id,
    security: security(method),
  };
  if (parameters.length > 0) op.parameters = parameters;
  if (mapping.body && (route.verb === 'POST' || route.verb === 'PUT')) {
    const schema = 'whole' in mapping.body ? withoutProperties(method.params, mapping.path) : propertySchema(method, mapping.body.property);
    const content: Schema = { 'application/json': { schema } };
    if (method.files) {
      content['multipart/form-data'] = {
        schema: {
          type: 'object',
          properties: {
            event: { ...schema, description: 'The one non-file part: the JSON of the event' },
            file: { type: 'array', items: { type: 'string', contentMediaType: 'application/octet-stream' } },
          },
          ...(method.files === 'required' ? { required: ['file'] } : {}),
        },
        encoding: { event: { contentType: 'application/json' } },
      };
    }
    op.requestBody = { required: method.files !== 'required', content };
  } else if (method.files === 'required') {
    op.requestBody = {
      required: true,
      content: {
        'multipart/form-data': {
          schema: {
            type: 'object',
            properties: { file: { type: 'array', items: { type: 'string', contentMediaType: 'application/octet-stream' } } },
            required: ['file'],
          },
        },
      },
    };
  }
  const status = String(method.status ?? 200);
  const responses: Schema = {
    [status]: {
      description: 'The result, in the Pryv envelope (with `meta`)',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Result' } } },
    },
  };
  const registerStyle = route.path.startsWith('/reg/');
  for (const [code, ids] of errorIds(method, route)) responses[String(code)] = errorResponse(code, ids, registerStyle);
  op.responses = responses;
  return op;
}

export function openApiDocument(methods: readonly MethodDef[], info: OpenApiInfo): Schema {
  const paths: Record<string, Record<string, Schema>> = {};
  for (const method of methods) {
    method.routes.forEach((route, index) => {
      paths[route.path] ??= {};
      paths[route.path]![route.verb.toLowerCase()] = operation(method, route, index);
    });
  }
  const tags = [...new Set(methods.map((m) => (m.id.includes('.') ? m.id.slice(0, m.id.indexOf('.')) : m.id)))].map((name) => ({ name }));
  return {
    openapi: '3.1.0',
    info: {
      title: info.title,
      version: info.version,
      ...(info.description ? { description: info.description } : {}),
      license: { name: 'BSD-3-Clause', identifier: 'BSD-3-Clause' },
    },
    // Relative: the document is served by the API's own origin, locally and in AWS.
    servers: [{ url: '/' }],
    tags,
    paths,
    components: {
      securitySchemes: {
        token: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: 'An access token: raw, `Bearer <token>`, or Basic with the token as user name (Pryv API reference §1.3)',
        },
        tokenQuery: { type: 'apiKey', in: 'query', name: 'auth', description: 'The access token as the `auth` query parameter' },
        adminKey: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'The admin key of the system API (`/system/*`)' },
      },
      schemas: {
        Result: {
          type: 'object',
          properties: {
            meta: {
              type: 'object',
              properties: { apiVersion: { type: 'string' }, serverTime: { type: 'number' }, serial: { type: 'string' } },
            },
          },
        },
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['id', 'message'],
              properties: { id: { type: 'string' }, message: { type: 'string' }, data: {} },
            },
            meta: { $ref: '#/components/schemas/Result/properties/meta' },
          },
        },
        RegisterError: {
          description: 'The register service style, answered by some `/reg/*` routes',
          type: 'object',
          required: ['id', 'message'],
          properties: { id: { type: 'string' }, message: { type: 'string' }, detail: { type: 'string' } },
        },
      },
    },
  };
}
