import io, { type SocketV2 } from 'socket.io-client-v2';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { config } from '../../shared/config';
import { dynamo } from '../../shared/store/clients';
import { GetCommand } from '../../shared/store/commands';
import { keys } from '../../shared/store/keys';
import { listUserConnections } from '../../shared/store/socket-connections';
import { apiUrl, call, createUser, type TestUser, useRuntimeStore } from '../setup/api';

/**
 * Engine.IO 3 clients (socket.io-client 2.x, spec §6.1: the server accepts them) next to
 * Engine.IO 4 ones (sockets.test.ts): the real socket.io-client 2 against the local runtime,
 * and raw frames for what the client does not show (its default namespace, pongs, the sweep).
 */

const TEST_PING_INTERVAL_MS = 1000; // test/setup/local-runtime.ts

const open: Array<SocketV2 | WebSocket> = [];
afterEach(() => {
  for (const s of open.splice(0)) {
    if (s instanceof WebSocket) {
      if (s.readyState === WebSocket.OPEN) s.terminate();
    } else s.close();
  }
});

/** socket.io-client 2 to `/{username}/{username}?auth=…`, as older Pryv apps open it. */
function connectV2(username: string, token: string | undefined): SocketV2 {
  const query = token === undefined ? '' : `?auth=${encodeURIComponent(token)}`;
  const socket = io(`${apiUrl()}/${username}/${username}${query}`, { transports: ['websocket'], forceNew: true, reconnection: false });
  open.push(socket);
  return socket;
}

function connected(socket: SocketV2): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', (err: unknown) => reject(new Error(`refused: ${JSON.stringify(err)}`)));
    socket.once('connect_error', (err: Error) => reject(err));
  });
}

/** The `error` a refused namespace CONNECT gives a Socket.IO 2 client (a bare message). */
function refused(socket: SocketV2): Promise<unknown> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected, but should have been refused')));
    socket.once('error', (err: unknown) => resolve(err));
  });
}

function emitCall(socket: SocketV2, method: string, params: unknown): Promise<[any, any]> {
  return new Promise((resolve) => socket.emit(method, params, (err: any, res: any) => resolve([err, res])));
}

function nextEvent(socket: SocketV2, name: string): Promise<void> {
  return new Promise((resolve) => socket.once(name, () => resolve()));
}

/** A raw Engine.IO 3 WebSocket; `waitFor` resolves with the first text frame (already received or not) that passes. */
async function rawV3(token: string) {
  const ws = new WebSocket(`${apiUrl().replace(/^http/, 'ws')}/socket.io/?EIO=3&transport=websocket&auth=${encodeURIComponent(token)}`);
  open.push(ws);
  const messages: string[] = [];
  const waiters: Array<{ from: number; test: (m: string) => boolean; resolve: (m: string) => void }> = [];
  ws.on('message', (data) => {
    messages.push(data.toString());
    for (const w of [...waiters]) {
      const found = messages.slice(w.from).find(w.test);
      if (found !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(found);
      }
    }
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const waitFor = (test: (m: string) => boolean, from = 0) =>
    new Promise<string>((resolve) => {
      const found = messages.slice(from).find(test);
      if (found !== undefined) resolve(found);
      else waiters.push({ from, test, resolve });
    });
  return { ws, messages, waitFor };
}

describe('Socket.IO 2 clients (Engine.IO 3) over the WebSocket API', () => {
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    useRuntimeStore();
    [alice, bob] = await Promise.all([createUser(), createUser()]);
  });

  it('connects with a Pryv token, hears eventsChanged after an HTTP write, calls events.get, and disconnects cleanly', async () => {
    const socket = connectV2(alice.username, alice.token);
    await connected(socket);
    expect(socket.connected).toBe(true);

    const heard = nextEvent(socket, 'eventsChanged');
    const stream = await call('POST', `/${alice.username}/streams`, { token: alice.token, body: { id: 'v2-a', name: 'V2 A' } });
    expect(stream.status).toBe(201);
    const created = await call('POST', `/${alice.username}/events`, {
      token: alice.token,
      body: { streamIds: ['v2-a'], type: 'note/txt', content: 'from http' },
    });
    expect(created.status).toBe(201);
    await heard;

    const [err, res] = await emitCall(socket, 'events.get', { streams: ['v2-a'], limit: 5 });
    expect(err).toBeNull();
    expect(res.events.map((e: { id: string }) => e.id)).toEqual([created.body.event.id]);
    expect(res.meta).toMatchObject({ apiVersion: expect.any(String), serverTime: expect.any(Number) });

    // A failing call answers the Pryv error in the first callback argument.
    const [failure] = await emitCall(socket, 'events.getOne', { id: 'no-such-event' });
    expect(failure.error.id).toBe('unknown-resource');

    const [connection] = await listUserConnections(alice.username);
    expect(connection).toMatchObject({ eio: 3, nsp: `/${alice.username}/${alice.username}` });
    socket.close();
    await expect
      .poll(
        async () =>
          (await dynamo().send(new GetCommand({ TableName: config().tableName, Key: keys.socketConnection(connection!.connectionId) })))
            .Item,
        { timeout: 10_000 },
      )
      .toBeUndefined();
  });

  it("a missing, invalid or other user's token gets an ERROR with Pryv's message; nothing is bound", async () => {
    expect(await refused(connectV2(alice.username, undefined))).toBe("Missing 'auth' parameter with a valid access token.");
    expect(String(await refused(connectV2(alice.username, 'not-a-token')))).toMatch(/token/i);
    expect(String(await refused(connectV2(alice.username, bob.token)))).toMatch(/token/i);
    expect(await listUserConnections(alice.username)).toEqual([]);
  });

  it('frames: open packet, then 40 (default namespace); CONNECT with the query in the namespace; client pings get pongs; the sweep sends noops, never pings', async () => {
    const raw = await rawV3(alice.token);
    const openPacket = await raw.waitFor((m) => m.startsWith('0'));
    expect(JSON.parse(openPacket.slice(1))).toMatchObject({ sid: expect.any(String), upgrades: [], pingInterval: TEST_PING_INTERVAL_MS });
    await raw.waitFor((m) => m === '40');
    // socket.io-client 2 repeats the handshake query on the namespace and puts no comma after it.
    raw.ws.send(`40/${alice.username}?auth=${encodeURIComponent(alice.token)}`);
    // Socket.IO 2's CONNECT answer has no payload.
    expect(await raw.waitFor((m) => m.startsWith(`40/${alice.username}`))).toBe(`40/${alice.username},`);

    const before = raw.messages.length;
    raw.ws.send('2');
    expect(await raw.waitFor((m) => m.startsWith('3'), before)).toBe('3');

    // Two sweeps' worth of time (one per second here): noops arrive, pings never do.
    const sweepFrom = raw.messages.length;
    await raw.waitFor((m) => m === '6', sweepFrom);
    const secondFrom = raw.messages.length;
    await raw.waitFor((m) => m === '6', secondFrom);
    expect(raw.messages.slice(sweepFrom).filter((m) => m === '2')).toEqual([]);
    expect(raw.ws.readyState).toBe(WebSocket.OPEN);

    // A call after the sweeps: ACK framing is the same as Socket.IO 3+'s.
    const ackFrom = raw.messages.length;
    raw.ws.send(`42/${alice.username},7["streams.get",{}]`);
    const ack = await raw.waitFor((m) => m.startsWith(`43/${alice.username},7`), ackFrom);
    const [err, res] = JSON.parse(ack.slice(`43/${alice.username},7`.length));
    expect(err).toBeNull();
    expect(res.streams.map((s: { id: string }) => s.id)).toContain('v2-a');
  });

  it('a client that pings on its own stays connected across ping sweeps, gets pongs, and still hears changes', async () => {
    const socket = connectV2(alice.username, alice.token);
    let pongs = 0;
    socket.on('pong', () => pongs++);
    let disconnected: string | undefined;
    socket.on('disconnect', (reason: string) => (disconnected = reason));
    await connected(socket);
    // The client pings every pingInterval (1 s here) and drops the connection without a pong.
    await expect.poll(() => pongs, { timeout: 20_000 }).toBeGreaterThanOrEqual(3);
    expect(disconnected).toBeUndefined();
    expect(socket.connected).toBe(true);

    const heard = nextEvent(socket, 'eventsChanged');
    await call('POST', `/${alice.username}/events`, {
      token: alice.token,
      body: { streamIds: ['v2-a'], type: 'note/txt', content: 'later' },
    });
    await heard;
    expect(disconnected).toBeUndefined();
  });

  it('Engine.IO 3 and 4 sockets of one user both hear a change', async () => {
    const { io: io4 } = await import('socket.io-client');
    const v4 = io4(`${apiUrl()}/${alice.username}/${alice.username}?auth=${encodeURIComponent(alice.token)}`, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        v4.once('connect', () => resolve());
        v4.once('connect_error', reject);
      });
      const v2 = connectV2(alice.username, alice.token);
      await connected(v2);
      const heard = Promise.all([
        nextEvent(v2, 'streamsChanged'),
        new Promise<void>((resolve) => v4.once('streamsChanged', () => resolve())),
      ]);
      expect((await call('POST', `/${alice.username}/streams`, { token: alice.token, body: { name: `both-${Date.now()}` } })).status).toBe(
        201,
      );
      await heard;
    } finally {
      v4.close();
    }
  });
});
