import type { IncomingMessage, ServerResponse } from 'node:http';
import { type MetricSeries, metricTotals } from '../../shared/metrics';

/**
 * `GET /metrics` on the local gateway: the service's metrics (shared/metrics.ts) as running
 * totals in Prometheus text format, so they can be seen without AWS (README "Operating it:
 * logs, metrics, alarms"). Answered to loopback clients only: anyone else gets the API's
 * answer for an unknown path. Counts are counters (`pryv_calls_total`); times are summaries
 * without quantiles (`pryv_call_duration_ms_sum`, `_count`) plus their largest value (`_max`).
 */
export const METRICS_PATH = '/metrics';

/** `CallDuration` → `call_duration`. */
const snake = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function labels(dimensions: Readonly<Record<string, string>>): string {
  const entries = Object.entries(dimensions).sort(([a], [b]) => (a < b ? -1 : 1));
  return entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${snake(k)}="${escapeLabel(v)}"`).join(',')}}`;
}

/** The Prometheus text exposition of the given series, grouped by metric. */
export function prometheusText(series: MetricSeries[]): string {
  const byName = new Map<string, MetricSeries[]>();
  for (const s of series) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  const lines: string[] = [];
  for (const [name, all] of [...byName].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (all[0]!.unit === 'Count') {
      const metric = `pryv_${snake(name)}_total`;
      lines.push(`# TYPE ${metric} counter`);
      for (const s of all) lines.push(`${metric}${labels(s.dimensions)} ${s.sum}`);
    } else {
      const metric = `pryv_${snake(name)}_ms`;
      lines.push(`# TYPE ${metric} summary`);
      for (const s of all) {
        lines.push(`${metric}_sum${labels(s.dimensions)} ${s.sum}`, `${metric}_count${labels(s.dimensions)} ${s.count}`);
      }
      lines.push(`# TYPE ${metric}_max gauge`);
      for (const s of all) lines.push(`${metric}_max${labels(s.dimensions)} ${s.max}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/** Answers `GET /metrics` from a loopback client; false when the request is anything else. */
export function serveMetrics(req: IncomingMessage, res: ServerResponse, pathname: string): boolean {
  if (req.method !== 'GET' || pathname !== METRICS_PATH || !LOOPBACK.test(req.socket.remoteAddress ?? '')) return false;
  const body = prometheusText(metricTotals());
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
  return true;
}
