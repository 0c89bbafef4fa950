import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { log } from './log';

/**
 * The service's own metrics (README "Operating it: logs, metrics, alarms"). In Lambda they are
 * written as CloudWatch Embedded Metric Format lines by Powertools Metrics, in the stack's
 * namespace (POWERTOOLS_METRICS_NAMESPACE), with the `service` dimension Powertools adds;
 * CloudWatch turns the lines into metrics, no API call is made. Every process also keeps
 * running totals, which the local runtime shows at `/metrics` (infra/local/metrics-endpoint.ts).
 *
 * Dimensions stay few and bounded (a method id, an error id), never a user or an id of data:
 * each distinct set is a metric CloudWatch bills for.
 */
export const METRIC = {
  /** API calls (HTTP, each call inside callBatch, socket calls), per method. */
  calls: 'Calls',
  /** Calls answered with an error, per Pryv error id. */
  errors: 'Errors',
  /** Time to answer a call, per method. */
  callDuration: 'CallDuration',
  /** Age of the oldest table change in a fan-out batch when the fan-out starts it. */
  fanoutLag: 'FanoutLag',
  /** Webhook calls made, and those answered by anything but a 2xx (or not answered). */
  webhookDeliveries: 'WebhookDeliveries',
  webhookFailures: 'WebhookFailures',
  /** Change messages sent to sockets. */
  socketPushes: 'SocketPushes',
  /** `events.get` reads answered from an answer kept by the container (shared/domain/events/answer-cache.ts), and those that could be but were read. */
  eventsAnswerHits: 'EventsAnswerHits',
  eventsAnswerMisses: 'EventsAnswerMisses',
  /** Audit records that could not be written. */
  auditWriteFailures: 'AuditWriteFailures',
} as const;
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** The `service` dimension of every metric (the stack's alarms and dashboard name it). */
export const METRICS_SERVICE = 'pryv';

export type Unit = 'Count' | 'Milliseconds';
export interface MetricValue {
  name: MetricName;
  unit: Unit;
  value: number;
}

/** A running total of one metric and dimension set: for counts `sum`, for times `sum`/`count`/`max`. */
export interface MetricSeries {
  name: MetricName;
  unit: Unit;
  dimensions: Readonly<Record<string, string>>;
  count: number;
  sum: number;
  max: number;
}

const totals = new Map<string, MetricSeries>();
let emf: Metrics | undefined;

/** EMF lines only where CloudWatch reads them: in a Lambda function of the stack (it sets the namespace). */
function emfWriter(): Metrics | undefined {
  if (!process.env.AWS_LAMBDA_FUNCTION_NAME || !process.env.POWERTOOLS_METRICS_NAMESPACE) return undefined;
  emf ??= new Metrics({ serviceName: METRICS_SERVICE });
  return emf;
}

/**
 * Records values that share dimensions (one EMF line for them all). Never throws: a metric
 * must not fail the call it describes.
 */
export function recordMetrics(dimensions: Record<string, string>, values: MetricValue[]): void {
  try {
    const dimensionsKey = values.length > 0 ? JSON.stringify(Object.entries(dimensions).sort()) : '';
    for (const { name, unit, value } of values) {
      const key = `${name}\u0000${dimensionsKey}`;
      let series = totals.get(key);
      if (!series) {
        series = { name, unit, dimensions: { ...dimensions }, count: 0, sum: 0, max: 0 };
        totals.set(key, series);
      }
      series.count++;
      series.sum += value;
      series.max = Math.max(series.max, value);
    }
    const writer = emfWriter();
    if (!writer || values.length === 0) return;
    // Synchronous from addDimensions to publish: no other call's values can slip in between.
    writer.addDimensions(dimensions);
    for (const { name, unit, value } of values) writer.addMetric(name, MetricUnit[unit], value);
    writer.publishStoredMetrics();
  } catch (err) {
    log.warn('metrics not recorded', { err });
  }
}

/** One count without dimensions (webhook deliveries, socket pushes…). */
export function countMetric(name: MetricName, value = 1): void {
  recordMetrics({}, [{ name, unit: 'Count', value }]);
}

/** The running totals of this process, for the local `/metrics` endpoint. */
export function metricTotals(): MetricSeries[] {
  return [...totals.values()];
}
