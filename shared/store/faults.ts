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

/**
 * TLS failures (Node's codes): the service's certificate could not be trusted (expired, not yet
 * valid for this clock, for another name, not signed by a known authority) or the handshake
 * failed. Nothing the caller sent can fix it and retrying later may (a rotated certificate, a
 * corrected clock or proxy), so it is the service being unreachable, not a bug of ours.
 */
const TLS_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
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
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || TLS_CODES.has(e.code))) return true;
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
