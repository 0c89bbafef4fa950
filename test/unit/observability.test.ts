import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prometheusText } from '../../infra/local/metrics-endpoint';
import { newContext } from '../../shared/api/execute';
import { observeCall } from '../../shared/api/observe';
import { humanLine, log, withLogContext } from '../../shared/log';
import { METRIC, metricTotals } from '../../shared/metrics';

/** What this process writes to stdout and stderr while `fn` runs. */
async function captured(fn: () => unknown | Promise<unknown>): Promise<{ out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const originals = { out: process.stdout.write, err: process.stderr.write };
  const into = (lines: string[]) =>
    ((chunk: string) => {
      lines.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
  process.stdout.write = into(out);
  process.stderr.write = into(err);
  try {
    await fn();
  } finally {
    process.stdout.write = originals.out;
    process.stderr.write = originals.err;
  }
  return { out: out.join(''), err: err.join('') };
}
const jsonLines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, any>);

describe('shared/log.ts (Powertools Logger)', () => {
  beforeEach(() => {
    process.env.LOG_LEVEL = 'info';
    process.env.LOG_FORMAT = 'json';
  });
  afterEach(() => {
    delete process.env.LOG_FORMAT;
    process.env.LOG_LEVEL = 'silent';
  });

  it('writes one JSON line per call with the level, the message and the fields; warnings and errors to stderr', async () => {
    const { out, err } = await captured(() => {
      log.info('hello', { a: 1, skipped: undefined });
      log.error('broken', { err: new TypeError('bad') });
    });
    const [info] = jsonLines(out);
    expect(info).toMatchObject({ level: 'INFO', message: 'hello', a: 1, service: 'pryv' });
    expect(info).not.toHaveProperty('skipped');
    expect(Date.parse(info!.timestamp)).not.toBeNaN();
    const [error] = jsonLines(err);
    expect(error).toMatchObject({ level: 'ERROR', message: 'broken', err: { name: 'TypeError', message: 'bad' } });
  });

  it('carries the fields of withLogContext on every line inside it, across awaits, nested, without leaking out', async () => {
    const { out } = await captured(async () => {
      const one = withLogContext({ requestId: 'r-1' }, async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        log.info('first', { step: 1 });
        await withLogContext({ username: 'alice' }, async () => log.info('nested'));
      });
      const two = withLogContext({ requestId: 'r-2' }, async () => log.info('second'));
      await Promise.all([one, two]);
      log.info('outside');
    });
    const byMessage = Object.fromEntries(jsonLines(out).map((l) => [l.message, l]));
    expect(byMessage.first).toMatchObject({ requestId: 'r-1', step: 1 });
    expect(byMessage.nested).toMatchObject({ requestId: 'r-1', username: 'alice' });
    expect(byMessage.second).toMatchObject({ requestId: 'r-2' });
    expect(byMessage.second).not.toHaveProperty('username');
    expect(byMessage.outside).not.toHaveProperty('requestId');
  });

  it('follows LOG_LEVEL: debug lines only at debug, nothing at silent', async () => {
    const quiet = await captured(() => log.debug('not shown'));
    expect(quiet.out).toBe('');
    process.env.LOG_LEVEL = 'debug';
    const loud = await captured(() => log.debug('shown'));
    expect(jsonLines(loud.out)[0]).toMatchObject({ level: 'DEBUG', message: 'shown' });
    process.env.LOG_LEVEL = 'silent';
    const silent = await captured(() => log.error('nothing'));
    expect(silent.out + silent.err).toBe('');
  });

  it('the terminal format is one compact line: time, level, message, then the fields', () => {
    const line = humanLine({
      level: 'INFO',
      message: 'call',
      timestamp: '2026-12-06T04:01:02.345Z',
      service: 'pryv',
      sampling_rate: 0,
      methodId: 'events.get',
      status: 200,
      note: 'two words',
    });
    expect(line).toBe('04:01:02.345 INFO  call methodId=events.get status=200 note="two words"');
  });
});

describe('call lines and metrics (shared/api/observe.ts, shared/metrics.ts)', () => {
  beforeEach(() => {
    process.env.LOG_LEVEL = 'info';
    process.env.LOG_FORMAT = 'json';
    // As in a function of the stack: EMF lines are written.
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'Fn-events-get';
    process.env.POWERTOOLS_METRICS_NAMESPACE = 'Pryv/TestStack';
  });
  afterEach(() => {
    delete process.env.AWS_LAMBDA_FUNCTION_NAME;
    delete process.env.POWERTOOLS_METRICS_NAMESPACE;
    delete process.env.LOG_FORMAT;
  });

  it('a call writes its line (no token, no parameters) and one EMF document with Calls and CallDuration per method; an error adds Errors per error id', async () => {
    const ctx = newContext('events.get', {
      transport: 'http',
      verb: 'GET',
      path: '/alice/events',
      headers: { authorization: 'secret-token-value' },
      query: { auth: 'secret-token-value' },
      body: { password: 'secret-password' },
      pathParams: { username: 'alice' },
      token: 'secret-token-value',
      requestId: 'req-1',
    });
    ctx.username = 'alice';
    const started = performance.now() - 12;
    const { out } = await captured(() => {
      observeCall('events.get', ctx, { status: 200 }, started);
      observeCall('events.get', ctx, { status: 403, errorId: 'forbidden' }, started);
    });
    expect(out).not.toContain('secret');
    const lines = jsonLines(out);
    const calls = lines.filter((l) => l.message === 'call');
    expect(calls[0]).toMatchObject({ methodId: 'events.get', transport: 'http', status: 200, requestId: 'req-1', username: 'alice' });
    expect(calls[0]!.durationMs).toBeGreaterThanOrEqual(12);
    expect(calls[1]).toMatchObject({ status: 403, errorId: 'forbidden' });

    const emf = lines.filter((l) => l._aws);
    const perMethod = emf.filter((l) => l.method === 'events.get');
    expect(perMethod).toHaveLength(2);
    const [doc] = perMethod;
    expect(doc!._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'Pryv/TestStack',
      Dimensions: [['service', 'method']],
      Metrics: expect.arrayContaining([
        { Name: METRIC.calls, Unit: 'Count' },
        { Name: METRIC.callDuration, Unit: 'Milliseconds' },
      ]),
    });
    expect(doc).toMatchObject({ service: 'pryv', [METRIC.calls]: 1 });
    const errors = emf.filter((l) => l.errorId === 'forbidden');
    expect(errors).toHaveLength(1);
    expect(errors[0]!._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service', 'errorId']]);
    expect(errors[0]![METRIC.errors]).toBe(1);

    // The running totals the local /metrics shows.
    const total = metricTotals().find((s) => s.name === METRIC.calls && s.dimensions.method === 'events.get');
    expect(total).toMatchObject({ count: 2, sum: 2 });
  });

  it('Prometheus text: counts as counters, times as summaries with their largest value, labels escaped', () => {
    const text = prometheusText([
      { name: METRIC.calls, unit: 'Count', dimensions: { method: 'events.get' }, count: 3, sum: 3, max: 1 },
      { name: METRIC.errors, unit: 'Count', dimensions: { errorId: 'odd"id' }, count: 1, sum: 1, max: 1 },
      { name: METRIC.callDuration, unit: 'Milliseconds', dimensions: { method: 'events.get' }, count: 3, sum: 30.5, max: 20 },
      { name: METRIC.webhookDeliveries, unit: 'Count', dimensions: {}, count: 2, sum: 2, max: 1 },
    ]);
    expect(text.split('\n')).toEqual([
      '# TYPE pryv_call_duration_ms summary',
      'pryv_call_duration_ms_sum{method="events.get"} 30.5',
      'pryv_call_duration_ms_count{method="events.get"} 3',
      '# TYPE pryv_call_duration_ms_max gauge',
      'pryv_call_duration_ms_max{method="events.get"} 20',
      '# TYPE pryv_calls_total counter',
      'pryv_calls_total{method="events.get"} 3',
      '# TYPE pryv_errors_total counter',
      'pryv_errors_total{error_id="odd\\"id"} 1',
      '# TYPE pryv_webhook_deliveries_total counter',
      'pryv_webhook_deliveries_total 2',
      '',
    ]);
  });
});
