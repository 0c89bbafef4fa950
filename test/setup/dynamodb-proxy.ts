import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request to DynamoDB as the proxy sees it: its operation (`TransactWriteItems`, …) and body. */
export interface ProxiedRequest {
  operation: string;
  body: Buffer;
}

/**
 * What to do with one request: by default forwarded and answered as DynamoDB Local answers;
 * `before` forwards it only once that promise settles (a request held back); `answerLost`
 * forwards it (it is applied) and answers the client 500 instead of DynamoDB's answer.
 */
export interface Interception {
  before?: Promise<void>;
  answerLost?: boolean;
}

/**
 * A proxy in front of DynamoDB Local that makes interleavings and faults of this process's
 * requests deterministic (point DYNAMODB_ENDPOINT at its `url`). `intercept` sees each request
 * and decides what happens to it.
 */
export async function startDynamoDBProxy(target: string, intercept: (req: ProxiedRequest) => Interception | undefined) {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const what = intercept({ operation: String(req.headers['x-amz-target']).split('.').pop() ?? '', body }) ?? {};
      await what.before;
      const out = request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (answer) => {
        const back: Buffer[] = [];
        answer.on('data', (c: Buffer) => back.push(c));
        answer.on('end', () => {
          if (what.answerLost) {
            res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
            res.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'answer lost on the way' }));
            return;
          }
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          res.end(Buffer.concat(back));
        });
      });
      out.on('error', (err) => res.destroy(err));
      out.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
