import { execFile, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { errorResponse } from '../../shared/http/handler';
import { AnswerParser, type Http1Answer, Http1Pool, requestHead } from '../../shared/http1';
import { isServiceFault } from '../../shared/store/faults';

/** What a parser reported, in order. */
type Event =
  | { answer: { status: number; rawHeaders: string[]; body: string }; reusable: boolean; keepAliveMs?: number }
  | { error: string };

function parse(packets: Buffer[], end = false): Event[] {
  const events: Event[] = [];
  const parser = new AnswerParser({
    onAnswer: (a: Http1Answer, reusable, keepAliveMs) =>
      events.push({
        answer: { status: a.status, rawHeaders: a.rawHeaders, body: a.body.toString('utf8') },
        reusable,
        ...(keepAliveMs === undefined ? {} : { keepAliveMs }),
      }),
    onMalformed: (err) => events.push({ error: (err as { code?: string }).code ?? '?' }),
  });
  parser.expect();
  for (const p of packets) parser.push(p);
  if (end && !parser.end()) events.push({ error: 'cut short' });
  return events;
}

/** `text` cut at the given offsets. */
const cut = (text: string | Buffer, at: number[]) => {
  const buf = Buffer.from(text);
  const points = [0, ...[...new Set(at)].filter((n) => n > 0 && n < buf.length).sort((a, b) => a - b), buf.length];
  return points.slice(1).map((p, i) => buf.subarray(points[i], p));
};

const LENGTH_ANSWER =
  'HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-RequestId: R1\r\nContent-Length: 17\r\n\r\n{"Item":{"a":1}}\n';
const CHUNKED_ANSWER =
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n' +
  '5;name=value;other="quoted"\r\nhello\r\n' +
  '7 ; ext\r\n, world\r\n' +
  '0\r\nX-Sum: 12\r\nX-Other: yes\r\n\r\n';
const CONTINUE_ANSWER = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

describe('the answer parser', () => {
  const whole: Array<[string, string, Event]> = [
    [
      'Content-Length',
      LENGTH_ANSWER,
      {
        answer: {
          status: 200,
          rawHeaders: ['Content-Type', 'application/x-amz-json-1.0', 'x-amzn-RequestId', 'R1', 'Content-Length', '17'],
          body: '{"Item":{"a":1}}\n',
        },
        reusable: true,
      },
    ],
    [
      'chunked, with extensions and trailers',
      CHUNKED_ANSWER,
      { answer: { status: 200, rawHeaders: ['Transfer-Encoding', 'chunked', 'Trailer', 'X-Sum'], body: 'hello, world' }, reusable: true },
    ],
    [
      'a 100 Continue before the answer',
      CONTINUE_ANSWER,
      { answer: { status: 200, rawHeaders: ['Content-Length', '2'], body: 'ok' }, reusable: true },
    ],
    [
      'Connection: close',
      'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbad',
      { answer: { status: 400, rawHeaders: ['Connection', 'close', 'Content-Length', '3'], body: 'bad' }, reusable: false },
    ],
    [
      'a 204 without a length',
      'HTTP/1.1 204 No Content\r\nKeep-Alive: timeout=5, max=100\r\n\r\n',
      { answer: { status: 204, rawHeaders: ['Keep-Alive', 'timeout=5, max=100'], body: '' }, reusable: true, keepAliveMs: 5000 },
    ],
    [
      'header values trimmed of the spaces and tabs around them, kept inside; empty values',
      'HTTP/1.1 200 OK\r\nX-A:  \tpadded  value\t \r\nX-B:x\r\nX-Empty:\r\nX-Blank: \t \r\nX-Tab: a\tb\r\nContent-Length: 2\r\n\r\nok',
      {
        answer: {
          status: 200,
          rawHeaders: ['X-A', 'padded  value', 'X-B', 'x', 'X-Empty', '', 'X-Blank', '', 'X-Tab', 'a\tb', 'Content-Length', '2'],
          body: 'ok',
        },
        reusable: true,
      },
    ],
    [
      'a status line alone, without reason or headers',
      'HTTP/1.1 204\r\n\r\n',
      { answer: { status: 204, rawHeaders: [], body: '' }, reusable: true },
    ],
  ];
  for (const [name, text, expected] of whole) {
    it(`${name}: the same answer however the bytes are split (every single cut, every byte apart)`, () => {
      expect(parse([Buffer.from(text)])).toEqual([expected]);
      for (let i = 1; i < text.length; i++) expect(parse(cut(text, [i])), `cut at ${i}`).toEqual([expected]);
      expect(parse(cut(text, [...Array(text.length).keys()]))).toEqual([expected]);
    });
  }

  it('any body, in any chunks with any extensions, cut into any packets: read back whole', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 6 }),
        fc.array(fc.constantFrom('', ';a=b', ' ;x', ';q="1;2"'), { minLength: 7, maxLength: 7 }),
        fc.boolean(),
        fc.array(fc.nat(2000), { maxLength: 12 }),
        (chunks, extensions, trailers, cuts) => {
          const parts: Buffer[] = [Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')];
          for (const [i, c] of chunks.entries()) {
            parts.push(Buffer.from(`${c.length.toString(16)}${extensions[i]}\r\n`), Buffer.from(c), Buffer.from('\r\n'));
          }
          parts.push(Buffer.from(`0${extensions[6]}\r\n${trailers ? 'X-T: 1\r\n' : ''}\r\n`));
          const events = parse(cut(Buffer.concat(parts), cuts));
          expect(events).toHaveLength(1);
          const event = events[0] as { answer: { body: string }; reusable: boolean };
          expect(event.reusable).toBe(true);
          expect(Buffer.from(event.answer.body)).toEqual(Buffer.from(Buffer.concat(chunks.map((c) => Buffer.from(c))).toString('utf8')));
        },
      ),
    );
  });

  it('a body longer than its Content-Length: the answer as long as it says, the socket not reused', () => {
    expect(parse([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA')])).toEqual([
      { answer: { status: 200, rawHeaders: ['Content-Length', '2'], body: 'ok' }, reusable: false },
    ]);
    // The extra bytes in a later packet: the answer was already handed over, then the socket is dropped.
    expect(parse(cut('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA', [40]))).toEqual([
      { answer: { status: 200, rawHeaders: ['Content-Length', '2'], body: 'ok' }, reusable: true },
      { error: 'HPE_INVALID' },
    ]);
  });

  it('a body shorter than its Content-Length, or a server that closes after the head: cut short', () => {
    expect(parse([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort')], true)).toEqual([{ error: 'cut short' }]);
    expect(parse([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n')], true)).toEqual([{ error: 'cut short' }]);
    expect(parse([Buffer.from('HTTP/1.1 200 OK\r\nContent-Le')], true)).toEqual([{ error: 'cut short' }]);
    expect(parse([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel')], true)).toEqual([{ error: 'cut short' }]);
  });

  it('a body without length or chunks ends with the connection, which is not reused', () => {
    expect(parse(cut('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nup to the close', [30, 45]), true)).toEqual([
      { answer: { status: 200, rawHeaders: ['Content-Type', 'text/plain'], body: 'up to the close' }, reusable: false },
    ]);
  });

  it('HTTP/1.0 keeps the connection only when it says keep-alive; both framings given: chunked wins, not reused', () => {
    const one = (text: string) => (parse([Buffer.from(text)])[0] as { reusable: boolean }).reusable;
    expect(one('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n')).toBe(false);
    expect(one('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n')).toBe(true);
    expect(one('HTTP/1.1 200 OK\r\nConnection: TE, close\r\nContent-Length: 0\r\n\r\n')).toBe(false);
    expect(parse([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n')])).toEqual(
      [
        {
          answer: { status: 200, rawHeaders: ['Content-Length', '99', 'Transfer-Encoding', 'chunked'], body: 'ok' },
          reusable: false,
        },
      ],
    );
  });

  const malformed: Array<[string, string]> = [
    ['not HTTP', 'SSH-2.0-OpenSSH\r\n\r\n'],
    ['a status of two digits', 'HTTP/1.1 20 OK\r\n\r\n'],
    ['a header line without a name', 'HTTP/1.1 200 OK\r\n: x\r\n\r\n'],
    ['a header name with a space', 'HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n'],
    ['a header name with a byte beyond ASCII', 'HTTP/1.1 200 OK\r\nN\u00e9: x\r\nContent-Length: 0\r\n\r\n'],
    ['a header line without a colon', 'HTTP/1.1 200 OK\r\nNoColon\r\nContent-Length: 0\r\n\r\n'],
    ['a line of one space among the headers', 'HTTP/1.1 200 OK\r\nA: b\r\n \r\nC: d\r\n\r\n'],
    ['a folded header line', 'HTTP/1.1 200 OK\r\nA: b\r\n c\r\nContent-Length: 0\r\n\r\n'],
    ['a Content-Length that is not a number', 'HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n'],
    ['two different Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'],
    ['a chunk size that is not hex', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
    ['chunk data longer than its size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n'],
    ['a chunk line ended by a bare LF', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nab\r\n0\r\n\r\n'],
    ['a 101 Switching Protocols', 'HTTP/1.1 101 Switching Protocols\r\n\r\n'],
    ['a head over 16 KB', `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(17_000)}\r\n\r\n`],
  ];
  for (const [name, text] of malformed) {
    it(`malformed, whole or byte by byte: ${name}`, () => {
      expect(parse([Buffer.from(text)])).toEqual([{ error: 'HPE_INVALID' }]);
      expect(parse(cut(text, [...Array(Math.min(text.length, 200)).keys()]))).toEqual([{ error: 'HPE_INVALID' }]);
    });
  }
});

describe('the request head', () => {
  it('request line, headers as given, a blank line', () => {
    expect(requestHead('POST', '/', ['Host', 'h:1', 'X-Amz-Target', 'DynamoDB_20120810.GetItem', 'Content-Length', '2'])).toBe(
      'POST / HTTP/1.1\r\nHost: h:1\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\nContent-Length: 2\r\n\r\n',
    );
  });
  it('refuses what would split or smuggle a request: CR or LF in a value, a name with a colon, a path with spaces', () => {
    expect(() => requestHead('POST', '/', ['X-A', 'v\r\nX-Injected: 1'])).toThrow(TypeError);
    expect(() => requestHead('POST', '/', ['X-A: b', 'v'])).toThrow(TypeError);
    expect(() => requestHead('POST', '/a b', [])).toThrow(TypeError);
    expect(() => requestHead('POST', '/a\nb', [])).toThrow(TypeError);
    // Whichever header is at fault, first or last, name or value; tabs are allowed in values.
    const fine = ['Host', 'h', 'X-Tab', 'a\tb', 'Content-Length', '0'];
    expect(requestHead('GET', '/', fine)).toBe('GET / HTTP/1.1\r\nHost: h\r\nX-Tab: a\tb\r\nContent-Length: 0\r\n\r\n');
    for (let i = 0; i < fine.length; i++) {
      for (const bad of ['\n', '\r', '\u0000', '\u00e9', '\u2028']) {
        const headers = [...fine];
        headers[i] = `${headers[i]}${bad}x`;
        expect(() => requestHead('GET', '/', headers)).toThrow(/invalid character in header/);
      }
    }
  });
});

/** A TCP server that answers each request's bytes as `answer` says: what it got, on which connection. */
async function rawServer(answer: (socket: Socket, request: string, n: number, connection: number) => void) {
  const received: Array<{ connection: number; request: string }> = [];
  const sockets: Socket[] = [];
  let closedByClient = 0;
  const server: Server = createServer((socket) => {
    const connection = sockets.push(socket) - 1;
    let pending = '';
    socket.on('data', (d: Buffer) => {
      pending += d.toString('latin1');
      // Requests are head + Content-Length body; answer each as it completes.
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(pending.slice(0, end))?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        const request = pending.slice(0, end + 4 + length);
        pending = pending.slice(end + 4 + length);
        received.push({ connection, request });
        answer(socket, request, received.length - 1, connection);
      }
    });
    socket.on('end', () => closedByClient++);
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    received,
    sockets,
    closedByClient: () => closedByClient,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
const request = (pool: Http1Pool, port: number, body = '{}', timeoutMs = 5_000) =>
  pool.request(requestHead('POST', '/', ['Host', `127.0.0.1:${port}`, 'Content-Length', String(Buffer.byteLength(body))]), body, timeoutMs);
const text = (a: Http1Answer) => `${a.status} ${a.body.toString('utf8')}`;
const settle = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error: error as Error & { code?: string } }),
  );

describe('the pool, on a real socket', () => {
  const open: Array<{ close: () => Promise<unknown> }> = [];
  const pools: Http1Pool[] = [];
  const pool = (port: number, maxSockets?: number) => {
    const p = new Http1Pool({ host: '127.0.0.1', port, tls: false, maxSockets });
    pools.push(p);
    return p;
  };
  const server = async (answer: Parameters<typeof rawServer>[0]) => {
    const s = await rawServer(answer);
    open.push(s);
    return s;
  };
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const p of pools.splice(0)) p.destroy();
    for (const s of open.splice(0)) await s.close();
  });

  it('kept alive: requests one after the other share one connection, each written whole in one write', async () => {
    const s = await server((socket) => socket.write(OK));
    const p = pool(s.port);
    const writes = vi.spyOn(Socket.prototype, 'write');
    for (let i = 0; i < 3; i++) expect(text(await request(p, s.port, `{"n":${i}}`))).toBe('200 ok');
    expect(s.received.map((r) => r.connection)).toEqual([0, 0, 0]);
    // The client's writes (the server's answers are written in this process too).
    expect(writes.mock.contexts.filter((socket) => (socket as Socket).remotePort === s.port)).toHaveLength(3);
    expect(s.received[2]!.request).toBe(`POST / HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nContent-Length: 7\r\n\r\n{"n":2}`);
  });

  it('a UTF-8 string body and a binary body go out byte for byte, as long as their Content-Length', async () => {
    const bodies: Buffer[] = [];
    const s = await server((socket, req) => {
      bodies.push(Buffer.from(req.slice(req.indexOf('\r\n\r\n') + 4), 'latin1'));
      socket.write(OK);
    });
    const p = pool(s.port);
    const text = '{"content":"é ✓ 𝄞"}';
    const binary = Buffer.from([0, 0xff, 0x0d, 0x0a, 0x80, 0x41]);
    await request(p, s.port, text);
    await p.request(requestHead('POST', '/', ['Host', 'h', 'Content-Length', String(binary.length)]), binary, 5_000);
    expect(bodies).toEqual([Buffer.from(text, 'utf8'), binary]);
  });

  it('a head and body split across packets, with a 100 Continue first, are read as one answer', async () => {
    const s = await server((socket) => {
      const pieces = [
        'HTTP/1.1 100 Continue\r\n\r',
        '\nHTTP/1.1 201 Created\r\nx-amzn-Req',
        'uestId: abc\r\nContent-Len',
        'gth: 5\r\n\r\nhe',
        'llo',
      ];
      pieces.forEach((piece, i) => {
        setTimeout(() => socket.write(piece), i * 15);
      });
    });
    const a = await request(pool(s.port), s.port);
    expect(text(a)).toBe('201 hello');
    expect(a.rawHeaders).toEqual(['x-amzn-RequestId', 'abc', 'Content-Length', '5']);
  });

  const notReused: Array<[string, string]> = [
    ['Connection: close', 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok'],
    ['a body longer than its Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokGARBAGE'],
    ['HTTP/1.0 without keep-alive', 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok'],
  ];
  for (const [name, answer] of notReused) {
    it(`${name}: the answer, then a new connection for the next request`, async () => {
      const s = await server((socket) => socket.write(answer));
      const p = pool(s.port);
      expect(text(await request(p, s.port))).toBe('200 ok');
      expect(text(await request(p, s.port))).toBe('200 ok');
      expect(s.received.map((r) => r.connection)).toEqual([0, 1]);
    });
  }

  it('a server that closes after the head, or before the whole body: ECONNRESET, a service fault', async () => {
    const afterHead = await server((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'));
    const a = await settle(request(pool(afterHead.port), afterHead.port));
    expect(a).toMatchObject({ error: { code: 'ECONNRESET' } });
    expect(isServiceFault((a as { error: unknown }).error)).toBe(true);
    const short = await server((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort'));
    expect(await settle(request(pool(short.port), short.port))).toMatchObject({ error: { code: 'ECONNRESET' } });
    const none = await server((socket) => socket.destroy());
    expect(await settle(request(pool(none.port), none.port))).toMatchObject({ error: { code: 'ECONNRESET' } });
  });

  it('a malformed answer: HPE_INVALID, a service fault (not a bug of ours), the socket dropped', async () => {
    const s = await server((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n'));
    const a = await settle(request(pool(s.port), s.port));
    expect(a).toMatchObject({ error: { code: 'HPE_INVALID' } });
    expect(isServiceFault((a as { error: unknown }).error)).toBe(true);
    await vi.waitFor(() => expect(s.closedByClient()).toBe(1));
  });

  it('an idle socket the server closed is not written to: the next request goes, once, on a new connection', async () => {
    const s = await server((socket) => socket.write(OK));
    const p = pool(s.port);
    expect(text(await request(p, s.port))).toBe('200 ok');
    s.sockets[0]!.end(); // the server's idle timeout
    await vi.waitFor(() => expect(s.closedByClient()).toBe(1)); // the FIN came back: the client saw it close
    expect(text(await request(p, s.port))).toBe('200 ok');
    expect(s.received.map((r) => r.connection)).toEqual([0, 1]);
  });

  it('Keep-Alive: timeout=1 from the server: an idle socket is not used once that second (less one) is over', async () => {
    const s = await server((socket) => socket.write('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 2\r\n\r\nok'));
    const p = pool(s.port);
    await request(p, s.port);
    await request(p, s.port);
    expect(s.received.map((r) => r.connection)).toEqual([0, 1]);
  });

  it('no answer within the bound: ETIMEDOUT, a service fault, and the socket closed (an answer coming late is never read)', async () => {
    const s = await server(() => {});
    const a = await settle(request(pool(s.port), s.port, '{}', 100));
    expect(a).toMatchObject({ error: { name: 'TimeoutError', code: 'ETIMEDOUT' } });
    expect(isServiceFault((a as { error: unknown }).error)).toBe(true);
    await vi.waitFor(() => expect(s.closedByClient()).toBe(1));
  });

  it('refused: ECONNREFUSED, a service fault', async () => {
    const s = await server(() => {});
    const port = s.port;
    await s.close();
    open.length = 0;
    const a = await settle(request(pool(port), port));
    expect(a).toMatchObject({ error: { code: 'ECONNREFUSED' } });
    expect(isServiceFault((a as { error: unknown }).error)).toBe(true);
  });

  it('at most maxSockets connections; requests beyond wait for one and are all answered, in order of arrival', async () => {
    const s = await server((socket) => setTimeout(() => socket.write(OK), 20));
    const p = pool(s.port, 2);
    const answers = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => request(p, s.port, `{"i":${i}}`)));
    expect(answers.map(text)).toEqual(Array(6).fill('200 ok'));
    expect(s.sockets).toHaveLength(2);
    expect(s.received.map((r) => r.request.slice(-7))).toEqual([0, 1, 2, 3, 4, 5].map((i) => `{"i":${i}}`));
  });

  it('a waiting request whose socket is dropped gets a new one', async () => {
    const s = await server((socket, _request, n) => (n === 0 ? socket.destroy() : socket.write(OK)));
    const p = pool(s.port, 1);
    const [first, second] = await Promise.all([settle(request(p, s.port)), settle(request(p, s.port))]);
    expect(first).toMatchObject({ error: { code: 'ECONNRESET' } });
    expect(second).toMatchObject({ value: { status: 200 } });
  });
});

describe('the pool over TLS', () => {
  let dir = '';
  let server: TlsServer;
  let port = 0;
  const names: string[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'http1-tls-'));
    // A certificate for "localhost" only, made for this test.
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost',
      ],
      { stdio: 'ignore' },
    );
    const key = readFileSync(join(dir, 'key.pem'));
    const cert = readFileSync(join(dir, 'cert.pem'));
    let connections = 0;
    server = createTlsServer(
      {
        key,
        cert,
        SNICallback: (name, cb) => {
          names.push(name);
          cb(null, undefined);
        },
      },
      (socket) => {
        const connection = connections++;
        socket.on('data', () => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n${connection}`));
        socket.on('error', () => {});
      },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('names the host (SNI) and checks the certificate: one not signed by a trusted authority is refused', async () => {
    names.length = 0;
    const pool = new Http1Pool({ host: 'localhost', port, tls: true, servername: 'localhost' });
    const a = await settle(request(pool, port));
    pool.destroy();
    expect(a).toMatchObject({ error: { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' } });
    expect(names).toEqual(['localhost']);
    // The service unreachable, not a bug of ours: 503 api-unavailable (shared/store/faults.ts).
    expect(isServiceFault((a as { error: unknown }).error)).toBe(true);
    expect(errorResponse((a as { error: unknown }).error).statusCode).toBe(503);
  });

  it('with the certificate trusted: answered, kept alive; the same certificate for another name is refused', async () => {
    // Trusted certificates are read once by Node, at start: a process of its own, trusting this one.
    const script = join(dir, 'client.mts');
    writeFileSync(
      script,
      `import { Http1Pool, requestHead } from ${JSON.stringify(resolvePath('shared/http1.ts'))};
const send = (pool: Http1Pool) => pool.request(requestHead('GET', '/', ['Host', 'localhost', 'Content-Length', '0']), '', 5000)
  .then((a) => a.status + ':' + a.body.toString(), (e) => e.code);
const good = new Http1Pool({ host: 'localhost', port: ${port}, tls: true, servername: 'localhost' });
const byAddress = new Http1Pool({ host: '127.0.0.1', port: ${port}, tls: true });
const out = [await send(good), await send(good), await send(byAddress)];
good.destroy(); byAddress.destroy();
process.stdout.write(JSON.stringify(out));
`,
    );
    // Not execFileSync: the server answering it is in this process.
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') },
      encoding: 'utf8',
    });
    expect(JSON.parse(stdout)).toEqual(['200:0', '200:0', 'ERR_TLS_CERT_ALTNAME_INVALID']);
  });
});
