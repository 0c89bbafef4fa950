import { CfnResource, Duration, NestedStack, Stack } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { CfnFunction, type IFunction } from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { METRIC, METRICS_SERVICE } from '../../shared/metrics';
import { acknowledge } from './acknowledge';
import type { Functions } from './functions';

/** The namespace of the service's own metrics (EMF, shared/metrics.ts): one per stack. */
export const metricsNamespace = (stack: Stack) => `Pryv/${stack.stackName}`;

/**
 * The alarms' thresholds (README "Operating it: logs, metrics, alarms" lists them). Periods
 * are 5 minutes unless said; "rate" alarms only judge periods with enough traffic.
 */
export const ALARM_THRESHOLDS = {
  /** % of HTTP API answers that are 5xx, over at least 20 requests, in 2 periods running. */
  http5xxPercent: 5,
  /** Function errors (crashes, timeouts) per period, summed over up to 10 functions per alarm. */
  lambdaErrors: 5,
  /** Throttled invocations per period, summed likewise. */
  lambdaThrottles: 5,
  /** Messages waiting in a dead-letter queue. */
  deadLetters: 1,
  /** Age of the oldest stream record the fan-out is reading (ms), the notification delay. */
  fanoutIteratorAgeMs: 60_000,
  /** % of webhook calls failing, over at least 10 calls, per 15 minutes (receivers fail too). */
  webhookFailurePercent: 50,
  /** Audit records not written (each is also an error line with the record). */
  auditWriteFailures: 1,
} as const;

type Metric = cloudwatch.IMetric;
interface DashboardMetrics {
  requests: Metric;
  serverErrors: Metric;
  clientErrors: Metric;
  latency: Metric;
  http5xxRate: Metric;
  errorSums: Metric[];
  throttleSums: Metric[];
  dlqDepths: Metric[];
  iteratorAge: Metric;
  fanoutLag: Metric;
  deliveries: Metric;
  failures: Metric;
  socketPushes: Metric;
  auditFailures: Metric;
}

/** CloudWatch alarms take at most 10 metrics in one metric math expression. */
const METRICS_PER_ALARM = 10;
const PERIOD = Duration.minutes(5);

export interface ObservabilityProps {
  httpApi: HttpApi;
  functions: Functions;
  /** The change fan-out (its stream iterator age). */
  fanout: IFunction;
  /** Every dead-letter queue of the stack. */
  deadLetterQueues: sqs.IQueue[];
  alarmTopicArn?: string;
}

/**
 * Alarms, the dashboard and log retention for functions CDK makes for itself. Alarms cover
 * the HTTP API's 5xx rate, Lambda errors and throttles of every function (in metric math
 * groups, not one alarm per function: the stack's resource budget), each dead-letter queue,
 * the fan-out's iterator age, and the service's own EMF metrics (webhook failure rate,
 * audit-write failures). They notify the `alarmTopicArn` topic when set; without it they
 * exist with no action, and show on the dashboard.
 */
export class Observability {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;
  private readonly scope: Construct;
  private readonly topic: sns.ITopic | undefined;

  constructor(scope: Construct, props: ObservabilityProps) {
    const stack = Stack.of(scope);
    // Alarms and the dashboard live in a nested stack: about 25 resources that would otherwise
    // count against the main stack's CloudFormation limit (500); CDK passes the function, API
    // and queue names in as parameters.
    this.scope = new NestedStack(scope, 'Monitoring', { description: 'Pryv API: alarms and the operations dashboard' });
    const namespace = metricsNamespace(stack);
    this.topic = props.alarmTopicArn ? sns.Topic.fromTopicArn(this.scope, 'AlarmTopic', props.alarmTopicArn) : undefined;
    const own = (name: string, statistic = 'Sum', period = PERIOD, dimensionsMap: Record<string, string> = {}) =>
      new cloudwatch.Metric({
        namespace,
        metricName: name,
        statistic,
        period,
        dimensionsMap: { service: METRICS_SERVICE, ...dimensionsMap },
      });

    // HTTP API 5xx rate.
    const requests = props.httpApi.metricCount({ period: PERIOD, statistic: 'Sum' });
    const serverErrors = props.httpApi.metricServerError({ period: PERIOD, statistic: 'Sum' });
    const http5xxRate = new cloudwatch.MathExpression({
      expression: 'IF(requests >= 20, 100 * errors / requests, 0)',
      usingMetrics: { requests, errors: serverErrors },
      label: 'HTTP 5xx %',
      period: PERIOD,
    });
    this.alarm(
      'Http5xxRate',
      http5xxRate,
      ALARM_THRESHOLDS.http5xxPercent,
      'More than 5% of HTTP API answers were 5xx (2 periods running)',
      2,
    );

    // Lambda errors and throttles, every function, in groups of 10.
    const fns = props.functions.all;
    const groups = Math.ceil(fns.length / METRICS_PER_ALARM);
    const summed = (kind: 'Errors' | 'Throttles', group: number) => {
      const members = fns.slice(group * METRICS_PER_ALARM, (group + 1) * METRICS_PER_ALARM);
      const usingMetrics = Object.fromEntries(
        members.map((fn, i) => [`${kind === 'Errors' ? 'e' : 't'}${group}_${i}`, fn.metric(kind, { period: PERIOD, statistic: 'Sum' })]),
      );
      return new cloudwatch.MathExpression({
        expression: `SUM([${Object.keys(usingMetrics).join(',')}])`,
        usingMetrics,
        label: `${kind} (functions ${group * METRICS_PER_ALARM + 1}–${group * METRICS_PER_ALARM + members.length})`,
        period: PERIOD,
      });
    };
    const errorSums: cloudwatch.IMetric[] = [];
    const throttleSums: cloudwatch.IMetric[] = [];
    for (let g = 0; g < groups; g++) {
      const errors = summed('Errors', g);
      const throttles = summed('Throttles', g);
      errorSums.push(errors);
      throttleSums.push(throttles);
      this.alarm(`LambdaErrors${g + 1}`, errors, ALARM_THRESHOLDS.lambdaErrors, `Lambda errors (crashes, timeouts) in ${errors.label}`);
      this.alarm(`LambdaThrottles${g + 1}`, throttles, ALARM_THRESHOLDS.lambdaThrottles, `Lambda throttles in ${throttles.label}`);
    }

    // Dead letters.
    const dlqDepths = props.deadLetterQueues.map((queue) =>
      queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum', label: queue.node.id }),
    );
    props.deadLetterQueues.forEach((queue, i) => {
      this.alarm(`DeadLetters-${queue.node.id}`, dlqDepths[i]!, ALARM_THRESHOLDS.deadLetters, `Records set aside in ${queue.node.id}`);
    });

    // The fan-out falling behind the table's stream.
    const iteratorAge = props.fanout.metric('IteratorAge', { period: PERIOD, statistic: 'Maximum', label: 'Fan-out iterator age' });
    this.alarm(
      'FanoutIteratorAge',
      iteratorAge,
      ALARM_THRESHOLDS.fanoutIteratorAgeMs,
      'The change fan-out is over a minute behind the table',
    );

    // The service's own metrics.
    const webhookPeriod = Duration.minutes(15);
    const deliveries = own(METRIC.webhookDeliveries, 'Sum', webhookPeriod);
    const failures = own(METRIC.webhookFailures, 'Sum', webhookPeriod);
    const webhookFailureRate = new cloudwatch.MathExpression({
      expression: 'IF(deliveries >= 10, 100 * failures / deliveries, 0)',
      usingMetrics: { deliveries, failures },
      label: 'Webhook failure %',
      period: webhookPeriod,
    });
    this.alarm('WebhookFailureRate', webhookFailureRate, ALARM_THRESHOLDS.webhookFailurePercent, 'Half of the webhook calls fail');
    const auditFailures = own(METRIC.auditWriteFailures);
    this.alarm('AuditWriteFailures', auditFailures, ALARM_THRESHOLDS.auditWriteFailures, 'Audit records could not be written');

    this.dashboard = this.makeDashboard(stack, namespace, {
      requests,
      serverErrors,
      clientErrors: props.httpApi.metricClientError({ period: PERIOD, statistic: 'Sum' }),
      latency: props.httpApi.metricLatency({ period: PERIOD, statistic: 'p99' }),
      http5xxRate,
      errorSums,
      throttleSums,
      dlqDepths,
      iteratorAge,
      fanoutLag: own(METRIC.fanoutLag, 'Maximum'),
      deliveries: own(METRIC.webhookDeliveries),
      failures: own(METRIC.webhookFailures),
      socketPushes: own(METRIC.socketPushes),
      auditFailures,
    });

    this.retainCdkFunctionLogs(stack, props.functions);
  }

  private alarm(id: string, metric: cloudwatch.IMetric, threshold: number, description: string, periods = 1): void {
    const alarm = new cloudwatch.Alarm(this.scope, `Alarm-${id}`, {
      metric,
      threshold,
      evaluationPeriods: periods,
      datapointsToAlarm: periods,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    if (this.topic) {
      alarm.addAlarmAction(new SnsAction(this.topic));
      alarm.addOkAction(new SnsAction(this.topic));
    } else {
      acknowledge(
        alarm,
        'HIPAA.Security-CloudWatchAlarmAction',
        'No alarmTopicArn setting: the alarm shows on the dashboard and notifies no one',
      );
    }
    this.alarms.push(alarm);
  }

  private makeDashboard(stack: Stack, namespace: string, m: DashboardMetrics): cloudwatch.Dashboard {
    const search = (metricName: string, dimension: string, statistic: string, label: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{"${namespace}",service,${dimension}} MetricName="${metricName}"', '${statistic}', 300)`,
        usingMetrics: {},
        label,
        period: PERIOD,
      });
    const graph = (title: string, left: cloudwatch.IMetric[], width = 8) => new cloudwatch.GraphWidget({ title, left, width, height: 6 });
    const dashboard = new cloudwatch.Dashboard(this.scope, 'Dashboard', { dashboardName: `${stack.stackName}-operations` });
    dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 4 }));
    dashboard.addWidgets(
      graph('HTTP API: requests, 4xx, 5xx', [m.requests, m.clientErrors, m.serverErrors]),
      graph('HTTP API: 5xx % and p99 latency (ms)', [m.http5xxRate, m.latency]),
      graph('Lambda errors and throttles', [...m.errorSums, ...m.throttleSums]),
    );
    dashboard.addWidgets(
      graph('Calls per method', [search(METRIC.calls, 'method', 'Sum', 'calls')]),
      graph('Errors per error id', [search(METRIC.errors, 'errorId', 'Sum', 'errors')]),
      graph('Call duration per method, p99 (ms)', [search(METRIC.callDuration, 'method', 'p99', 'p99')]),
    );
    dashboard.addWidgets(
      graph('Changes: fan-out lag and iterator age (ms)', [m.fanoutLag, m.iteratorAge]),
      graph('Webhook calls and failures, socket pushes', [m.deliveries, m.failures, m.socketPushes]),
      graph('Dead letters and audit-write failures', [...m.dlqDepths, m.auditFailures]),
    );
    return dashboard;
  }

  /**
   * Functions CDK adds for itself (custom-resource providers, the pages deployment) log into
   * a group CloudWatch makes on first write, kept forever: each gets its own group with the
   * functions' retention instead.
   */
  private retainCdkFunctionLogs(stack: Stack, functions: Functions): void {
    const ours = new Set(functions.all.map((fn) => fn.node.defaultChild));
    for (const node of stack.node.findAll()) {
      if (!(node instanceof CfnResource) || node.cfnResourceType !== 'AWS::Lambda::Function' || ours.has(node)) continue;
      if (node instanceof CfnFunction && node.loggingConfig !== undefined) continue;
      const group = functions.logGroup(`Cdk-${node.node.path.replace(/[^A-Za-z0-9]/g, '').slice(-200)}`);
      if (node instanceof CfnFunction) node.loggingConfig = { logGroup: group.logGroupName };
      else node.addPropertyOverride('LoggingConfig', { LogGroup: group.logGroupName });
    }
  }
}
