import type { Config } from '../config';
import type { Prefetched } from '../domain/caller';
import type { Access, AccessType } from '../model/accesses';
import type { UploadedFile } from '../model/uploads';
import type { CounterAdd, ItemInsert } from '../store/call-records';
import type { ObjectArea } from '../store/keys';
import type { JsonSchema } from '../validation';

export type HttpVerb = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** A route in API Gateway syntax: `{name}` path variables, e.g. `/{username}/events/{id}`. */
export interface HttpRoute {
  verb: HttpVerb;
  path: string;
}

/** Transport-neutral view of one incoming request (HTTP, batch or socket). */
export interface RequestInfo {
  transport: 'http' | 'batch' | 'socket';
  verb: string;
  path: string;
  headers: Record<string, string>;
  query: Record<string, string | string[]>;
  /** Parsed body: JSON value, or the fields of a form. `undefined` when empty. */
  body: unknown;
  pathParams: Record<string, string>;
  ip?: string;
  userAgent?: string;
  /** Token from Authorization (raw, Bearer, Basic) or `?auth=` / `_auth` (spec §1.3). */
  token?: string;
  callerId?: string;
  requestId?: string;
  /** Files of a multipart request (attachments). */
  files?: UploadedFile[];
}

/** What a method implementation may set on the HTTP answer besides its body. */
export interface ResponseExtras {
  status?: number;
  headers: Record<string, string>;
  cookies: string[];
  /** A non-JSON answer (file downloads): sent as is instead of the JSON envelope. */
  raw?: Buffer;
  /**
   * The answer's JSON object, serialized by the method (which had to measure it: large HF
   * series reads): sent with `meta` added, in place of the returned body. HTTP only.
   */
  json?: string;
}

/**
 * One method call as the transports run it: the request, what the answer carries besides
 * its body, usage and time limits. Domain code gets a Caller instead (./caller.ts).
 */
export interface MethodContext {
  methodId: string;
  config: Config;
  request: RequestInfo;
  /** Time of the call, Unix seconds (float). */
  now: number;
  /** The path's `{username}`, once authenticate checked it. */
  username?: string;
  /** The access authenticate found for the token (or a download's reader). */
  access?: Access;
  response: ResponseExtras;
  /** Successful calls per method key (`events:get`), written to the access once per request. */
  usage: Map<string, number>;
  /** When the invocation must have answered (ms since epoch, a margin before the Lambda timeout). */
  deadline?: number;
  /** What authenticate read with the token for the method's first use (domain/caller.ts). */
  prefetched?: Prefetched;
  /** Set by auth.logout: this request's usage record must not slide the session forward. */
  sessionEnded?: boolean;
  /** Set while callBatch runs its calls: their changes are told by the fan-out, coalesced (domain/caller.ts). */
  inBatch?: boolean;
  /** Work a call started after its commit (a direct push to sockets), finished beside the usage and audit writes. */
  afterCommit?: Promise<void>[];
  /** Counter adds of the call's writes (storage usage, a series' tally), written with its usage and audit records. */
  counters?: CounterAdd[];
  /** New items of the call's writes (a series' segment), written with its usage and audit records, before the answer. */
  inserts?: ItemInsert[];
  /** Work to run once the records and new items are written, before the answer (a series' compaction). */
  afterRecords?: Array<() => Promise<void>>;
}

/**
 * Who may call a method: `none` = anyone; `token` = an access of the path user, of one
 * of `accessTypes`; `admin` = the admin key in `Authorization` (system API, spec §2.16).
 */
export type MethodAuth = 'none' | 'token' | 'admin';

export type MethodResult = Record<string, unknown>;

/**
 * What a method's function needs beyond the table (which every method may use; the bucket's
 * areas are declared apart, in `bucket`). The deployment gives each function exactly what its method declares:
 * `adminKey` reads the admin key secret (system API, account deletion); `filesSecret` reads
 * the secret of attachment read tokens (Pryv API reference §2.2.6: every answer carrying
 * events); `mail` sends mail through SES when a sender is configured; `socketManagement`
 * posts to and closes WebSocket connections (Socket.IO).
 */
export type Capability = 'adminKey' | 'filesSecret' | 'mail' | 'socketManagement';

/** One API method, declared once (shared/api/registry.ts lists them all). */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds methods of every params type; each declaration narrows P
export interface MethodDef<P = any> {
  id: string;
  routes: HttpRoute[];
  auth: MethodAuth;
  accessTypes?: AccessType[];
  /** ajv schema of the params, after `httpParams` assembled them. */
  params: JsonSchema;
  /** HTTP status on success (201 for creations, spec §1.5). */
  status?: number;
  /** May be called inside callBatch and over sockets (default: methods with `token` auth). */
  batchable?: boolean;
  /** What its function is granted besides the table and the bucket (none when absent). */
  capabilities?: readonly Capability[];
  /**
   * The bucket's areas (shared/store/keys.ts OBJECT_AREAS) its code reads or writes: its
   * function may touch objects under those prefixes only, and none when absent. Each area a
   * method can reach must be here: `npm run test:bundled` checks every S3 call against it.
   */
  bucket?: readonly ObjectArea[];
  /**
   * Files the HTTP request may (`optional`) or must (`required`) carry as `multipart/form-data`
   * parts (attachments, spec §1.4); absent: JSON only. Describes the request (the OpenAPI
   * document); the transports parse any multipart body.
   */
  files?: 'optional' | 'required';
  /**
   * Ids of the other methods its `run` calls through runMethod: their parameter validators
   * (./params-validators.ts) are bundled with its own.
   */
  alsoRuns?: readonly string[];
  /** Builds the params from an HTTP request (default: query for GET/DELETE, body otherwise, plus path ids). */
  httpParams?: (request: RequestInfo) => unknown;
  /** Answer shape for errors: Pryv's wrapped `{error}` or the register service's flat one. */
  run: (ctx: MethodContext, params: P) => Promise<MethodResult>;
}

export const ALL_ACCESS_TYPES: AccessType[] = ['personal', 'app', 'shared'];

/**
 * Declarations call it as `export const x = /* @__PURE__ *\/ defineMethod({…})`: the mark lets
 * esbuild drop the other methods of the same file (and the domain code only they import) from
 * a function's bundle, since a call is otherwise kept for its possible side effects.
 */
export function defineMethod<P>(def: MethodDef<P>): MethodDef<P> {
  return def;
}

/** Authorship fields a client may send on creation: accepted by schemas, overwritten by the server. */
export const SERVER_OWNED_FIELDS = { created: {}, createdBy: {}, modified: {}, modifiedBy: {} } as const;

/**
 * Update schemas list protected fields as known (so they are not "unknown fields" → 400):
 * updating one is refused with 403 by {@link rejectProtectedFields} (spec §2.2.4, §9.13).
 */
export const acceptedFields = (fields: Iterable<string>): Record<string, object> => Object.fromEntries([...fields].map((f) => [f, {}]));
