import { log } from '../log';
import { METRIC, type MetricValue, recordMetrics } from '../metrics';
import type { MethodContext } from './types';

/**
 * The one line and the metrics of each API call, whatever carried it (HTTP, each call inside
 * callBatch, a socket call): README "Operating it: logs, metrics, alarms".
 *
 * The line holds who and what, never the content: method id, transport, status, Pryv error id,
 * duration, request id (the batch's for its inner calls, with their index), access id and
 * username. Left out on purpose: the token (any of its forms: header, `?auth=`, cookie,
 * socket handshake), the parameters and body (passwords, MFA codes, access tokens and
 * webhook secrets travel there), read tokens and file paths with them, headers and cookies,
 * error messages and data (they may quote the input).
 */
export interface CallOutcome {
  status: number;
  /** The Pryv error id of an error answer. */
  errorId?: string;
}

export function observeCall(
  methodId: string,
  ctx: MethodContext | undefined,
  outcome: CallOutcome,
  startedAt: number,
  extra: { batchIndex?: number; transport?: string } = {},
): void {
  const durationMs = Math.round((performance.now() - startedAt) * 10) / 10;
  const fields = {
    methodId,
    transport: extra.transport ?? ctx?.request.transport,
    status: outcome.status,
    errorId: outcome.errorId,
    durationMs,
    requestId: ctx?.request.requestId,
    batchIndex: extra.batchIndex,
    accessId: ctx?.access?.id,
    username: ctx?.username,
  };
  // Server faults are the operator's to see at any level; everything else is the normal flow.
  if (outcome.status >= 500) log.warn('call', fields);
  else log.info('call', fields);
  const values: MetricValue[] = [
    { name: METRIC.calls, unit: 'Count', value: 1 },
    { name: METRIC.callDuration, unit: 'Milliseconds', value: durationMs },
  ];
  recordMetrics({ method: methodId }, values);
  if (outcome.errorId) recordMetrics({ errorId: outcome.errorId }, [{ name: METRIC.errors, unit: 'Count', value: 1 }]);
}
