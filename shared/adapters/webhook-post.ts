import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { checkUrl, guardedLookup, UrlRefusedError } from './url-guard';

export interface PostOutcome {
  /** HTTP status of the answer; 0 when there was none (refused, unreachable, timed out). */
  status: number;
  /** Why there was no answer, for error messages and logs. */
  error?: string;
  /** True when the SSRF guard refused the target (nothing was sent). */
  refused?: boolean;
}

/**
 * POSTs a JSON body to a webhook URL: one attempt, a deadline for the whole exchange,
 * redirects not followed (a 3xx is just a non-2xx status), the target checked by the SSRF
 * guard (url-guard.ts) on the address the socket connects to. Never throws.
 */
export function postJson(
  target: string,
  body: unknown,
  options: { timeoutMs: number; allowPrivate: boolean; headers?: Record<string, string> },
): Promise<PostOutcome> {
  let url: URL;
  try {
    url = new URL(target);
    checkUrl(url, options.allowPrivate);
  } catch (err) {
    const refused = err instanceof UrlRefusedError;
    return Promise.resolve({ status: 0, error: refused ? err.message : 'Invalid URL.', refused });
  }
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise<PostOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: PostOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(outcome);
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method: 'POST',
        agent: false, // a fresh connection per call: no pooled socket bypasses the lookup check
        lookup: guardedLookup(options.allowPrivate),
        headers: {
          'content-type': 'application/json',
          'content-length': String(payload.length),
          'user-agent': 'pryv-serverless-webhooks',
          ...options.headers,
        },
      },
      (res: IncomingMessage) => {
        finish({ status: res.statusCode ?? 0 });
        res.resume(); // the body is not needed; drain it so the socket can close
        res.on('error', () => undefined);
      },
    );
    const deadline = setTimeout(() => {
      finish({ status: 0, error: `No answer within ${options.timeoutMs} ms.` });
      req.destroy();
    }, options.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof UrlRefusedError) finish({ status: 0, error: err.message, refused: true });
      else finish({ status: 0, error: err.code ? `${err.code}: ${err.message}` : err.message });
    });
    req.end(payload);
  });
}
