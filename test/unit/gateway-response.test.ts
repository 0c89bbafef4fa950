import { connect } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalGateway, startGateway } from '../../infra/local/gateway';
import { compileRoute } from '../../infra/local/routes';

/**
 * The local gateway's answer, byte for byte on the socket, for what a handler returns: the
 * status, the handler's headers (its Content-Length replaced by the gateway's own), cookies,
 * and the body (text as UTF-8, base64 decoded), as API Gateway sends them. A text body goes
 * out with its head in one string; a header value beyond ASCII (Node sends header bytes as
 * Latin-1) or a base64 body goes the other way, with the same bytes.
 */

const RESULTS: Record<string, APIGatewayProxyResultV2> = {
  text: { statusCode: 201, headers: { 'content-type': 'application/json', 'x-a': 'b' }, body: '{"note":"é ✓ 😀"}' },
  'handler-length': { statusCode: 200, headers: { 'Content-Length': '999', 'content-type': 'text/plain' }, body: 'abc' },
  cookies: { statusCode: 200, headers: { 'content-type': 'text/plain' }, cookies: ['a=1; Path=/', 'b=2'], body: 'ok' },
  latin1: { statusCode: 200, headers: { 'content-disposition': 'attachment; filename="caf\u00e9.txt"' }, body: 'café' },
  binary: {
    statusCode: 200,
    headers: { 'content-type': 'application/octet-stream' },
    isBase64Encoded: true,
    body: Buffer.from([0, 1, 254, 255]).toString('base64'),
  },
  empty: { statusCode: 204, headers: { 'x-empty': '1' } },
  'no-body': { statusCode: 200, headers: { 'content-type': 'application/json' } },
  plain: { hello: 'wörld' } as unknown as APIGatewayProxyResultV2,
};

let gateway: LocalGateway;
/** The events the `/echo/{id}` handler was given. */
const seen: APIGatewayProxyEventV2[] = [];
beforeAll(async () => {
  const routes = Object.entries(RESULTS).map(([name, result]) => compileRoute({ verb: 'GET', path: `/${name}` }, async () => result));
  const routesHead = Object.entries(RESULTS).map(([name, result]) =>
    compileRoute({ verb: 'HEAD' as 'GET', path: `/${name}` }, async () => result),
  );
  const echo = compileRoute(
    { verb: 'POST', path: '/echo/{id}' },
    async (event?: APIGatewayProxyEventV2): Promise<APIGatewayProxyResultV2> => {
      if (event) seen.push(event);
      return { statusCode: 200, body: 'seen' };
    },
  );
  routes.push(echo);
  const none = async () => ({ statusCode: 200 });
  gateway = await startGateway({
    port: 0,
    handlers: {
      routes: [...routes, ...routesHead],
      notFound: async () => ({ statusCode: 404 }),
      webSocket: { connect: none, message: none, disconnect: none },
    },
  });
});
afterAll(() => gateway?.stop());

/** The raw bytes of the answer to one request on a new connection (closed after it). */
function rawAnswer(method: string, path: string, head = 'Host: x\r\n', body: Buffer = Buffer.alloc(0)): Promise<Buffer> {
  const { port } = new URL(gateway.url);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(port), '127.0.0.1', () =>
      socket.write(Buffer.concat([Buffer.from(`${method} ${path} HTTP/1.1\r\n${head}Connection: close\r\n\r\n`, 'latin1'), body])),
    );
    socket.on('data', (d) => chunks.push(d));
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
}

/** The answer read back: status line, headers as Latin-1 text (their bytes), body bytes; the Date dropped. */
function read(raw: Buffer) {
  const end = raw.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  return { statusLine, headers: lines.filter((l) => !l.startsWith('Date: ')), body: raw.subarray(end + 4) };
}

describe('the local gateway: what a handler returns, on the wire', () => {
  it("a text body: UTF-8 bytes, the gateway's Content-Length of those bytes, the handler's headers as given", async () => {
    const a = read(await rawAnswer('GET', '/text'));
    const body = Buffer.from('{"note":"é ✓ 😀"}', 'utf8');
    expect(a.statusLine).toBe('HTTP/1.1 201 Created');
    expect(a.headers).toEqual(['content-type: application/json', 'x-a: b', `content-length: ${body.length}`, 'Connection: close']);
    expect(a.body).toEqual(body);
  });

  it("a handler's own Content-Length is not sent, the gateway's is", async () => {
    const a = read(await rawAnswer('GET', '/handler-length'));
    expect(a.headers).toEqual(['content-type: text/plain', 'content-length: 3', 'Connection: close']);
    expect(a.body.toString()).toBe('abc');
  });

  it('cookies as Set-Cookie headers', async () => {
    const a = read(await rawAnswer('GET', '/cookies'));
    expect(a.headers).toEqual([
      'content-type: text/plain',
      'set-cookie: a=1; Path=/',
      'set-cookie: b=2',
      'content-length: 2',
      'Connection: close',
    ]);
    expect(a.body.toString()).toBe('ok');
  });

  it('a header value beyond ASCII: one Latin-1 byte per character in the head, the body still UTF-8', async () => {
    const raw = await rawAnswer('GET', '/latin1');
    expect(raw.includes(Buffer.from('filename="caf\u00e9.txt"', 'latin1'))).toBe(true);
    const a = read(raw);
    expect(a.headers).toContain('content-length: 5');
    expect(a.body).toEqual(Buffer.from('café', 'utf8'));
  });

  it('a base64 body: the decoded bytes', async () => {
    const a = read(await rawAnswer('GET', '/binary'));
    expect(a.headers).toContain('content-length: 4');
    expect(a.body).toEqual(Buffer.from([0, 1, 254, 255]));
  });

  it('no body: a 204 and a 200 without one, Content-Length 0; a plain object as JSON', async () => {
    const empty = read(await rawAnswer('GET', '/empty'));
    expect(empty.statusLine).toBe('HTTP/1.1 204 No Content');
    expect(empty.body.length).toBe(0);
    const noBody = read(await rawAnswer('GET', '/no-body'));
    expect(noBody.headers).toEqual(['content-type: application/json', 'content-length: 0', 'Connection: close']);
    expect(noBody.body.length).toBe(0);
    const plain = read(await rawAnswer('GET', '/plain'));
    expect(plain.headers).toContain(`content-length: ${Buffer.byteLength('{"hello":"wörld"}')}`);
    expect(plain.body.toString('utf8')).toBe('{"hello":"wörld"}');
  });

  it("HEAD: the head with the body's length, no body", async () => {
    for (const name of ['text', 'binary', 'latin1']) {
      const a = read(await rawAnswer('HEAD', `/${name}`));
      expect(a.body.length).toBe(0);
      expect(a.headers.some((h) => h.startsWith('content-length: '))).toBe(true);
    }
  });

  it('the event a handler is given: headers (repeated ones joined, cookies apart), query, path parameters, body, request context', async () => {
    seen.length = 0;
    const text = Buffer.from('{"a":"é"}', 'utf8');
    const head =
      'Host: api.example.com:3000\r\nUser-Agent: ua/1\r\nX-Multi: a\r\nX-Multi: b\r\nCookie: c1=v1; c2=v2\r\nCookie: c3=v3\r\n' +
      `Content-Type: application/json\r\nContent-Length: ${text.length}\r\n`;
    await rawAnswer('POST', '/echo/abc?x=1&y=2&x=3&e=', head, text);
    const binary = Buffer.from([0, 255, 1]);
    await rawAnswer('POST', '/echo/def', `Host: localhost\r\nContent-Type: application/octet-stream\r\nContent-Length: 3\r\n`, binary);
    expect(seen.length).toBe(2);
    const [first, second] = seen as [APIGatewayProxyEventV2, APIGatewayProxyEventV2];
    for (const event of seen) {
      expect(event.requestContext.time).toBe(new Date(event.requestContext.timeEpoch).toUTCString());
      expect(Math.abs(event.requestContext.timeEpoch - Date.now())).toBeLessThan(60_000);
      expect(event.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(event.requestContext.http.sourceIp).toBe('127.0.0.1');
    }
    const context = (e: APIGatewayProxyEventV2) => ({ ...e.requestContext, time: undefined, timeEpoch: undefined, requestId: undefined });
    expect({ ...first, requestContext: context(first) }).toEqual({
      version: '2.0',
      routeKey: 'POST /echo/{id}',
      rawPath: '/echo/abc',
      rawQueryString: 'x=1&y=2&x=3&e=',
      cookies: ['c1=v1', 'c2=v2', 'c3=v3'],
      headers: {
        host: 'api.example.com:3000',
        'user-agent': 'ua/1',
        'x-multi': 'a, b',
        'content-type': 'application/json',
        'content-length': String(text.length),
        connection: 'close',
      },
      queryStringParameters: { x: '1,3', y: '2', e: '' },
      pathParameters: { id: 'abc' },
      body: '{"a":"é"}',
      isBase64Encoded: false,
      requestContext: {
        accountId: '000000000000',
        apiId: 'local',
        domainName: 'api.example.com:3000',
        domainPrefix: 'api',
        http: { method: 'POST', path: '/echo/abc', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'ua/1' },
        routeKey: 'POST /echo/{id}',
        stage: '$default',
        time: undefined,
        timeEpoch: undefined,
        requestId: undefined,
      },
    });
    expect(second.body).toBe(binary.toString('base64'));
    expect(second.isBase64Encoded).toBe(true);
    expect(second.queryStringParameters).toBeUndefined();
    expect(second.rawQueryString).toBe('');
    expect(second.cookies).toBeUndefined();
    expect(second.requestContext.domainName).toBe('localhost');
    expect(second.requestContext.domainPrefix).toBe('localhost');
  });
});
