/**
 * Tells a fault of the services we call (DynamoDB, S3: unreachable, throttled, timing out,
 * failing on their side) from a bug of ours. The first is answered `503 api-unavailable`
 * with a retry hint (README "Faults and retries"); only the second is a 500.
 */

/** SDK error names that mean "the service could not do it now", not "the request is wrong". */
const SERVICE_FAULT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'InternalServerError',
  'InternalFailure',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'SlowDown',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'NetworkingError',
  'TransactionInProgressException',
]);

/** Node socket errors: the service is down, restarting, or unreachable. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Cancellation reasons of a transaction that a later attempt may not meet. */
const TRANSIENT_CANCELLATIONS = new Set(['ThrottlingError', 'ProvisionedThroughputExceeded', 'TransactionConflict']);

interface SdkLikeError {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
  $fault?: unknown;
  CancellationReasons?: Array<{ Code?: string }>;
}

/** True when `err` (or what caused it) is a fault of a service, worth a retry later. */
export function isServiceFault(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 4) return false;
  const e = err as SdkLikeError;
  if (typeof e.name === 'string' && SERVICE_FAULT_NAMES.has(e.name)) return true;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  if (typeof e.message === 'string' && /socket hang up|connect ECONNREFUSED/.test(e.message)) return true;
  if (e.name === 'TransactionCanceledException' && e.CancellationReasons?.some((r) => TRANSIENT_CANCELLATIONS.has(r.Code ?? ''))) {
    return true;
  }
  // The SDK marks errors it would retry (throttling, transient) and service-side ones (5xx).
  if (e.$retryable !== undefined && e.$retryable !== null) return true;
  if (e.$fault === 'server') return true;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status >= 500) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isServiceFault(inner, depth + 1))) return true;
  return isServiceFault(e.cause, depth + 1);
}
