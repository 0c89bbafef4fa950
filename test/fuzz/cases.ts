import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { loadAllParamsValidators } from '../../infra/bundling/params-validators';
import { paramsValidator } from '../../shared/api/params-validators';
import { METHODS } from '../../shared/api/registry';
import type { HttpRoute, MethodDef, RequestInfo } from '../../shared/api/types';
import { defaultHttpParams } from '../../shared/http/handler';
import { parseQuery } from '../../shared/http/request';
import { checkParams, type JsonSchema } from '../../shared/validation';
import type { WireRequest } from './client';
import { FIXTURE_APP_ID, type Fixture, TRUSTED_ORIGIN } from './fixture';
import {
  BOUNDARY_NUMBERS,
  deepValue,
  depthOf,
  hugeBodyString,
  LONG_URL_STRINGS,
  NUMBER_LIKE_STRINGS,
  ODD_KEY_OBJECTS,
  ODD_STRINGS,
  scan,
  toJsonText,
  toText,
  WRONG_TYPE_VALUES,
} from './values';

// The server's own parameter validators (generated from the declarations, as the bundles carry them).
await loadAllParamsValidators();

/**
 * Malformed requests derived from the method registry (shared/api/registry.ts): for every
 * route of every method, a well-formed base call (from its `params` schema, its path
 * variables and the fixture's ids and tokens) with one thing made wrong: a field of the
 * wrong type, missing or unknown, a boundary number, a huge or deep value, an odd id or key,
 * a bad token or header, a duplicated query parameter, a wrong root type, a malformed batch
 * or multipart body.
 *
 * Each case is rendered to a real HTTP request, then classified the way the server will see
 * it: the harness parses the query and body as the server does and runs the method's own
 * `params` schema on what `httpParams` builds from them. A case the schema (or the
 * authentication, or the body parser) refuses, or that carries a value no store can hold
 * (a string over DynamoDB's 400 KB item size, nesting over its 32 levels, a number beyond its
 * range) must be refused: it is sent to the main user, whose account must not change. Other
 * cases (odd but perhaps acceptable: `__proto__` keys, in-range huge integers, odd file
 * names) are sent to a scratch user when they could write, and only need an answer that is
 * not a 5xx and, for a 4xx, the Pryv error envelope.
 */

/** A value with the words that describe it in reports. */
export interface Labelled {
  label: string;
  value: unknown;
}

export type TokenKind =
  | 'personal'
  | 'app'
  | 'shared'
  | 'none'
  | 'admin'
  | 'wrong-admin'
  | 'other-user'
  | 'huge'
  | 'huge-bearer'
  | 'bad-basic'
  | 'garbage';

export type Mutation =
  | { kind: 'none' }
  | { kind: 'set'; path: string[]; value: Labelled }
  | { kind: 'remove'; path: string[] }
  | { kind: 'unknown-field'; path: string[]; key: string; value: Labelled }
  | { kind: 'root'; value: Labelled }
  | { kind: 'path-param'; name: string; value: string }
  | { kind: 'batch-body'; body: Labelled }
  | { kind: 'batch-calls'; calls: BatchCallSpec[] }
  | { kind: 'multipart'; variant: MultipartVariant; event?: Mutation };

export type Oddity =
  | 'form-content-type'
  | 'no-content-type'
  | 'xml-content-type'
  | 'multipart-no-boundary'
  | 'wrong-origin'
  | 'duplicate-query'
  | 'bracket-query'
  | 'duplicate-auth-query'
  | 'long-header';

export type MultipartVariant =
  | 'no-boundary'
  | 'truncated'
  | 'two-json-parts'
  | 'bad-json-part'
  | 'no-json-part'
  | 'no-file'
  | 'file-without-name'
  | 'odd-file-name'
  | 'empty-file'
  | 'many-fields'
  | 'invalid-event';

export interface BatchCallSpec {
  method: string;
  mutation: Mutation;
}

export interface FuzzCase {
  methodId: string;
  route: HttpRoute;
  token: TokenKind;
  mutation: Mutation;
  oddity?: Oddity;
  /** Picks among fixture ids of a kind (several streams, events…). */
  pick: number;
  /** Odd file name, for the multipart variant that uses one. */
  fileName?: string;
}

/** A case made concrete for one user: the request, and what the answer may be. */
export interface RenderedCase {
  fuzzCase: FuzzCase;
  request: WireRequest;
  /** The server must refuse it (4xx), and it must change nothing. */
  mustRefuse: boolean;
  /** Why it must be refused (or why not), for reports. */
  reasons: string[];
  /** For callBatch: per call, whether it must fail. */
  batchMustFail?: boolean[];
  label: string;
}

// ---------------------------------------------------------------------------------------
// What the registry says about each method: where its params travel on HTTP.

interface Placement {
  /** Where the body lands in the params: the whole params, under a key, or nowhere. */
  body: { kind: 'root' } | { kind: 'key'; key: string } | { kind: 'none' };
  /** params name → path variable name (`{id}`, `{key}`, `{name}`…). */
  fromPath: Record<string, string>;
  /** The query reaches the params (GET/DELETE without httpParams, or httpParams reading it). */
  query: boolean;
}

const BODY_PROBE = { __probe: 'body' };
const QUERY_PROBE_VALUE = 'query-probe';

/** Asks the method's own httpParams (or the default) where each part of a request goes. */
function placementOf(method: MethodDef, route: HttpRoute): Placement {
  const variables = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  const pathParams = Object.fromEntries(variables.map((v) => [v, `path-probe-${v}`]));
  const probe = (body: unknown, query: Record<string, string>): unknown => {
    const request: RequestInfo = { transport: 'http', verb: route.verb, path: route.path, headers: {}, query, body, pathParams };
    try {
      return defaultHttpParams(method, request);
    } catch {
      return undefined;
    }
  };
  const withBody = probe(BODY_PROBE, {}) as any;
  let body: Placement['body'] = { kind: 'none' };
  if (withBody === BODY_PROBE || (withBody && typeof withBody === 'object' && withBody.__probe === 'body')) body = { kind: 'root' };
  else if (withBody && typeof withBody === 'object') {
    const key = Object.keys(withBody).find((k) => withBody[k] === BODY_PROBE);
    if (key) body = { kind: 'key', key };
  }
  const fromPath: Record<string, string> = {};
  if (withBody && typeof withBody === 'object') {
    for (const [k, v] of Object.entries(withBody)) {
      const variable = variables.find((name) => v === `path-probe-${name}`);
      if (variable && variable !== 'username') fromPath[k] = variable;
    }
  }
  const withQuery = probe(undefined, { zz: QUERY_PROBE_VALUE }) as any;
  const query = !!withQuery && typeof withQuery === 'object' && Object.values(withQuery).includes(QUERY_PROBE_VALUE);
  return { body, fromPath, query };
}

interface RouteProfile {
  method: MethodDef;
  route: HttpRoute;
  placement: Placement;
  /** Paths into the params where a value may be set (from the schema), e.g. ["update","name"]. */
  paths: string[][];
  /** Paths of objects that may get an unknown field ([] = the params root). */
  objectPaths: string[][];
  /** Path variables a case may make odd. */
  pathVariables: string[];
  writes: boolean;
  multipart: boolean;
}

type Schema = JsonSchema & {
  type?: string | string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  minLength?: number;
  minimum?: number;
  anyOf?: Schema[];
  oneOf?: Schema[];
  pattern?: string;
};

/** Fields a client may send but the server owns (authorship): never worth a mutation point. */
const SERVER_OWNED = new Set(['created', 'createdBy', 'modified', 'modifiedBy', 'integrity', 'children']);

function schemaPaths(schema: Schema, prefix: string[], out: { paths: string[][]; objects: string[][] }, depth = 0): void {
  if (depth > 3) return;
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (schema.properties || types.includes('object')) out.objects.push(prefix);
  for (const [key, sub] of Object.entries(schema.properties ?? {})) {
    if (SERVER_OWNED.has(key)) continue;
    out.paths.push([...prefix, key]);
    schemaPaths(sub, [...prefix, key], out, depth + 1);
  }
  if (schema.items) {
    out.paths.push([...prefix, '0']);
    schemaPaths(schema.items, [...prefix, '0'], out, depth + 1);
  }
}

/** Where a method's opaque `{type:"object"}` schema hides fields, the base calls below name them. */
const KNOWN_FIELDS: Record<string, string[][]> = {
  'auth.register': [['username'], ['password'], ['email'], ['appId'], ['language'], ['invitationToken'], ['referer'], ['hosting']],
  'system.createUser': [['username'], ['passwordHash'], ['email'], ['language'], ['appId']],
  'account.update': [
    ['update', 'email'],
    ['update', 'language'],
    ['update', 'username'],
  ],
  'accessRequests.create': [
    ['requestingAppId'],
    ['requestedPermissions'],
    ['requestedPermissions', '0'],
    ['requestedPermissions', '0', 'streamId'],
    ['languageCode'],
    ['returnURL'],
    ['clientData'],
    ['deviceName'],
    ['expireAfter'],
    ['referer'],
    ['authUrl'],
    ['serviceInfo'],
    ['oauthState'],
  ],
  'accessRequests.update': [
    ['body', 'status'],
    ['body', 'username'],
    ['body', 'token'],
    ['body', 'apiEndpoint'],
    ['body', 'reasonID'],
  ],
  'profile.updatePublic': [['update', 'key']],
  'profile.updatePrivate': [['update', 'key']],
  'profile.updateApp': [['update', 'key']],
  'accesses.update': [['update', 'name']],
};

const PROFILES: RouteProfile[] = METHODS.flatMap((method) =>
  method.routes.map((route) => {
    const placement = placementOf(method, route);
    const found = { paths: [] as string[][], objects: [] as string[][] };
    schemaPaths(method.params as Schema, [], found);
    for (const p of KNOWN_FIELDS[method.id] ?? []) {
      found.paths.push(p);
      if (p.length > 1) found.objects.push(p.slice(0, -1));
    }
    // An unknown field goes into objects only (an array's extra property is never sent).
    const arrays = new Set(found.paths.filter((p) => p.at(-1) === '0').map((p) => p.slice(0, -1).join('.')));
    found.objects = found.objects.filter((p) => !arrays.has(p.join('.')));
    if (found.objects.length === 0) found.objects.push([]);
    const key = (p: string[]) => p.join('.');
    const unique = (list: string[][]) => [...new Map(list.map((p) => [key(p), p])).values()];
    return {
      method,
      route,
      placement,
      paths: unique(found.paths),
      objectPaths: unique(found.objects),
      pathVariables: [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!),
      writes: route.verb !== 'GET',
      multipart: method.id === 'events.create' || method.id === 'events.addAttachment',
    };
  }),
);

export const ROUTE_COUNT = PROFILES.length;
const profileOf = (c: FuzzCase) => PROFILES.find((p) => p.method.id === c.methodId && p.route === c.route)!;
const methodById = (id: string) => METHODS.find((m) => m.id === id);
const isBatchable = (m: MethodDef) => m.batchable ?? m.auth === 'token';

// ---------------------------------------------------------------------------------------
// Base calls: well-formed params for each method, aimed at the fixture.

/** Per-call uniqueness for names a successful lenient call would otherwise clash on. */
const fresh = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

function idFor(method: MethodDef, name: string, f: Fixture, pick: number): string | undefined {
  const family = method.id.split('.')[0];
  const at = <T>(list: T[]) => list[pick % list.length]!;
  if (name === 'fileId') return method.id === 'events.confirmAttachmentUpload' ? f.uploadFileId : f.fileId;
  if (name !== 'id') return undefined;
  switch (family) {
    case 'events':
      if (method.id.includes('Attachment') && !method.id.includes('Upload')) return f.eventIds[1];
      if (method.id.includes('Upload')) return f.eventIds[0];
      return at(f.eventIds.slice(0, 3));
    case 'streams':
      return at(f.streamIds.slice(0, 4));
    case 'accesses':
      return at([f.accessIds.shared, f.accessIds.app, f.accessIds.deleted]);
    case 'webhooks':
      return f.webhookId;
    case 'followedSlices':
      return f.followedSliceId;
    case 'account':
      return `job${pick}`;
    default:
      return undefined;
  }
}

function stringFor(name: string, schema: Schema, method: MethodDef, f: Fixture): string {
  if (schema.enum) return String(schema.enum.find((v) => v !== 'personal') ?? schema.enum[0]);
  switch (name) {
    case 'streamId':
    case 'parentId':
      return 'fz-root';
    case 'type':
      return method.id.includes('Attachment') ? 'text/plain' : 'note/txt';
    case 'username':
      return f.username;
    case 'password':
    case 'oldPassword':
      return f.password;
    case 'newPassword':
      return 'new-password-fuzz';
    case 'url':
      return 'https://hooks.example.com/fuzz';
    case 'fileName':
      return 'fuzz.txt';
    case 'requestingAppId':
    case 'appId':
      return FIXTURE_APP_ID;
    case 'accessId':
      return f.accessIds.app;
    case 'name':
      return fresh('fuzz-name');
    case 'code':
      return '123456';
    default:
      return 'x'.repeat(Math.max(schema.minLength ?? 1, 3));
  }
}

function exampleOf(schema: Schema, name: string, method: MethodDef, f: Fixture, depth = 0): unknown {
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  const type = types.find((t) => t !== 'null') ?? (schema.properties ? 'object' : undefined);
  switch (type) {
    case 'string':
      return stringFor(name, schema, method, f);
    case 'number':
      return name === 'time' || name.endsWith('Time') ? Date.now() / 1000 : 1;
    case 'integer':
      return name === 'size' ? 3 : Math.max(schema.minimum ?? 1, 1);
    case 'boolean':
      return false;
    case 'array':
      if (name === 'streamIds') return ['fz-root'];
      return schema.items ? [exampleOf(schema.items, name, method, f, depth + 1)] : [];
    case 'object': {
      if (depth > 3) return {};
      const out: Record<string, unknown> = {};
      const required = new Set([
        ...(schema.required ?? []),
        ...(schema.anyOf?.[0]?.required ?? []),
        ...(schema.oneOf?.[0]?.required ?? []),
      ]);
      for (const key of required) {
        const sub = schema.properties?.[key] ?? {};
        out[key] = exampleOf(sub, key, method, f, depth + 1);
      }
      return out;
    }
    default:
      return name === 'content' ? 'fuzz' : {};
  }
}

function baseParams(method: MethodDef, f: Fixture): Record<string, unknown> {
  const u = fresh('fz-new');
  switch (method.id) {
    case 'auth.register':
      return { username: u, password: 'fuzz-password', email: `${u}@example.com`, appId: FIXTURE_APP_ID };
    case 'system.createUser':
      return {
        username: u,
        passwordHash: '$2a$10$abcdefghijklmnopqrstuuJ2VxO9MtW3YgfHkOGC3qSt7hQTEz.2i',
        email: `${u}@example.com`,
        language: 'en',
      };
    case 'account.update':
      return { update: { language: 'en' } };
    case 'accessRequests.create':
      return { requestingAppId: FIXTURE_APP_ID, requestedPermissions: [{ streamId: 'fz-root', level: 'read', defaultName: 'Fuzz' }] };
    case 'accessRequests.update':
      return { key: 'NoSuchKey0000000', body: { status: 'REFUSED' } };
    case 'profile.updatePublic':
    case 'profile.updatePrivate':
    case 'profile.updateApp':
      return { update: { key: 'value' } };
    case 'auth.login':
    case 'mfa.recover':
      return {
        username: f.username,
        password: f.password,
        appId: FIXTURE_APP_ID,
        ...(method.id === 'mfa.recover' ? { recoveryCode: 'x' } : {}),
      };
    case 'reg.cores':
      return { username: f.username };
    case 'events.create':
      return { streamIds: ['fz-root'], type: 'note/txt', content: 'fuzz' };
    case 'streams.create':
      return { id: fresh('fz'), name: fresh('Fuzz'), parentId: 'fz-root' };
    case 'accesses.create':
      return { name: fresh('fz-access'), type: 'shared', permissions: [{ streamId: 'fz-root', level: 'read' }] };
    case 'followedSlices.create':
      return { name: fresh('fz-slice'), url: 'https://other.example.com/x/', accessToken: fresh('tok') };
    default: {
      const params = exampleOf(method.params as Schema, '', method, f) as Record<string, unknown>;
      return params && typeof params === 'object' && !Array.isArray(params) ? params : {};
    }
  }
}

/** Values for path variables a method's params do not name ({username}, {key} of /reg/access, {fileName}…). */
function pathValue(profile: RouteProfile, variable: string, f: Fixture, params: Record<string, unknown>, pick: number): string {
  const fromParams = Object.entries(profile.placement.fromPath).find(([, v]) => v === variable)?.[0];
  if (fromParams !== undefined && params[fromParams] !== undefined) return toText(params[fromParams]);
  if (variable === 'username') return profile.method.id === 'auth.delete' ? `no-such-user-${pick}` : f.username;
  if (variable === 'name') return f.username;
  if (variable === 'fileName') return 'fuzz.txt';
  if (variable === 'key') {
    if (profile.route.path.includes('/reg/access')) return 'NoSuchKey0000000';
    return /email|uid|username$/.test(profile.route.path) && !profile.route.path.endsWith('check_username') ? f.email : f.username;
  }
  return idFor(profile.method, variable, f, pick) ?? 'x';
}

/** Params for one method aimed at one fixture: ids the params draw from path variables included. */
function paramsFor(profile: RouteProfile, f: Fixture, pick: number): Record<string, unknown> {
  const params = baseParams(profile.method, f);
  for (const [name, variable] of Object.entries(profile.placement.fromPath)) {
    if (variable === 'key')
      params[name] = pathValue({ ...profile, placement: { ...profile.placement, fromPath: {} } }, 'key', f, params, pick);
    else if (variable === 'name') params[name] = f.username;
    else params[name] = idFor(profile.method, variable, f, pick) ?? (variable === 'username' ? f.username : 'x');
  }
  if (profile.method.id === 'auth.delete') params.username = `no-such-user-${pick}`;
  return params;
}

// ---------------------------------------------------------------------------------------
// Mutations on params.

/** Sets a key as an own property (also `__proto__`), creating objects along the path. */
function setAt(target: any, path: string[], value: unknown): any {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  let container = target;
  if (container === null || typeof container !== 'object') container = /^\d+$/.test(head!) ? [] : {};
  const copy = Array.isArray(container) ? [...container] : { ...container };
  Object.defineProperty(copy, head!, { value: setAt(copy[head!], rest, value), enumerable: true, writable: true, configurable: true });
  return copy;
}

function removeAt(target: any, path: string[]): any {
  if (path.length === 0 || target === null || typeof target !== 'object') return target;
  const [head, ...rest] = path;
  const copy = Array.isArray(target) ? [...target] : { ...target };
  if (rest.length === 0) {
    if (Array.isArray(copy)) copy.splice(Number(head), 1);
    else delete copy[head!];
  } else if (head! in copy) copy[head!] = removeAt(copy[head!], rest);
  return copy;
}

function applyMutation(params: Record<string, unknown>, mutation: Mutation): unknown {
  switch (mutation.kind) {
    case 'set':
      return setAt(params, mutation.path, mutation.value.value);
    case 'remove':
      return removeAt(params, mutation.path);
    case 'unknown-field':
      return setAt(params, [...mutation.path, mutation.key], mutation.value.value);
    case 'root':
      return mutation.value.value;
    default:
      return params;
  }
}

export function describeMutation(m: Mutation): string {
  switch (m.kind) {
    case 'none':
      return 'no param change';
    case 'set':
      return `${m.path.join('.') || '(root)'} = ${m.value.label}`;
    case 'remove':
      return `without ${m.path.join('.')}`;
    case 'unknown-field':
      return `unknown field ${[...m.path, m.key.length > 40 ? `${m.key.slice(0, 20)}…(${m.key.length})` : JSON.stringify(m.key)].join('.')} = ${m.value.label}`;
    case 'root':
      return `params root = ${m.value.label}`;
    case 'path-param':
      return `path {${m.name}} = ${labelString(m.value)}`;
    case 'batch-body':
      return `batch body = ${m.body.label}`;
    case 'batch-calls':
      return `batch [${m.calls.map((c) => `${labelString(c.method)}(${describeMutation(c.mutation)})`).join(', ')}]`;
    case 'multipart':
      return `multipart ${m.variant}${m.event ? ` (event: ${describeMutation(m.event)})` : ''}`;
  }
}

export function labelString(s: string): string {
  if (s.length > 40) return `"${s.slice(0, 12)}…" (${s.length} chars)`;
  return JSON.stringify(s);
}

// ---------------------------------------------------------------------------------------
// fast-check arbitraries.

const labelled = (label: string, value: unknown): Labelled => ({ label, value });

/** Values for a body (JSON): anything, huge and deep included. */
const bodyValueArb: fc.Arbitrary<Labelled> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...WRONG_TYPE_VALUES).map((v) => labelled(`wrong type ${JSON.stringify(v)}`, v)) },
  { weight: 3, arbitrary: fc.constantFrom(...BOUNDARY_NUMBERS).map((v) => labelled(`number ${v.text}`, v)) },
  { weight: 1, arbitrary: fc.constantFrom(...NUMBER_LIKE_STRINGS).map((v) => labelled(`string ${JSON.stringify(v)}`, v)) },
  { weight: 2, arbitrary: fc.constantFrom(...ODD_STRINGS).map((v) => labelled(`string ${labelString(v)}`, v)) },
  { weight: 2, arbitrary: fc.constant(null).map(() => labelled('string of 1 MB', hugeBodyString())) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom<'object' | 'array'>('object', 'array'), fc.constantFrom<40 | 1000 | 10000>(40, 40, 1000, 10000))
      .map(([kind, levels]) => labelled(`${kind} nested ${levels} levels`, deepValue(kind, levels))),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(...ODD_KEY_OBJECTS).map((v) => labelled(`object with keys ${labelString(Object.keys(v).join(','))}`, v)),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => labelled(`random JSON ${labelString(JSON.stringify(v) ?? '')}`, v)) },
);

/** Values for a query string or a path: text that fits in a URL. */
const urlValueArb: fc.Arbitrary<Labelled> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...WRONG_TYPE_VALUES).map((v) => labelled(`wrong type ${JSON.stringify(v)}`, v)) },
  { weight: 3, arbitrary: fc.constantFrom(...BOUNDARY_NUMBERS).map((v) => labelled(`number ${v.text}`, v)) },
  { weight: 2, arbitrary: fc.constantFrom(...NUMBER_LIKE_STRINGS).map((v) => labelled(`string ${JSON.stringify(v)}`, v)) },
  { weight: 3, arbitrary: fc.constantFrom(...ODD_STRINGS).map((v) => labelled(`string ${labelString(v)}`, v)) },
  { weight: 2, arbitrary: fc.constantFrom(...LONG_URL_STRINGS).map((v) => labelled(`string ${labelString(v)}`, v)) },
  { weight: 1, arbitrary: fc.constantFrom<40 | 1000>(40, 1000).map((n) => labelled(`array nested ${n} levels`, deepValue('array', n))) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(...ODD_KEY_OBJECTS.slice(0, 4))
      .map((v) => labelled(`object with keys ${labelString(Object.keys(v).join(','))}`, v)),
  },
);

/** Odd path segments (never empty, `.` or `..`, which would change the route). */
const oddPathValueArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...ODD_STRINGS.filter((s) => s !== '' && s !== '.' && s !== '..')),
  fc.constantFrom(...LONG_URL_STRINGS),
  fc.constantFrom('NoSuchId', 'UPPERCASE', 'a--b', 'ab', '-abc-', `${'a'.repeat(61)}`),
);

const keyArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('unknownField', '__proto__', 'constructor', 'prototype', '', 'k'.repeat(2100), 'a.b', '$set'),
  fc.string({ minLength: 1, maxLength: 12 }),
);

function tokenArb(method: MethodDef): fc.Arbitrary<TokenKind> {
  const bad: TokenKind[] = ['none', 'huge', 'huge-bearer', 'bad-basic', 'garbage', 'other-user'];
  if (method.auth === 'admin')
    return fc.oneof(
      { weight: 8, arbitrary: fc.constant<TokenKind>('admin') },
      { weight: 2, arbitrary: fc.constantFrom<TokenKind>('wrong-admin', 'none', 'huge') },
    );
  if (method.auth === 'none') {
    if (method.id === 'auth.delete') return fc.constantFrom<TokenKind>('admin', 'admin', 'personal', 'wrong-admin', 'huge', 'none');
    return fc.oneof(
      { weight: 8, arbitrary: fc.constant<TokenKind>('none') },
      { weight: 1, arbitrary: fc.constantFrom<TokenKind>('huge', 'personal') },
    );
  }
  const allowed = (method.accessTypes ?? ['personal', 'app', 'shared']) as TokenKind[];
  const others = (['personal', 'app', 'shared'] as TokenKind[]).filter((t) => !allowed.includes(t));
  return fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...allowed) },
    { weight: others.length > 0 ? 1 : 0, arbitrary: fc.constantFrom(...(others.length > 0 ? others : allowed)) },
    { weight: 2, arbitrary: fc.constantFrom(...bad) },
  );
}

function paramMutationArb(profile: RouteProfile, inBody: boolean, viaHttp = true): fc.Arbitrary<Mutation> {
  const values = inBody ? bodyValueArb : urlValueArb;
  const options: fc.WeightedArbitrary<Mutation>[] = [];
  // Params drawn from path variables travel in the URL over HTTP: URL-sized values there.
  const inPath = (p: string[]) => viaHttp && p.length === 1 && p[0]! in profile.placement.fromPath;
  const sent = profile.paths.filter((p) => !inPath(p));
  const pathSent = profile.paths.filter(inPath);
  if (sent.length > 0) {
    const paths = fc.constantFrom(...sent);
    options.push({ weight: 8, arbitrary: fc.tuple(paths, values).map(([path, value]) => ({ kind: 'set' as const, path, value })) });
    options.push({ weight: 2, arbitrary: paths.map((path) => ({ kind: 'remove' as const, path })) });
  }
  if (pathSent.length > 0) {
    // Never an empty or dot segment: that would be another route (`/events/{id}/` is `/events/{id}`).
    const segmentValue = urlValueArb.filter((v) => !['', '.', '..'].includes(toText(v.value)));
    options.push({
      weight: 2,
      arbitrary: fc.tuple(fc.constantFrom(...pathSent), segmentValue).map(([path, value]) => ({ kind: 'set' as const, path, value })),
    });
  }
  options.push({
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...profile.objectPaths), keyArb, values)
      .map(([path, key, value]) => ({ kind: 'unknown-field' as const, path, key, value })),
  });
  if (inBody) {
    options.push({
      weight: 2,
      arbitrary: fc
        .constantFrom<unknown>([], [1, 2], 'text', 42, null, true, [{}])
        .map((v) => ({ kind: 'root' as const, value: labelled(`wrong type ${JSON.stringify(v)}`, v) })),
    });
  }
  return fc.oneof(...options);
}

const batchableProfiles = PROFILES.filter((p) => isBatchable(p.method) && p.route === p.method.routes[0]);

const batchCallArb: fc.Arbitrary<BatchCallSpec> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .constantFrom(...batchableProfiles)
      .chain((p) =>
        fc
          .oneof(
            { weight: 6, arbitrary: paramMutationArb(p, true, false) },
            { weight: 1, arbitrary: fc.constant<Mutation>({ kind: 'none' }) },
          )
          .map((mutation) => ({ method: p.method.id, mutation })),
      ),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(
        'nope.nope',
        '__proto__',
        'constructor',
        'toString',
        'callBatch',
        'events.getAttachment',
        'auth.login',
        'x'.repeat(2100),
        '',
      )
      .map((method) => ({ method, mutation: { kind: 'none' as const } })),
  },
);

const batchMutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .constantFrom<unknown>(
        {},
        'calls',
        42,
        null,
        [1],
        [null],
        [[]],
        [{}],
        [{ method: 'events.get' }],
        [{ params: {} }],
        [{ method: 'events.get', params: 'x' }],
        [{ method: 'events.get', params: null }],
        [{ method: 42, params: {} }],
        [{ method: 'events.get', params: {}, extra: 1 }],
        [{ ['__proto__']: { method: 'events.get' }, method: 'events.get', params: {} }],
      )
      .map((body) => ({ kind: 'batch-body' as const, body: labelled(toJsonText(body), body) })),
  },
  {
    weight: 7,
    arbitrary: fc.array(batchCallArb, { minLength: 1, maxLength: 3 }).map((calls) => ({ kind: 'batch-calls' as const, calls })),
  },
);

function multipartArb(profile: RouteProfile): fc.Arbitrary<Mutation> {
  const variants: MultipartVariant[] = [
    'no-boundary',
    'truncated',
    'two-json-parts',
    'bad-json-part',
    'no-json-part',
    'no-file',
    'file-without-name',
    'odd-file-name',
    'empty-file',
    'many-fields',
  ];
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...variants).map((variant) => ({ kind: 'multipart' as const, variant })) },
    {
      weight: profile.method.id === 'events.create' ? 2 : 0,
      arbitrary: paramMutationArb(profile, true).map((event) => ({ kind: 'multipart' as const, variant: 'invalid-event' as const, event })),
    },
  );
}

function oddityArb(profile: RouteProfile): fc.Arbitrary<Oddity | undefined> {
  const list: Oddity[] = ['long-header'];
  if (profile.writes && profile.route.verb !== 'DELETE')
    list.push('form-content-type', 'no-content-type', 'xml-content-type', 'multipart-no-boundary');
  if (profile.placement.query) list.push('duplicate-query', 'bracket-query', 'duplicate-auth-query');
  if (profile.method.id === 'auth.login' || profile.method.id.startsWith('account.') || profile.method.id.startsWith('mfa.'))
    list.push('wrong-origin');
  return fc.option(fc.constantFrom(...list), { freq: 4 }).map((o) => o ?? undefined);
}

function caseArbFor(profile: RouteProfile): fc.Arbitrary<FuzzCase> {
  const inBody = profile.route.verb !== 'GET' && profile.route.verb !== 'DELETE';
  const mutations: fc.WeightedArbitrary<Mutation>[] = [{ weight: 6, arbitrary: paramMutationArb(profile, inBody) }];
  const odd = profile.pathVariables.filter((v) => v !== 'fileName' || profile.method.id !== 'events.getAttachment');
  if (odd.length > 0) {
    mutations.push({
      weight: 2,
      arbitrary: fc.tuple(fc.constantFrom(...odd), oddPathValueArb).map(([name, value]) => ({ kind: 'path-param' as const, name, value })),
    });
  }
  if (profile.method.id === 'callBatch') mutations.push({ weight: 12, arbitrary: batchMutationArb });
  if (profile.multipart) mutations.push({ weight: 4, arbitrary: multipartArb(profile) });
  mutations.push({ weight: 1, arbitrary: fc.constant<Mutation>({ kind: 'none' }) });
  return fc.record({
    methodId: fc.constant(profile.method.id),
    route: fc.constant(profile.route),
    token: tokenArb(profile.method),
    mutation: fc.oneof(...mutations),
    oddity: oddityArb(profile),
    pick: fc.nat({ max: 11 }),
    fileName: fc.constantFrom('__proto__', 'x'.repeat(2100), '../../etc/passwd', 'é✓🙂.txt', 'a"b.txt', ' ', 'con', 'a\u0000b'),
  });
}

/** Every route as likely as every other; a case is one route's base call made wrong. */
export const fuzzCaseArb: fc.Arbitrary<FuzzCase> = fc.constantFrom(...PROFILES).chain(caseArbFor);

/** `count` cases from a seed: the same seed gives the same cases. */
export function sampleCases(seed: number, count: number): FuzzCase[] {
  return fc.sample(fuzzCaseArb, { seed, numRuns: count });
}

// ---------------------------------------------------------------------------------------
// Rendering a case for one user, and deciding what the answer may be.

export interface Identities {
  main: Fixture;
  /** Another user, whose token must never open the main user's data. */
  other: Fixture;
  adminKey: string;
  accessRequestKey: string;
}

function tokenHeader(kind: TokenKind, f: Fixture, ids: Identities): string | undefined {
  switch (kind) {
    case 'personal':
    case 'app':
    case 'shared':
      return f.tokens[kind];
    case 'none':
      return undefined;
    case 'admin':
      return ids.adminKey;
    case 'wrong-admin':
      return `${ids.adminKey.slice(0, -2)}zz`;
    case 'other-user':
      return (f === ids.main ? ids.other : ids.main).tokens.personal;
    case 'huge':
      return 'c'.repeat(2100);
    case 'huge-bearer':
      return `Bearer ${'t'.repeat(3000)} caller-${'d'.repeat(100)}`;
    case 'bad-basic':
      return `Basic ${Buffer.from(`${'u'.repeat(2000)}:`).toString('base64')}`;
    case 'garbage':
      return '\u00e9\u00e8 \t weird';
  }
}

/** Is the token one that opens the user's data for this method? */
function tokenOpens(kind: TokenKind, method: MethodDef): boolean {
  if (method.auth === 'admin') return kind === 'admin';
  if (method.auth === 'none') return true;
  if (kind !== 'personal' && kind !== 'app' && kind !== 'shared') return false;
  return (method.accessTypes ?? ['personal', 'app', 'shared']).includes(kind);
}

/** encodeURIComponent that also sends lone surrogates, as the bytes a careless client would (invalid UTF-8). */
function enc(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return [...text].map((ch) => (/[\ud800-\udfff]/.test(ch) ? '%ED%A0%80' : encodeURIComponent(ch))).join('');
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // the gateway keeps a segment it cannot decode as it is
  }
}

function queryString(query: Record<string, unknown>, oddity: Oddity | undefined, token: string | undefined): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) {
      for (const x of v) parts.push(`${enc(k)}=${enc(x)}`);
    } else parts.push(`${enc(k)}=${enc(toText(v))}`);
  }
  const keys = Object.keys(query);
  if (oddity === 'duplicate-query') {
    const k = keys[0] ?? 'limit';
    parts.push(`${enc(k)}=1`, `${enc(k)}=true`);
  }
  if (oddity === 'bracket-query') {
    const k = keys[0] ?? 'streams';
    parts.push(`${enc(k)}[]=a`, `${enc(k)}[]=`);
  }
  if (oddity === 'duplicate-auth-query') parts.push(`auth=${enc(token ?? 'x')}`, 'auth=other-token');
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

const CRLF = '\r\n';
function multipartBody(variant: MultipartVariant, eventJson: string, fileName: string): { body: Buffer; contentType: string } {
  const boundary = `----fuzz${randomBytes(6).toString('hex')}`;
  const field = (name: string, value: string) =>
    `--${boundary}${CRLF}Content-Disposition: form-data; name="${name}"${CRLF}${CRLF}${value}${CRLF}`;
  const file = (name: string, filename: string | undefined, content: string) =>
    `--${boundary}${CRLF}Content-Disposition: form-data; name="${name}"${filename === undefined ? '' : `; filename="${filename.replace(/"/g, '%22')}"`}${CRLF}Content-Type: text/plain${CRLF}${CRLF}${content}${CRLF}`;
  const end = `--${boundary}--${CRLF}`;
  const contentType = `multipart/form-data; boundary=${boundary}`;
  let text: string;
  switch (variant) {
    case 'no-boundary':
      return { body: Buffer.from(field('event', eventJson) + file('file', 'a.txt', 'abc') + end), contentType: 'multipart/form-data' };
    case 'truncated':
      text = (field('event', eventJson) + file('file', 'a.txt', 'abc'.repeat(100))).slice(0, -150);
      break;
    case 'two-json-parts':
      text = field('event', eventJson) + field('event2', eventJson) + file('file', 'a.txt', 'abc') + end;
      break;
    case 'bad-json-part':
      text = field('event', `${eventJson.slice(0, -1)},`) + file('file', 'a.txt', 'abc') + end;
      break;
    case 'no-json-part':
      text = file('file', 'a.txt', 'abc') + end;
      break;
    case 'no-file':
      text = field('event', eventJson) + end;
      break;
    case 'file-without-name':
      text = field('event', eventJson) + file('file', undefined, 'abc') + end;
      break;
    case 'odd-file-name':
      text = field('event', eventJson) + file('file', fileName, 'abc') + end;
      break;
    case 'empty-file':
      text = field('event', eventJson) + file('file', 'empty.txt', '') + end;
      break;
    case 'many-fields':
      text = Array.from({ length: 1001 }, (_, i) => field(`f${i}`, '{}')).join('') + end;
      break;
    case 'invalid-event':
      text = field('event', eventJson) + file('file', 'a.txt', 'abc') + end;
      break;
  }
  return { body: Buffer.from(text), contentType };
}

/** Multipart variants the server must refuse, whatever the event says. */
function multipartRefused(variant: MultipartVariant, methodId: string): boolean {
  switch (variant) {
    case 'no-boundary':
    case 'truncated':
    case 'two-json-parts':
    case 'bad-json-part':
    case 'file-without-name':
    case 'many-fields':
      return true;
    case 'no-json-part':
      return methodId === 'events.create';
    case 'no-file':
      return methodId === 'events.addAttachment';
    default:
      return false;
  }
}

/** Values the store cannot hold: must be refused wherever they would be written. */
function limitReasons(value: unknown): string[] {
  const reasons: string[] = [];
  const { longestString, numberOutOfRange } = scan(value);
  if (longestString > 400 * 1024) reasons.push(`a string of ${longestString} bytes (over the 400 KB item size)`);
  const depth = depthOf(value);
  if (depth > 32) reasons.push(`nested ${depth} levels (over 32)`);
  if (numberOutOfRange) reasons.push('a number out of DynamoDB range');
  return reasons;
}

/**
 * The limits a mutation breaks where it would be stored: a value set on a field the schema (or
 * the base call) declares, a field added inside a declared object (clientData, a profile
 * update…), or the whole body. An unknown field at the root of a method that ignores it is
 * no such case.
 */
function mutationLimitReasons(profile: RouteProfile, mutation: Mutation, params: unknown, body: unknown): string[] {
  // The value as the server received it: a form body, say, never carries it.
  const valueAt = (root: unknown, path: string[]): unknown => {
    let v = root;
    for (const k of path) {
      if (v === null || typeof v !== 'object' || !Object.hasOwn(v, k)) return undefined;
      v = (v as Record<string, unknown>)[k];
    }
    return v;
  };
  let value: unknown;
  if (mutation.kind === 'set') {
    if (mutation.path.length === 1 && mutation.path[0]! in profile.placement.fromPath) return [];
    value = valueAt(params, mutation.path);
  } else if (mutation.kind === 'unknown-field' && mutation.path.length > 0) value = valueAt(params, [...mutation.path, mutation.key]);
  else if (mutation.kind === 'root') value = body;
  return value === undefined ? [] : limitReasons([value]);
}

/** What the server's params validation says about params (a copy: coercion changes them). */
function schemaErrors(method: MethodDef, params: unknown, coerce: boolean): string | undefined {
  try {
    checkParams(paramsValidator(method.id, coerce), params ?? {});
    return undefined;
  } catch (err) {
    return `schema: ${JSON.stringify((err as { data?: unknown }).data ?? String(err)).slice(0, 200)}`;
  }
}

/** Parses a JSON text the way the server does (a 10,000-level value parses too). */
function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function classifyBatchCall(
  spec: BatchCallSpec,
  f: Fixture,
  pick: number,
  tokenKind: TokenKind,
): { params: unknown; mustFail: boolean; reasons: string[] } {
  const method = methodById(spec.method);
  if (!method || !isBatchable(method)) return { params: {}, mustFail: true, reasons: ['not a batchable method'] };
  const profile = PROFILES.find((p) => p.method === method)!;
  const params = applyMutation(paramsFor(profile, f, pick), spec.mutation);
  const reasons: string[] = [];
  if (!tokenOpens(tokenKind, method)) reasons.push(`token ${tokenKind} may not call ${method.id}`);
  const schema = schemaErrors(method, parseJson(toJsonText(params ?? {})).ok ? JSON.parse(toJsonText(params ?? {})) : params, false);
  if (schema) reasons.push(schema);
  if (method.routes[0]!.verb !== 'GET') {
    const sent = JSON.parse(toJsonText(params ?? null));
    reasons.push(...mutationLimitReasons({ ...profile, placement: { ...profile.placement, fromPath: {} } }, spec.mutation, sent, sent));
  }
  return { params, mustFail: reasons.length > 0, reasons };
}

/**
 * The request for a case aimed at user `f`, and whether it must be refused. `ids` holds the
 * other identities (admin key, the other user's token, an access request key).
 */
export function renderCase(c: FuzzCase, f: Fixture, ids: Identities): RenderedCase {
  const profile = profileOf(c);
  const { method, route, placement } = profile;
  const reasons: string[] = [];
  const token = tokenHeader(c.token, f, ids);
  if (!tokenOpens(c.token, method) && method.auth !== 'none') reasons.push(`token ${c.token} does not open ${method.id}`);

  let params: any = paramsFor(profile, f, c.pick);
  if (method.id.startsWith('accessRequests.') && params.key !== undefined) params.key = ids.accessRequestKey;
  params = applyMutation(params, c.mutation);

  // The path: variables from the params (ids), the fixture, or the odd value of the case.
  let path = route.path;
  for (const variable of profile.pathVariables) {
    let value =
      variable === 'key' && route.path.startsWith('/reg/access')
        ? ids.accessRequestKey
        : pathValue(profile, variable, f, params && typeof params === 'object' ? params : {}, c.pick);
    const drawnFrom = Object.entries(placement.fromPath).find(([, v]) => v === variable)?.[0];
    // An odd id or username names nothing: refused (404…), except by the public name checks
    // (`/reg/{name}/check_username` answers for any name).
    const oddRefused = !(method.auth === 'none' && route.verb === 'GET') && variable !== 'fileName';
    if (c.mutation.kind === 'set' && c.mutation.path.length === 1 && c.mutation.path[0] === drawnFrom && oddRefused) {
      reasons.push(`odd path {${variable}}`);
    }
    if (c.mutation.kind === 'path-param' && c.mutation.name === variable) {
      value = c.mutation.value;
      if (oddRefused) reasons.push(`odd path {${variable}}`);
    }
    path = path.replace(`{${variable}}`, enc(value));
  }
  // What the params hold besides path ids goes to the query or the body.
  const pathKeys = new Set(Object.keys(placement.fromPath));
  const rest = (obj: unknown) =>
    obj && typeof obj === 'object' && !Array.isArray(obj) ? Object.fromEntries(Object.entries(obj).filter(([k]) => !pathKeys.has(k))) : obj;

  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = token;
  let body: string | Buffer | undefined;
  let query: Record<string, unknown> = {};
  let batchMustFail: boolean[] | undefined;
  const isQueryVerb = route.verb === 'GET' || route.verb === 'DELETE';

  if (c.mutation.kind === 'batch-body') {
    body = toJsonText(c.mutation.body.value);
    headers['content-type'] = 'application/json';
  } else if (c.mutation.kind === 'batch-calls') {
    const calls = c.mutation.calls.map((spec) => ({ spec, ...classifyBatchCall(spec, f, c.pick, c.token) }));
    batchMustFail = calls.map((x) => x.mustFail);
    body = toJsonText(calls.map((x) => ({ method: x.spec.method, params: x.params })));
    headers['content-type'] = 'application/json';
  } else if (c.mutation.kind === 'multipart') {
    const eventParams = c.mutation.event ? applyMutation(paramsFor(profile, f, c.pick), c.mutation.event) : rest(params);
    const { body: raw, contentType } = multipartBody(c.mutation.variant, toJsonText(eventParams ?? {}), c.fileName ?? 'x.txt');
    body = raw;
    headers['content-type'] = contentType;
    if (multipartRefused(c.mutation.variant, method.id)) reasons.push(`multipart ${c.mutation.variant}`);
    if (c.mutation.event && method.id === 'events.create') {
      const parsed = JSON.parse(toJsonText(eventParams ?? {}));
      const schema = schemaErrors(method, parsed, false);
      if (schema) reasons.push(schema);
      reasons.push(...mutationLimitReasons(profile, c.mutation.event, parsed, parsed));
    }
  } else if (isQueryVerb) {
    query = (rest(params) as Record<string, unknown>) ?? {};
  } else if (placement.body.kind === 'root') {
    body = toJsonText(rest(params) ?? null);
  } else if (placement.body.kind === 'key') {
    const value = params && typeof params === 'object' && !Array.isArray(params) ? params[placement.body.key] : params;
    body = toJsonText(value === undefined ? {} : value);
  }
  if (body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';

  // Header oddities.
  switch (c.oddity) {
    case 'form-content-type':
      if (typeof body === 'string') headers['content-type'] = 'application/x-www-form-urlencoded';
      break;
    case 'no-content-type':
      if (body !== undefined) {
        delete headers['content-type'];
        body = Buffer.from(body); // fetch sets no Content-Type for bytes
      }
      break;
    case 'xml-content-type':
      if (body !== undefined) headers['content-type'] = 'text/xml';
      break;
    case 'multipart-no-boundary':
      if (body !== undefined) headers['content-type'] = 'multipart/form-data';
      break;
    case 'wrong-origin':
      headers.origin = 'https://evil.example.com';
      break;
    case 'long-header':
      headers['x-fuzz'] = 'h'.repeat(6000);
      break;
    default:
      break;
  }
  if (
    method.id === 'auth.login' ||
    method.id === 'account.requestPasswordReset' ||
    method.id === 'account.resetPassword' ||
    method.id === 'mfa.recover'
  ) {
    headers.origin ??= TRUSTED_ORIGIN;
  }
  const qs = queryString(query, c.oddity, token);
  const request: WireRequest = { verb: route.verb, path: `${path}${qs}`, headers, ...(body !== undefined ? { body } : {}) };

  // Decide as the server will: parse what was sent, build the params, validate them.
  const contentType = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  let parsedBody: unknown;
  let parseFailed = false;
  if (body !== undefined && c.mutation.kind !== 'multipart') {
    const text = body.toString();
    if (contentType === 'application/x-www-form-urlencoded') parsedBody = Object.fromEntries(new URLSearchParams(text));
    else if (contentType === '' || contentType === 'application/json' || contentType === 'text/plain') {
      const parsed = parseJson(text);
      if (parsed.ok) parsedBody = parsed.value;
      else parseFailed = true;
    } else {
      parseFailed = true; // unsupported type, or multipart without a boundary
      reasons.push(`body sent as ${contentType}`);
    }
  }
  if (parseFailed && !reasons.some((r) => r.startsWith('body sent as'))) reasons.push('body is not valid JSON');
  if (c.mutation.kind !== 'multipart' && !parseFailed) {
    const pathParameters: Record<string, string> = {};
    const routeParts = route.path.split('/');
    const sentParts = path.split('/');
    routeParts.forEach((part, i) => {
      const m = /^\{(\w+)\}$/.exec(part);
      if (m) pathParameters[m[1]!] = decodeSegment(sentParts[i]!);
    });
    const mirror: RequestInfo = {
      transport: 'http',
      verb: route.verb,
      path,
      headers,
      query: parseQuery(qs.slice(1)),
      body: parsedBody,
      pathParams: pathParameters,
    };
    let serverParams: unknown;
    try {
      serverParams = defaultHttpParams(method, mirror);
    } catch {
      reasons.push('httpParams refuses the request');
    }
    if (serverParams !== undefined) {
      const copy = parseJson(toJsonText(serverParams));
      const schema = schemaErrors(method, copy.ok ? copy.value : serverParams, isQueryVerb);
      if (schema) reasons.push(schema);
      if (profile.writes && method.id !== 'callBatch' && parsedBody !== undefined && contentType !== 'application/x-www-form-urlencoded') {
        reasons.push(...mutationLimitReasons(profile, c.mutation, copy.ok ? copy.value : serverParams, parsedBody));
      }
    }
  }
  if (c.oddity === 'wrong-origin' && method.id === 'auth.login') reasons.push('untrusted origin');
  const mustRefuse = reasons.length > 0;
  return {
    fuzzCase: c,
    request,
    mustRefuse,
    reasons,
    ...(batchMustFail ? { batchMustFail } : {}),
    label: `${method.id} ${route.verb} ${route.path} [token ${c.token}] ${describeMutation(c.mutation)}${c.oddity ? ` + ${c.oddity}` : ''}`,
  };
}

/** Where a case goes: cases that must be refused, and reads, to the main user; the rest to the scratch user. */
export function targetsMainUser(rendered: RenderedCase): boolean {
  const c = rendered.fuzzCase;
  if (c.mutation.kind === 'batch-calls' && !rendered.mustRefuse) return rendered.batchMustFail!.every(Boolean);
  return rendered.mustRefuse || c.route.verb === 'GET';
}
