import { beforeAll, describe, expect, it } from 'vitest';
import { ALARM_THRESHOLDS } from '../../infra/constructs/observability';
import { readSettings } from '../../infra/settings';
import { METRIC } from '../../shared/metrics';
import { type Synthesized, synthesize } from './synth';

type Resource = { Type: string; Properties: Record<string, any>; Metadata?: Record<string, any> };

const TOPIC = 'arn:aws:sns:eu-central-1:123456789012:pryv-alarms';

describe('logs, metrics, alarms and dashboard (default settings)', { timeout: 240_000 }, () => {
  let synth: Synthesized;
  let resources: Record<string, Resource>;
  /** Alarms and the dashboard: the Monitoring nested stack. */
  let monitoring: Record<string, Resource>;
  /** What the main stack passes to each of the nested stack's parameters. */
  let passed: Record<string, any>;
  beforeAll(() => {
    synth = synthesize();
    resources = synth.template.toJSON().Resources;
    monitoring = synth.monitoring.toJSON().Resources;
    const [nested] = Object.entries(resources).filter(([id, r]) => r.Type === 'AWS::CloudFormation::Stack' && id.startsWith('Monitoring'));
    passed = nested![1].Properties.Parameters ?? {};
  });
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const alarms = (): Array<Record<string, any>> =>
    Object.entries(monitoring)
      .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
      .map(([id, r]) => ({ id, ...r.Properties }));
  /** A dimension value inside the nested stack, as the main stack gives it (`{Ref: parameter}` → its value there). */
  const outside = (value: any) => (value?.Ref && passed[value.Ref] !== undefined ? passed[value.Ref] : value);
  /** Every metric an alarm reads, as `namespace/name` with its dimensions. */
  const alarmMetrics = (alarm: Record<string, any>) =>
    (
      alarm.Metrics ?? [
        { MetricStat: { Metric: { Namespace: alarm.Namespace, MetricName: alarm.MetricName, Dimensions: alarm.Dimensions } } },
      ]
    )
      .filter((m: any) => m.MetricStat)
      .map((m: any) => m.MetricStat.Metric);

  it('every function gets the metrics namespace of its stack, and no log level, sampling or tracing unless set', () => {
    const fns = ofType('AWS::Lambda::Function').filter(([, r]) => r.Properties.Environment?.Variables?.TABLE_NAME);
    expect(fns.length).toBeGreaterThan(80);
    for (const [, fn] of fns) {
      const env = fn.Properties.Environment.Variables;
      expect(env.POWERTOOLS_METRICS_NAMESPACE).toBe('Pryv/TestStack');
      expect(env.LOG_LEVEL).toBeUndefined();
      expect(env.POWERTOOLS_LOGGER_SAMPLE_RATE).toBeUndefined();
      expect(env.TRACING).toBeUndefined();
      expect(fn.Properties.TracingConfig).toBeUndefined();
    }
  });

  it('every log group, in the stack and in its log-group stack, has a retention', () => {
    const groups = [
      ...ofType('AWS::Logs::LogGroup').map(([, r]) => r),
      ...Object.values<Resource>(synth.logGroups.toJSON().Resources).filter((r) => r.Type === 'AWS::Logs::LogGroup'),
    ];
    expect(groups.length).toBeGreaterThan(85);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
  });

  it("every function, CDK's own included, logs into a log group of the stack (none into a group kept forever)", () => {
    const fns = ofType('AWS::Lambda::Function');
    expect(fns.some(([id]) => id.startsWith('CustomCDKBucketDeployment'))).toBe(true);
    for (const [id, fn] of fns) {
      const group = fn.Properties.LoggingConfig?.LogGroup;
      expect(group, id).toBeDefined();
      // A log group of the nested log-group stack, passed back as one of its outputs.
      expect(JSON.stringify(group), id).toMatch(/LogGroups/);
    }
  });

  it('alarm on the HTTP API 5xx rate: metric math over the API’s 5xx and request counts, 5% in 2 periods', () => {
    const [alarm] = alarms().filter((a) => a.id.startsWith('AlarmHttp5xxRate'));
    expect(alarm).toBeDefined();
    expect(alarm!.Threshold).toBe(ALARM_THRESHOLDS.http5xxPercent);
    expect(alarm!.EvaluationPeriods).toBe(2);
    const expression = alarm!.Metrics.find((m: any) => m.Expression).Expression;
    expect(expression).toBe('IF(requests >= 20, 100 * errors / requests, 0)');
    expect(
      alarmMetrics(alarm!)
        .map((m: any) => `${m.Namespace}/${m.MetricName}`)
        .sort(),
    ).toEqual(['AWS/ApiGateway/5xx', 'AWS/ApiGateway/Count']);
  });

  it('Lambda errors and throttles of every function are alarmed, at most 10 functions per alarm', () => {
    const fnIds = ofType('AWS::Lambda::Function').map(([id]) => id);
    for (const kind of ['Errors', 'Throttles']) {
      const covered = new Set<string>();
      const group = alarms().filter((a) => a.id.startsWith(`AlarmLambda${kind}`));
      expect(group.length).toBeGreaterThan(0);
      for (const alarm of group) {
        const metrics = alarmMetrics(alarm);
        expect(metrics.length).toBeLessThanOrEqual(10);
        for (const m of metrics) {
          expect(`${m.Namespace}/${m.MetricName}`).toBe(`AWS/Lambda/${kind}`);
          covered.add(outside(m.Dimensions[0].Value).Ref);
        }
      }
      // Every function of ours (those with the stack's environment) is in one of the sums.
      const ours = ofType('AWS::Lambda::Function')
        .filter(([, r]) => r.Properties.Environment?.Variables?.TABLE_NAME)
        .map(([id]) => id);
      expect(ours.filter((id) => !covered.has(id))).toEqual([]);
      expect([...covered].every((id) => fnIds.includes(id))).toBe(true);
    }
  });

  it('every dead-letter queue (every queue of the stack) has a depth alarm', () => {
    const queues = ofType('AWS::SQS::Queue').map(([id]) => id);
    expect(queues.length).toBeGreaterThanOrEqual(2);
    const watched = alarms()
      .filter((a) => alarmMetrics(a).some((m: any) => m.MetricName === 'ApproximateNumberOfMessagesVisible'))
      .map((a) => {
        expect(a.Threshold).toBe(ALARM_THRESHOLDS.deadLetters);
        const [metric] = alarmMetrics(a);
        expect(metric.Namespace).toBe('AWS/SQS');
        return outside(metric.Dimensions[0].Value)['Fn::GetAtt'][0];
      });
    expect(watched.sort()).toEqual(queues.sort());
  });

  it('the fan-out’s stream iterator age is alarmed at a minute', () => {
    const [alarm] = alarms().filter((a) => alarmMetrics(a).some((m: any) => m.MetricName === 'IteratorAge'));
    expect(alarm!.Threshold).toBe(ALARM_THRESHOLDS.fanoutIteratorAgeMs);
    const stat = alarm!.Metrics.find((m: any) => m.MetricStat).MetricStat;
    expect(stat).toMatchObject({ Stat: 'Maximum', Metric: { Namespace: 'AWS/Lambda' } });
    expect(outside(stat.Metric.Dimensions[0].Value).Ref).toMatch(/^Fnnotifyfanout/);
  });

  it('webhook failure rate and audit-write failures are alarmed on the service’s own EMF metrics, in the stack’s namespace', () => {
    const [webhooks] = alarms().filter((a) => a.id.startsWith('AlarmWebhookFailureRate'));
    const names = alarmMetrics(webhooks!).map((m: any) => `${m.Namespace}/${m.MetricName}`);
    expect(names.sort()).toEqual([`Pryv/TestStack/${METRIC.webhookDeliveries}`, `Pryv/TestStack/${METRIC.webhookFailures}`]);
    for (const m of alarmMetrics(webhooks!)) expect(m.Dimensions).toEqual([{ Name: 'service', Value: 'pryv' }]);
    expect(webhooks!.Threshold).toBe(ALARM_THRESHOLDS.webhookFailurePercent);
    const [audit] = alarms().filter((a) => a.MetricName === METRIC.auditWriteFailures);
    expect(audit).toMatchObject({ Namespace: 'Pryv/TestStack', Threshold: 1, Dimensions: [{ Name: 'service', Value: 'pryv' }] });
  });

  it('without alarmTopicArn the alarms have no action; they are acknowledged for cdk-nag, which finds nothing else', () => {
    for (const alarm of alarms()) expect(alarm.AlarmActions).toBeUndefined();
    expect(synth.findings).toEqual([]);
  });

  it('one dashboard shows the alarms, the API, the functions, calls per method, errors per id, the fan-out, webhooks and dead letters', () => {
    const dashboards = Object.entries(monitoring).filter(([, r]) => r.Type === 'AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]![1].Properties.DashboardBody);
    for (const part of [
      'Alarms',
      'HTTP API',
      'Lambda errors and throttles',
      'Calls per method',
      'Errors per error id',
      METRIC.callDuration,
      'IteratorAge',
      METRIC.fanoutLag,
      METRIC.webhookFailures,
      METRIC.socketPushes,
      'ApproximateNumberOfMessagesVisible',
      METRIC.auditWriteFailures,
    ]) {
      expect(body).toContain(part);
    }
  });

  it('stays under the resource budget', () => {
    expect(Object.keys(resources).length).toBeLessThan(450);
  });
});

describe('logs, metrics, alarms: settings', { timeout: 240_000 }, () => {
  it('alarmTopicArn sends every alarm and its recovery to the topic; logLevel, logDebugSampleRate and tracing reach every function', () => {
    const { template, monitoring, findings } = synthesize({
      alarmTopicArn: TOPIC,
      logLevel: 'debug',
      logDebugSampleRate: '0.05',
      tracing: 'on',
    });
    const resources: Record<string, Resource> = template.toJSON().Resources;
    const alarms = Object.values<Resource>(monitoring.toJSON().Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThan(10);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([TOPIC]);
      expect(alarm.Properties.OKActions).toEqual([TOPIC]);
    }
    const fns = Object.values(resources).filter(
      (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.TABLE_NAME,
    );
    for (const fn of fns) {
      expect(fn.Properties.Environment.Variables).toMatchObject({
        LOG_LEVEL: 'debug',
        POWERTOOLS_LOGGER_SAMPLE_RATE: '0.05',
        TRACING: 'on',
      });
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    }
    expect(findings).toEqual([]);
  });

  it('are checked before anything is built', () => {
    const problems = (context: Record<string, string>, region = 'eu-central-1') => {
      try {
        readSettings(context, region);
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(problems({ logLevel: 'verbose' })).toMatch(/logLevel: expected one of debug, info, warn, error, silent/);
    expect(problems({ logDebugSampleRate: '2' })).toMatch(/logDebugSampleRate: expected a share/);
    expect(problems({ logDebugSampleRate: 'often' })).toMatch(/logDebugSampleRate/);
    expect(problems({ tracing: 'yes' })).toMatch(/tracing: expected "on" or "off"/);
    expect(problems({ alarmTopicArn: 'pryv-alarms' })).toMatch(/alarmTopicArn: expected an SNS topic ARN/);
    expect(problems({ alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:pryv-alarms' })).toMatch(
      /the topic is in us-east-1, the stack in eu-central-1/,
    );
    expect(readSettings({ logLevel: 'WARN', logDebugSampleRate: '0.01', tracing: 'off', alarmTopicArn: TOPIC }, 'eu-central-1')).toEqual({
      logLevel: 'warn',
      logDebugSampleRate: 0.01,
      alarmTopicArn: TOPIC,
    });
  });
});
