/**
 * Errors as data: one PryvError, thrown anywhere, rendered once (shared/http/envelope.ts).
 * Ids and status codes follow spec §1.6.
 */
export class PryvError extends Error {
  constructor(
    readonly id: string,
    readonly status: number,
    message: string,
    readonly data?: unknown,
    /** Seconds after which a retry may succeed: sent as the `Retry-After` header. */
    readonly retryAfterS?: number,
  ) {
    super(message);
    this.name = 'PryvError';
  }

  toJSON(): { id: string; message: string; data?: unknown } {
    const out: { id: string; message: string; data?: unknown } = { id: this.id, message: this.message };
    if (this.data !== undefined) out.data = this.data;
    return out;
  }
}

/**
 * The register service's un-wrapped error body (`{id, message, detail}`), still spoken by
 * a few `/reg/*` routes (spec §1.6, "Register-service style errors").
 */
export class RegisterError extends Error {
  constructor(
    readonly id: string,
    readonly status: number,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'RegisterError';
  }
}

const SERVICE_FAULT_RETRY_AFTER_S = 5;
const CONTENDED_RETRY_AFTER_S = 1;

export const errors = {
  invalidRequestStructure: (message: string, data?: unknown) => new PryvError('invalid-request-structure', 400, message, data),
  invalidParametersFormat: (message: string, data?: unknown) => new PryvError('invalid-parameters-format', 400, message, data),
  invalidItemId: (message: string) => new PryvError('invalid-item-id', 400, message),
  invalidOperation: (message: string, data?: unknown) => new PryvError('invalid-operation', 400, message, data),
  unknownReferencedResource: (what: string, data: unknown) =>
    new PryvError('unknown-referenced-resource', 400, `Unknown referenced ${what}.`, data),
  invitationTokenInvalid: () =>
    new PryvError('invitationToken-invalid', 400, 'The invitation token is invalid.', { param: 'invitationToken' }),
  missingToken: () =>
    new PryvError(
      'invalid-access-token',
      401,
      'Misformed access token: expected an Authorization header or an auth query string parameter.',
    ),
  invalidAccessToken: (message = 'Cannot find access from token.', status = 403) => new PryvError('invalid-access-token', status, message),
  invalidCredentials: (message = 'The given username/password pair is invalid.', data?: unknown) =>
    new PryvError('invalid-credentials', 401, message, data),
  forbidden: (message = 'You do not have permission to perform this action.') => new PryvError('forbidden', 403, message),
  unknownResource: (what = 'resource', id?: string) =>
    new PryvError('unknown-resource', 404, id ? `Unknown ${what} "${id}".` : `Unknown ${what}.`, id ? { id } : undefined),
  unknownUser: (username: string) => new PryvError('unknown-resource', 404, `Unknown user "${username}".`),
  invalidMethod: (methodId: string) => new PryvError('invalid-method', 404, `Invalid method id "${methodId}".`),
  itemAlreadyExists: (what: string, conflicts: Record<string, unknown>) =>
    new PryvError(
      'item-already-exists',
      409,
      `A ${what} with ${Object.keys(conflicts)
        .map((k) => `${k} "${String(conflicts[k])}"`)
        .join(' and ')} already exists.`,
      conflicts,
    ),
  /** [v2] An access id whose `:{serial}` is not the access's current version (spec §2.4): the client read an older version. */
  staleResource: (what: string, provided: string, currentSerial: number | null) =>
    new PryvError(
      'stale-resource',
      409,
      `The ${what} "${provided}" is not the current version (current serial: ${currentSerial ?? 'none'}); read it again before changing it.`,
      { provided, currentSerial },
    ),
  removedMethod: (methodId: string) => new PryvError('removed-method', 410, `The method "${methodId}" has been removed.`),
  tooManyResults: (limit: number) => new PryvError('too-many-results', 413, `The result exceeds the limit of ${limit} items.`, { limit }),
  payloadTooLarge: (limit: number, message = `The request body exceeds ${limit} bytes.`, data: Record<string, unknown> = {}) =>
    new PryvError('invalid-request-structure', 413, message, { limit, ...data }),
  unsupportedContentType: (type: string, message = `Unsupported content type "${type}".`) =>
    new PryvError('unsupported-content-type', 415, message),
  unexpected: () => new PryvError('unexpected-error', 500, 'An unexpected error occurred. Our bad! Please retry.'),
  /** A fault of the server or the services it calls, or contention: retry after `retryAfterS` (README "Faults and retries"). */
  apiUnavailable: (message: string, retryAfterS = 1) => new PryvError('api-unavailable', 503, message, undefined, retryAfterS),
  serviceFault: () =>
    new PryvError(
      'api-unavailable',
      503,
      'The service is temporarily unavailable (its database or file storage did not answer); retry in a moment.',
      undefined,
      SERVICE_FAULT_RETRY_AFTER_S,
    ),
  /** Still contended after the bounded retries of shared/domain/concurrency.ts. */
  contended: (what: string) =>
    new PryvError(
      'api-unavailable',
      503,
      `The ${what} is being changed by too many requests at once; retry in a moment.`,
      undefined,
      CONTENDED_RETRY_AFTER_S,
    ),
  /** Not in Pryv v1: auth.login throttling (README "Brute-force protection"). */
  tooManyAttempts: (retryAfterSeconds: number) =>
    new PryvError(
      'too-many-attempts',
      429,
      `Too many failed login attempts; retry in ${retryAfterSeconds} s.`,
      { retryAfterSeconds },
      retryAfterSeconds,
    ),
};

/** Refuses an update that touches server-owned fields: 403 forbidden, naming them (spec §9.13). */
export function rejectProtectedFields(update: object, protectedFields: Iterable<string>): void {
  const set = new Set(protectedFields);
  const touched = Object.keys(update).filter((k) => set.has(k));
  if (touched.length > 0) {
    throw errors.forbidden(`Forbidden update was attempted on the following protected field(s): [${touched.join(', ')}].`);
  }
}
