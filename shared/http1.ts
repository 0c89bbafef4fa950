import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/**
 * An HTTP/1.1 client on kept-alive sockets, for ./aws-http.ts: one request in flight per
 * socket, a pool per endpoint (at most `maxSockets`, requests queued beyond), each request's
 * head and body in one write, and a small answer parser (status line, headers, a body by
 * Content-Length, chunked, or up to the close). It replaces `node:http`'s ClientRequest, agent
 * and IncomingMessage, whose per-request objects, async resources and stream machinery were a
 * measurable share of every DynamoDB request's CPU (test/bench/FINDINGS.md §12, §18).
 *
 * What it keeps from `node:http`, because callers and shared/store/faults.ts read it:
 * - network errors are Node's own socket errors (their `code`: ECONNREFUSED, ECONNRESET,
 *   EPIPE, ENOTFOUND, …); a connection closed before the whole answer came is ECONNRESET
 *   "socket hang up", as `node:http` says it;
 * - an idle socket is never handed out once the server closed it, or past the idle time the
 *   server announced (`Keep-Alive: timeout=N`), so a request is only written to a socket
 *   believed open; a request that was written is never resent here (the caller's retry policy
 *   decides, as it did for `node:http`'s errors);
 * - TLS with SNI and certificate checks (Node's defaults), the session kept for resumption as
 *   the https agent does; idle sockets do not keep the process alive.
 *
 * A malformed answer fails the request with `code` HPE_INVALID (as `node:http`'s parser errors
 * are HPE_*) and `$fault: 'server'`: the service's fault, not a bug of ours.
 */

/** One answer: the status, the headers as a flat `[name, value, …]` list as received, the body. */
export interface Http1Answer {
  status: number;
  rawHeaders: string[];
  body: Buffer;
}

export interface Http1PoolOptions {
  host: string;
  port: number;
  tls: boolean;
  /** The TLS server name (SNI and the certificate's name); none for an IP address. */
  servername?: string;
  /** Default 50 (the AWS SDK's, and what ./aws-http.ts gave node:http's agent). */
  maxSockets?: number;
}

/** `node:http`'s default bound on an answer's head (its `maxHeaderSize`). */
const MAX_HEAD = 16 * 1024;
/** A chunk-size line or a trailer line longer than this is not an answer we read. */
const MAX_LINE = 8 * 1024;
/** Header values and paths Node would refuse to write (`ERR_INVALID_CHAR`, `ERR_UNESCAPED_CHARACTERS`). */
const BAD_VALUE = /[^\t\x20-\x7e]/;
const BAD_PATH = /[^\x21-\x7e]/;
const EMPTY = Buffer.alloc(0);
/** The blank line that ends a head. */
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

function malformed(what: string): Error {
  return Object.assign(new Error(`malformed HTTP answer: ${what}`), { code: 'HPE_INVALID', $fault: 'server' as const });
}

function hangUp(): Error {
  return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
}

/**
 * The request's head as it goes on the wire: request line, `headers` (a flat list, names as
 * given; the caller sends Host and Content-Length), blank line.
 */
export function requestHead(method: string, path: string, headers: readonly string[]): string {
  if (BAD_PATH.test(path)) throw new TypeError(`request path contains unescaped characters: ${JSON.stringify(path)}`);
  let head = `${method} ${path} HTTP/1.1\r\n`;
  // Every name and value checked by one regex over all of them (tab-separated: a tab is allowed);
  // which header is at fault is looked for only when one is.
  let all = '';
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (name.includes(':')) throw new TypeError(`invalid character in header ${name}`);
    head += `${name}: ${value}\r\n`;
    all += `${name}\t${value}\t`;
  }
  if (BAD_VALUE.test(all)) {
    for (let i = 0; i < headers.length; i += 2)
      if (BAD_VALUE.test(headers[i]!) || BAD_VALUE.test(headers[i + 1]!)) throw new TypeError(`invalid character in header ${headers[i]}`);
  }
  return `${head}\r\n`;
}

enum State {
  /** Reading a head (an informational one is skipped). */
  Head,
  /** A body of known length: `remaining` bytes to go. */
  Length,
  ChunkSize,
  ChunkData,
  /** The CRLF after a chunk's data. */
  ChunkEnd,
  Trailers,
  /** A body without length: up to the close. */
  UntilClose,
  /** The answer is complete, not yet handed over. */
  Complete,
  /** Handed over (or failed): any byte now is one nobody asked for. */
  Done,
}

/** What the parser reports to its connection. */
export interface ParserSink {
  /** A whole answer; `reusable` when the socket may carry the next request. */
  onAnswer(answer: Http1Answer, reusable: boolean, keepAliveMs: number | undefined): void;
  /** A malformed answer, or bytes after the end of one: the socket is to be dropped. */
  onMalformed(err: Error): void;
}

const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/;
/** The characters of a token (a header name, RFC 9110 §5.6.2), by code. */
const TOKEN_CHARS = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TOKEN_CHARS[c.charCodeAt(0)] = 1;

/** Whether `text` from `from` to `to` (not empty) is a token. */
function isToken(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || TOKEN_CHARS[c] === 0) return false;
  }
  return true;
}

/** Space or tab: what is trimmed around a header value. */
const isBlank = (c: number) => c === 32 || c === 9;

/**
 * Reads HTTP/1.1 answers, one after the other, from the bytes of one socket however they are
 * split. Informational answers (100 Continue; any 1xx but 101) are skipped; 204 and 304 have no
 * body; with both Transfer-Encoding and Content-Length, Transfer-Encoding wins (RFC 9112
 * §6.3) and the socket is not reused; trailers are read and dropped.
 */
export class AnswerParser {
  private state = State.Done;
  /** Bytes of a head or a line not complete yet. */
  private partial: Buffer = EMPTY;
  private status = 0;
  private rawHeaders: string[] = [];
  private chunks: Buffer[] = [];
  private remaining = 0;
  private reusable = true;
  private keepAliveMs: number | undefined;
  /** Failed once: the socket is being dropped, nothing more is read. */
  private broken = false;

  constructor(private readonly sink: ParserSink) {}

  /** Expect an answer (a request was sent). */
  expect(): void {
    this.state = State.Head;
    this.partial = EMPTY;
    this.chunks = [];
    this.keepAliveMs = undefined;
  }

  /** The socket ended: true if that ends the answer (read up to the close), false if the answer was cut short. */
  end(): boolean {
    if (this.state !== State.UntilClose) return false;
    this.complete(false);
    return true;
  }

  /** Feeds the next bytes of the socket. */
  push(data: Buffer): void {
    let at = 0;
    while (at < data.length && !this.broken) {
      switch (this.state) {
        case State.Head:
          at = this.head(data, at);
          break;
        case State.Length:
        case State.ChunkData: {
          // Body bytes: the rest of the body, or of the chunk.
          const take = Math.min(this.remaining, data.length - at);
          this.chunks.push(at === 0 && take === data.length ? data : data.subarray(at, at + take));
          at += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = this.state === State.Length ? State.Complete : State.ChunkEnd;
          break;
        }
        case State.ChunkSize: {
          const line = this.line(data, at);
          if (line === undefined) return;
          at = line.next;
          const semi = line.text.indexOf(';');
          const hex = (semi < 0 ? line.text : line.text.slice(0, semi)).trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) {
            this.fail(`chunk size ${JSON.stringify(hex.slice(0, 20))}`);
            return;
          }
          this.remaining = Number.parseInt(hex, 16);
          this.state = this.remaining === 0 ? State.Trailers : State.ChunkData;
          break;
        }
        case State.ChunkEnd: {
          const line = this.line(data, at);
          if (line === undefined) return;
          at = line.next;
          if (line.text !== '') {
            this.fail('chunk data longer than its size');
            return;
          }
          this.state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          const line = this.line(data, at);
          if (line === undefined) return;
          at = line.next;
          if (line.text === '') this.state = State.Complete;
          break;
        }
        case State.UntilClose:
          this.chunks.push(at === 0 ? data : data.subarray(at));
          return;
        case State.Complete:
          // More bytes than the answer: the socket's framing is not to be trusted after it.
          this.complete(false);
          return;
        case State.Done:
          this.fail('bytes nobody asked for');
          return;
      }
    }
    if (this.state === State.Complete && !this.broken) this.complete(this.reusable);
  }

  /** Reads (part of) a head from `data` at `at`; returns the offset after what it took. */
  private head(data: Buffer, at: number): number {
    const had = this.partial.length;
    const buf = had === 0 ? data : Buffer.concat([this.partial, data.subarray(at)]);
    const start = had === 0 ? at : 0;
    const end = buf.indexOf(HEAD_END, had === 0 ? at : Math.max(0, had - 3));
    if (end < 0 || end - start > MAX_HEAD) {
      if (buf.length - start > MAX_HEAD) this.fail('head too large');
      else this.partial = had === 0 ? Buffer.from(data.subarray(at)) : buf;
      return data.length;
    }
    this.partial = EMPTY;
    this.parseHead(buf.toString('latin1', start, end));
    return had === 0 ? end + 4 : at + end + 4 - had;
  }

  private parseHead(text: string): void {
    // Scanned in place (indexes, no split, no regex per line): every DynamoDB answer's head
    // goes through here (test/bench/FINDINGS.md §27).
    const len = text.length;
    let eol = text.indexOf('\r\n');
    if (eol < 0) eol = len;
    const statusLine = STATUS_LINE.exec(eol === len ? text : text.slice(0, eol));
    if (!statusLine) {
      this.fail(`status line ${JSON.stringify(text.slice(0, Math.min(eol, 40)))}`);
      return;
    }
    const http10 = statusLine[1] === '0';
    const status = Number(statusLine[2]);
    let reusable = !http10;
    let keepAliveMs: number | undefined;
    let length = -1;
    let coded = false;
    let chunked = false;
    const raw: string[] = [];
    for (let at = eol + 2; at < len; ) {
      let end = text.indexOf('\r\n', at);
      if (end < 0) end = len;
      const colon = text.indexOf(':', at);
      if (colon <= at || colon > end || !isToken(text, at, colon)) {
        this.fail('header line');
        return;
      }
      const name = text.slice(at, colon);
      let from = colon + 1;
      let to = end;
      while (from < to && isBlank(text.charCodeAt(from))) from++;
      while (to > from && isBlank(text.charCodeAt(to - 1))) to--;
      const value = text.slice(from, to);
      at = end + 2;
      raw.push(name, value);
      if (name.length === 10) {
        const lower = name.toLowerCase();
        if (lower === 'connection') {
          const options = value.toLowerCase().split(',');
          for (const o of options) {
            if (o.trim() === 'close') reusable = false;
            else if (o.trim() === 'keep-alive' && http10) reusable = true;
          }
        } else if (lower === 'keep-alive') {
          const t = /(?:^|[,\s])timeout=(\d+)/i.exec(value);
          if (t) keepAliveMs = Number(t[1]) * 1000;
        }
      } else if (name.length === 14 && name.toLowerCase() === 'content-length') {
        if (!/^\d{1,15}$/.test(value)) {
          this.fail('Content-Length');
          return;
        }
        const n = Number(value);
        if (length >= 0 && n !== length) {
          this.fail('two Content-Lengths');
          return;
        }
        length = n;
      } else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
        coded = true;
        // Chunked must be the last coding; a body coded otherwise is read up to the close.
        chunked = value.toLowerCase().split(',').at(-1)!.trim() === 'chunked';
      }
    }
    if (status < 200) {
      if (status === 101 || status < 100) {
        this.fail(`status ${status}`);
        return;
      }
      return; // informational: the answer's own head follows
    }
    this.status = status;
    this.rawHeaders = raw;
    this.keepAliveMs = keepAliveMs;
    this.reusable = reusable && !(coded && length >= 0);
    if (status === 204 || status === 304) this.state = State.Complete;
    else if (chunked) this.state = State.ChunkSize;
    else if (!coded && length >= 0) {
      this.remaining = length;
      this.state = length === 0 ? State.Complete : State.Length;
    } else {
      this.reusable = false;
      this.state = State.UntilClose;
    }
  }

  /** A CRLF line from `at` (with what was kept of it before), or undefined when it is not complete yet (kept). */
  private line(data: Buffer, at: number): { text: string; next: number } | undefined {
    const lf = data.indexOf(10, at);
    if (lf < 0) {
      if (this.partial.length + data.length - at > MAX_LINE) this.fail('line too long');
      else this.partial = Buffer.concat([this.partial, data.subarray(at)]);
      return undefined;
    }
    const buf = this.partial.length === 0 ? data.subarray(at, lf + 1) : Buffer.concat([this.partial, data.subarray(at, lf + 1)]);
    this.partial = EMPTY;
    if (buf.length < 2 || buf[buf.length - 2] !== 13) {
      this.fail('line without CRLF');
      return undefined;
    }
    return { text: buf.toString('latin1', 0, buf.length - 2), next: lf + 1 };
  }

  private complete(reusable: boolean): void {
    const chunks = this.chunks;
    const body = chunks.length === 0 ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    this.chunks = [];
    this.state = State.Done;
    this.sink.onAnswer({ status: this.status, rawHeaders: this.rawHeaders, body }, reusable, this.keepAliveMs);
  }

  private fail(what: string): void {
    if (this.broken) return;
    this.broken = true;
    this.state = State.Done;
    this.chunks = [];
    this.partial = EMPTY;
    this.sink.onMalformed(malformed(what));
  }
}

/** One request on the pool, settled once: by its answer, an error, or its time running out. */
class Attempt {
  connection: Connection | undefined;
  private settled = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly pool: Http1Pool,
    readonly payload: string | Buffer,
    private readonly resolve: (answer: Http1Answer) => void,
    private readonly reject: (err: unknown) => void,
    timeoutMs: number,
  ) {
    this.timer = setTimeout(Attempt.onTimeout, timeoutMs, this, timeoutMs);
  }

  succeed(answer: Http1Answer): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.resolve(answer);
  }

  fail(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.reject(err);
  }

  /** Past the bound: the attempt fails, its socket (the answer may still come on it) is dropped. */
  private static onTimeout(self: Attempt, timeoutMs: number): void {
    self.fail(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { name: 'TimeoutError', code: 'ETIMEDOUT' }));
    if (self.connection) self.connection.drop();
    else self.pool.unqueue(self);
  }
}

/** One kept-alive socket of the pool and the answer it is reading. Listeners are bound once per socket. */
class Connection implements ParserSink {
  private readonly parser = new AnswerParser(this);
  private current: Attempt | undefined;
  private gone = false;
  /** When it went idle, and how long the server said it keeps an idle socket (less a second, as node:http's agent). */
  idleSince = 0;
  idleLimitMs: number | undefined;

  constructor(
    private readonly pool: Http1Pool,
    readonly socket: Socket,
  ) {
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  /** Open, not ended by the server, within the server's idle time: a request written now is expected to be read. */
  usable(now: number): boolean {
    const s = this.socket;
    return (
      !this.gone &&
      !s.destroyed &&
      s.writable &&
      !s.readableEnded &&
      (this.idleLimitMs === undefined || now - this.idleSince < this.idleLimitMs)
    );
  }

  send(attempt: Attempt): void {
    this.current = attempt;
    attempt.connection = this;
    this.socket.ref();
    this.parser.expect();
    this.socket.write(attempt.payload);
  }

  drop(): void {
    this.gone = true;
    this.current = undefined;
    this.socket.destroy();
    this.pool.remove(this);
  }

  onAnswer(answer: Http1Answer, reusable: boolean, keepAliveMs: number | undefined): void {
    const attempt = this.current;
    this.current = undefined;
    if (keepAliveMs !== undefined) this.idleLimitMs = Math.max(0, keepAliveMs - 1000);
    if (reusable && !this.gone) this.pool.release(this);
    else this.drop();
    attempt?.succeed(answer);
  }

  onMalformed(err: Error): void {
    const attempt = this.current;
    this.drop();
    attempt?.fail(err);
  }

  private readonly onData = (data: Buffer) => this.parser.push(data);

  private readonly onError = (err: Error) => {
    this.pool.socketFailed();
    const attempt = this.current;
    this.drop();
    attempt?.fail(err);
  };

  /** Closed (by the server, or dropped): an answer read up to the close ends here; any other is cut short. */
  private readonly onClose = () => {
    this.gone = true;
    this.pool.remove(this);
    if (this.current && !this.parser.end()) {
      const attempt = this.current;
      this.current = undefined;
      attempt.fail(hangUp());
    }
  };
}

/** The kept-alive sockets to one endpoint, and the requests waiting for one. */
export class Http1Pool {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly queue: Attempt[] = [];
  private readonly maxSockets: number;
  private tlsSession: Buffer | undefined;
  private destroyed = false;

  constructor(private readonly options: Http1PoolOptions) {
    this.maxSockets = options.maxSockets ?? 50;
  }

  /** Sends a request (its head from requestHead(), its body) and reads its answer, within `timeoutMs` from now. */
  request(head: string, body: string | Buffer, timeoutMs: number): Promise<Http1Answer> {
    return new Promise((resolve, reject) => {
      // One write: head and body together (the head is ASCII, a string body is UTF-8).
      const payload =
        body.length === 0 ? head : typeof body === 'string' ? head + body : Buffer.concat([Buffer.from(head, 'latin1'), body]);
      const attempt = new Attempt(this, payload, resolve, reject, timeoutMs);
      if (this.destroyed) return attempt.fail(Object.assign(new Error('the client was destroyed'), { code: 'ECONNRESET' }));
      const idle = this.takeIdle();
      if (idle) idle.send(attempt);
      else if (this.all.size < this.maxSockets) this.connect().send(attempt);
      else this.queue.push(attempt);
    });
  }

  /** Drops every socket; waiting requests fail. */
  destroy(): void {
    this.destroyed = true;
    for (const c of [...this.all]) c.drop();
    for (const a of this.queue.splice(0)) a.fail(Object.assign(new Error('the client was destroyed'), { code: 'ECONNRESET' }));
  }

  /** The most recently used idle socket that is still usable (LIFO, as node:http's agent); the others found closed are dropped. */
  private takeIdle(): Connection | undefined {
    if (this.idle.length === 0) return undefined;
    const now = Date.now();
    for (let c = this.idle.pop(); c; c = this.idle.pop()) {
      if (c.usable(now)) return c;
      c.drop();
    }
    return undefined;
  }

  private connect(): Connection {
    const { host, port, servername } = this.options;
    // node:http's agent's socket options: no Nagle delay, TCP keep-alive probes after 1 s idle.
    const common = { host, port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 1000 };
    const socket = this.options.tls
      ? tlsConnect({ ...common, servername: servername || undefined, session: this.tlsSession })
      : netConnect(common);
    if (this.options.tls) socket.on('session', (session: Buffer) => (this.tlsSession = session));
    const connection = new Connection(this, socket);
    this.all.add(connection);
    return connection;
  }

  /** An answered socket: to the next waiting request, else idle (not keeping the process alive). */
  release(c: Connection): void {
    if (this.destroyed) {
      c.drop();
      return;
    }
    const next = this.queue.shift();
    if (next) {
      c.send(next);
      return;
    }
    if (c.idleLimitMs !== undefined) c.idleSince = Date.now();
    c.socket.unref();
    this.idle.push(c);
  }

  /** A socket gone: out of the pool; a waiting request gets a new one. */
  remove(c: Connection): void {
    if (!this.all.delete(c)) return;
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    if (this.queue.length > 0 && !this.destroyed && this.all.size < this.maxSockets) this.connect().send(this.queue.shift()!);
  }

  /** A TLS socket failed: its cached session may be why (node:https's agent drops it too). */
  socketFailed(): void {
    this.tlsSession = undefined;
  }

  unqueue(a: Attempt): void {
    const i = this.queue.indexOf(a);
    if (i >= 0) this.queue.splice(i, 1);
  }
}
