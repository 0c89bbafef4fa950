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

/** Records the AWS SDK calls of a client in the traces, when tracing is on (the clients call it as they are made). */
export function traceClient<C>(client: C): C {
  if (tracingOn()) void tracer().then((t) => t?.captureAWSv3Client(client));
  return client;
}
