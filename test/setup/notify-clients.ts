import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { io, type Socket } from 'socket.io-client';

/**
 * Real clients of change notifications for integration tests: a socket.io-client 4 socket
 * that records every server message, and a loopback webhook receiver.
 */

export interface Heard {
  name: string;
  args: unknown[];
}

export interface ListeningSocket {
  socket: Socket;
  heard: Heard[];
  /** Resolves when `count` messages named `name` have been heard in all (0 = already). */
  until: (name: string, count?: number, timeoutMs?: number) => Promise<Heard[]>;
  count: (name: string) => number;
  emit: (method: string, params: unknown) => Promise<[any, any]>;
  close: () => void;
}

/** A socket to `/{username}/{username}?auth={token}` (the pryv library's form), connected. */
export async function listen(baseUrl: string, username: string, token: string): Promise<ListeningSocket> {
  const socket = io(`${baseUrl}/${username}/${username}?auth=${encodeURIComponent(token)}`, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
  });
  const heard: Heard[] = [];
  const waiters = new Set<() => void>();
  socket.onAny((name: string, ...args: unknown[]) => {
    heard.push({ name, args });
    for (const w of [...waiters]) w();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  const of = (name: string) => heard.filter((h) => h.name === name);
  return {
    socket,
    heard,
    count: (name) => of(name).length,
    until: (name, count = 1, timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (of(name).length >= count) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(of(name));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${count}× ${name} within ${timeoutMs} ms; heard ${JSON.stringify(heard.map((h) => h.name))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    emit: (method, params) => new Promise((resolve) => socket.emit(method, params, (err: any, res: any) => resolve([err, res]))),
    close: () => void socket.close(),
  };
}

export interface ReceivedCall {
  path: string;
  body: any;
}

/** A webhook receiver on 127.0.0.1 answering 200; `until(path, n)` waits for n calls to that path. */
export async function startReceiver() {
  const calls: ReceivedCall[] = [];
  const waiters = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      calls.push({ path: (req.url ?? '').split('?')[0]!, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') });
      res.writeHead(200).end('ok');
      for (const w of [...waiters]) w();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const to = (path: string) => calls.filter((c) => c.path === path);
  return {
    base,
    calls,
    to,
    /** Every message string the path was sent, in order. */
    messages: (path: string) => to(path).flatMap((c) => c.body?.messages ?? []),
    until: (what: string, test: () => boolean, timeoutMs = 20_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (test()) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(calls)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
