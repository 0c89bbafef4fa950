import type { Tracer } from '@aws-lambda-powertools/tracer';
import { log } from './log';

/**
 * X-Ray tracing with Powertools Tracer, behind the `tracing` deploy setting (TRACING=on; off
 * by default). The tracer brings the X-Ray SDK, which is large: it is imported only when the
 * setting is on, and the bundles only contain it then (infra/constructs/functions.ts leaves
 * the package out of them otherwise).
 */
export const tracingOn = () => process.env.TRACING === 'on';

let loading: Promise<Tracer | undefined> | undefined;

function tracer(): Promise<Tracer | undefined> {
  loading ??= import('@aws-lambda-powertools/tracer').then(
    (mod) => new mod.Tracer({ serviceName: 'pryv', captureHTTPsRequests: false }),
    (err: unknown) => {
      log.warn('tracing is on but the tracer could not be loaded', { err });
      return undefined;
    },
  );
  return loading;
}

/**
 * Runs `fn` in an X-Ray subsegment named after the call (annotated with the method id, so
 * traces can be searched by method), when tracing is on; as is otherwise.
 */
export async function traced<T>(methodId: string, fn: () => Promise<T>): Promise<T> {
  if (!tracingOn()) return fn();
  const t = await tracer();
  const parent = t?.getSegment();
  if (!t || !parent) return fn();
  const segment = parent.addNewSubsegment(`## ${methodId}`);
  t.setSegment(segment);
  try {
    t.putAnnotation('methodId', methodId);
    return await fn();
  } catch (err) {
    if (err instanceof Error) t.addErrorAsMetadata(err);
    throw err;
  } finally {
    segment.close();
    t.setSegment(parent);
  }
}

/**
 * Runs one request to an AWS service made without the SDK (the store's DynamoDB client) in
 * a subsegment shaped like the ones the tracer makes for SDK clients: named after the
 * service, in the `aws` namespace, with the operation, region, table and request id; marked
 * throttled or faulty as the answer was. As is when tracing is off or no segment is open.
 */
export async function tracedAwsCall<T>(
  service: string,
  operation: string,
  region: string,
  table: unknown,
  send: () => Promise<T>,
): Promise<T> {
  const t = await tracer();
  const parent = t?.getSegment();
  if (!t || !parent) return send();
  const segment = parent.addNewSubsegment(service);
  segment.addAttribute('namespace', 'aws');
  const aws: Record<string, unknown> = { operation, region, ...(typeof table === 'string' ? { table_name: table } : {}) };
  try {
    const out = await send();
    const metadata = (out as { $metadata?: { requestId?: string; attempts?: number } }).$metadata;
    segment.addAttribute('aws', { ...aws, request_id: metadata?.requestId, retries: (metadata?.attempts ?? 1) - 1 });
    return out;
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number } };
    const status = e.$metadata?.httpStatusCode;
    segment.addAttribute('aws', { ...aws, request_id: e.$metadata?.requestId, retries: (e.$metadata?.attempts ?? 1) - 1 });
    if (status === 429 || /Throttl|ThroughputExceeded/.test(e.name ?? '')) segment.addThrottleFlag();
    if (status === undefined || status >= 500) segment.addFaultFlag();
    else segment.addErrorFlag();
    if (err instanceof Error) segment.addError(err, true);
    throw err;
  } finally {
    segment.close();
  }
}

/** Records the AWS SDK calls of a client in the traces, when tracing is on (the clients call it as they are made). */
export function traceClient<C>(client: C): C {
  if (tracingOn()) void tracer().then((t) => t?.captureAWSv3Client(client));
  return client;
}
