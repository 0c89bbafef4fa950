import { io, type Socket } from 'socket.io-client';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { config } from '../../shared/config';
import { dynamo } from '../../shared/store/clients';
import { GetCommand, QueryCommand } from '../../shared/store/commands';
import { keys } from '../../shared/store/keys';
import { adminKey, apiUrl, call, createUser, type TestUser, useRuntimeStore } from '../setup/api';

/**
 * Pryv's Socket.IO API (spec §6.1) against the local runtime's WebSocket API emulation, with
 * the real socket.io-client v4 (as @pryv/socket.io uses it) and with raw WebSocket frames.
 */

const TEST_PING_INTERVAL_MS = 1000;

const open: Array<Socket | WebSocket> = [];
afterEach(() => {
  for (const s of open.splice(0)) {
    if (s instanceof WebSocket) {
      if (s.readyState === WebSocket.OPEN) s.terminate();
    } else s.close();
  }
});

const wsUrl = (query: string) => `${apiUrl().replace(/^http/, 'ws')}/socket.io/?${query}`;

/** A socket.io-client socket to `/{username}/{username}` (the DNS-less form the pryv library uses). */
function connectClient(namespaceUser: string, token: string | undefined, nsp = `/${namespaceUser}/${namespaceUser}`): Socket {
  const socket = io(`${apiUrl()}${nsp}${token === undefined ? '' : `?auth=${encodeURIComponent(token)}`}`, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
  });
  open.push(socket);
  return socket;
}

function connected(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
}

function connectError(socket: Socket): Promise<Error> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected, but should have been refused')));
    socket.once('connect_error', (err) => resolve(err));
  });
}

function emitCall(socket: Socket, method: string, params: unknown): Promise<[any, any]> {
  return new Promise((resolve) => socket.emit(method, params, (err: any, res: any) => resolve([err, res])));
}

/** Collects named events; `next(name)` resolves with the next one (or one already received). */
function recorder(socket: Socket, names: string[]) {
  const seen: string[] = [];
  const waiters: Array<{ name: string; resolve: () => void }> = [];
  for (const name of names) {
    socket.on(name, () => {
      seen.push(name);
      for (const w of waiters.filter((w) => w.name === name)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    });
  }
  return {
    seen,
    next: (name: string) =>
      new Promise<void>((resolve) => {
        waiters.push({ name, resolve });
      }),
    clear: () => void seen.splice(0),
  };
}

/** A raw WebSocket speaking Engine.IO by hand; `messages` holds every text frame received. */
async function rawSocket(query: string) {
  const ws = new WebSocket(wsUrl(query));
  open.push(ws);
  const messages: string[] = [];
  const waiters: Array<{ test: (m: string) => boolean; resolve: (m: string) => void }> = [];
  ws.on('message', (data) => {
    const text = data.toString();
    messages.push(text);
    for (const w of [...waiters]) {
      if (w.test(text)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(text);
      }
    }
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const waitFor = (test: (m: string) => boolean) =>
    new Promise<string>((resolve) => {
      const found = messages.find(test);
      if (found) resolve(found);
      else waiters.push({ test, resolve });
    });
  return { ws, messages, waitFor, closed };
}

describe('Socket.IO over the WebSocket API', () => {
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    useRuntimeStore();
    [alice, bob] = await Promise.all([createUser(), createUser()]);
  });

  describe('handshake', () => {
    it('sends the Engine.IO open packet, then accepts CONNECT for /{username} with a valid token', async () => {
      const raw = await rawSocket(`EIO=4&transport=websocket&auth=${alice.token}`);
      const openPacket = await raw.waitFor((m) => m.startsWith('0'));
      const openData = JSON.parse(openPacket.slice(1));
      expect(openData).toEqual({
        sid: expect.any(String),
        upgrades: [],
        pingInterval: expect.any(Number),
        pingTimeout: expect.any(Number),
        maxPayload: 128 * 1024,
      });
      // Set short for the tests (test/setup/local-runtime.ts) so pings can be watched.
      expect(openData.pingInterval).toBe(TEST_PING_INTERVAL_MS);
      raw.ws.send(`40/${alice.username},`);
      const answer = await raw.waitFor((m) => m.startsWith(`40/${alice.username},`));
      expect(JSON.parse(answer.slice(`40/${alice.username},`.length))).toEqual({ sid: expect.any(String) });
    });

    it('accepts the DNS-less namespace /{username}/{username} used by the pryv library', async () => {
      const socket = connectClient(alice.username, alice.token);
      await connected(socket);
      expect(socket.connected).toBe(true);
    });

    it("refuses a missing token with Pryv's message", async () => {
      const err = await connectError(connectClient(alice.username, undefined));
      expect(err.message).toBe("Missing 'auth' parameter with a valid access token.");
    });

    it("refuses an invalid token, and another user's valid token", async () => {
      const wrong = await connectError(connectClient(alice.username, 'not-a-token'));
      expect(wrong.message).toMatch(/token/i);
      const other = await connectError(connectClient(alice.username, bob.token));
      expect(other.message).toMatch(/token/i);
    });

    it('refuses an unknown user', async () => {
      const err = await connectError(connectClient('nobody-here-x1', alice.token));
      expect(err.message).toMatch(/unknown user/i);
    });

    it('refuses other Engine.IO versions and polling handshakes at $connect (Engine.IO 3: sockets-eio3.test.ts)', async () => {
      for (const query of [
        `EIO=2&transport=websocket&auth=${alice.token}`,
        `transport=websocket&auth=${alice.token}`,
        `EIO=4&transport=polling&auth=${alice.token}`,
        `EIO=3&transport=polling&auth=${alice.token}`,
      ]) {
        const ws = new WebSocket(wsUrl(query));
        ws.on('error', () => undefined); // the refused upgrade also surfaces as an error
        const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
        expect(status).toBe(400);
      }
    });

    it('closes the connection on a malformed packet', async () => {
      const raw = await rawSocket(`EIO=4&transport=websocket&auth=${alice.token}`);
      await raw.waitFor((m) => m.startsWith('0'));
      raw.ws.send('42/x,["unterminated"');
      expect(await raw.closed).toBe(1000);
    });

    it('forgets a connection when the client goes away', async () => {
      const socket = connectClient(alice.username, alice.token);
      await connected(socket);
      const user = await dynamo().send(
        new QueryCommand({
          TableName: config().tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
          ExpressionAttributeValues: { ':pk': keys.userPartition(alice.username), ':p': keys.userSocketPrefix },
        }),
      );
      const connectionIds = (user.Items ?? []).map((i) => i.connectionId as string);
      expect(connectionIds.length).toBeGreaterThan(0);
      socket.close();
      await expect
        .poll(
          async () => {
            const items = await Promise.all(
              connectionIds.map((id) => dynamo().send(new GetCommand({ TableName: config().tableName, Key: keys.socketConnection(id) }))),
            );
            return items.filter((i) => i.Item).length;
          },
          { timeout: 5000 },
        )
        .toBeLessThan(connectionIds.length);
    });
  });

  describe('change notifications', () => {
    it('pushes eventsChanged, streamsChanged and accessesChanged after HTTP changes by another client', async () => {
      const socket = connectClient(alice.username, alice.token);
      await connected(socket);
      const rec = recorder(socket, ['eventsChanged', 'streamsChanged', 'accessesChanged']);

      let next = rec.next('streamsChanged');
      const stream = await call('POST', `/${alice.username}/streams`, { token: alice.token, body: { id: 'sock-a', name: 'Sock A' } });
      expect(stream.status).toBe(201);
      await next;

      next = rec.next('eventsChanged');
      const ev = await call('POST', `/${alice.username}/events`, {
        token: alice.token,
        body: { streamIds: ['sock-a'], type: 'note/txt', content: 'hi' },
      });
      expect(ev.status).toBe(201);
      await next;

      next = rec.next('accessesChanged');
      const acc = await call('POST', `/${alice.username}/accesses`, {
        token: alice.token,
        body: { name: 'sock-app', type: 'app', permissions: [{ streamId: 'sock-a', level: 'read' }] },
      });
      expect(acc.status).toBe(201);
      await next;
    });

    it("does not push one user's changes to another user's sockets", async () => {
      const bobSocket = connectClient(bob.username, bob.token);
      await connected(bobSocket);
      const bobRec = recorder(bobSocket, ['eventsChanged', 'streamsChanged']);
      const aliceSocket = connectClient(alice.username, alice.token);
      await connected(aliceSocket);
      const aliceRec = recorder(aliceSocket, ['eventsChanged']);
      const aliceGot = aliceRec.next('eventsChanged');
      await call('POST', `/${alice.username}/events`, {
        token: alice.token,
        body: { streamIds: ['sock-a'], type: 'note/txt', content: 'private' },
      });
      await aliceGot;
      // Bob's socket then sees his own change, and never Alice's.
      const bobGot = bobRec.next('streamsChanged');
      await call('POST', `/${bob.username}/streams`, { token: bob.token, body: { name: `b-${Date.now()}` } });
      await bobGot;
      expect(bobRec.seen).toEqual(['streamsChanged']);
    });

    it('disconnects a socket whose access was deleted, at the next change', async () => {
      const created = await call('POST', `/${alice.username}/accesses`, {
        token: alice.token,
        body: { name: `revoked-${Date.now()}`, type: 'shared', permissions: [{ streamId: 'sock-a', level: 'read' }] },
      });
      const socket = connectClient(alice.username, created.body.access.token);
      await connected(socket);
      const disconnected = new Promise<string>((resolve) => socket.once('disconnect', (reason) => resolve(reason)));
      await call('DELETE', `/${alice.username}/accesses/${created.body.access.id}`, { token: alice.token });
      expect(await disconnected).toBe('io server disconnect');
    });
  });

  describe('method calls with acknowledgements', () => {
    it('runs API methods and answers (null, {…result, meta})', async () => {
      const socket = connectClient(alice.username, alice.token);
      await connected(socket);
      const [createErr, created] = await emitCall(socket, 'events.create', { streamIds: ['sock-a'], type: 'count/steps', content: 42 });
      expect(createErr).toBeNull();
      expect(created.event).toMatchObject({ streamIds: ['sock-a'], type: 'count/steps', content: 42 });
      expect(created.meta).toMatchObject({ apiVersion: expect.any(String), serverTime: expect.any(Number) });

      const [getErr, got] = await emitCall(socket, 'events.get', { streams: ['sock-a'], types: ['count/steps'] });
      expect(getErr).toBeNull();
      expect(got.events.map((e: any) => e.id)).toContain(created.event.id);

      // The same data over HTTP.
      const http = await call('GET', `/${alice.username}/events/${created.event.id}`, { token: alice.token });
      expect(http.body.event.content).toBe(42);
    });

    it('accepts streams queries as objects', async () => {
      const socket = connectClient(alice.username, alice.token);
      await connected(socket);
      const [err, res] = await emitCall(socket, 'events.get', { streams: { any: ['sock-a'] }, limit: 1 });
      expect(err).toBeNull();
      expect(res.events).toHaveLength(1);
    });

    it('runs callBatch (what @pryv/socket.io api() sends)', async () => {
      const socket = connectClient(alice.username, alice.token);
      await connected(socket);
      const [err, res] = await emitCall(socket, 'callBatch', [
        { method: 'streams.get', params: {} },
        { method: 'events.get', params: { streams: ['no-such-stream'] } },
      ]);
      expect(err).toBeNull();
      expect(res.results[0].streams.map((s: any) => s.id)).toContain('sock-a');
      expect(res.results[1].error.id).toBe('unknown-referenced-resource');
    });

    it('answers errors as ({error, meta}): unknown method, bad params, forbidden', async () => {
      const shared = await call('POST', `/${alice.username}/accesses`, {
        token: alice.token,
        body: { name: `reader-${Date.now()}`, type: 'shared', permissions: [{ streamId: 'sock-a', level: 'read' }] },
      });
      const socket = connectClient(alice.username, shared.body.access.token);
      await connected(socket);

      const [unknown] = await emitCall(socket, 'no.such.method', {});
      expect(unknown.error.id).toBe('invalid-method');
      expect(unknown.meta).toBeDefined();

      const [bad] = await emitCall(socket, 'events.get', { limit: 'many' });
      expect(bad.error.id).toBe('invalid-parameters-format');

      const before = await call('GET', `/${alice.username}/events?streams[]=sock-a&limit=1000`, { token: alice.token });
      const [forbidden] = await emitCall(socket, 'events.create', { streamIds: ['sock-a'], type: 'note/txt', content: 'nope' });
      expect(forbidden.error.id).toBe('forbidden');
      const after = await call('GET', `/${alice.username}/events?streams[]=sock-a&limit=1000`, { token: alice.token });
      expect(after.body.events.length).toBe(before.body.events.length);

      // Methods without a token (registration, login) and the system API are not callable.
      const [login] = await emitCall(socket, 'auth.login', { username: alice.username, password: alice.password, appId: 'x' });
      expect(login.error.id).toBe('invalid-method');
    });

    it("never reaches another user's data: the namespace user is the one whose token was checked", async () => {
      const socket = connectClient(bob.username, bob.token);
      await connected(socket);
      const [err, res] = await emitCall(socket, 'events.get', { limit: 100 });
      expect(err).toBeNull();
      expect(res.events.every((e: any) => !e.streamIds.includes('sock-a'))).toBe(true);
      const [streamErr] = await emitCall(socket, 'events.get', { streams: ['sock-a'] });
      expect(streamErr.error.id).toBe('unknown-referenced-resource');
    });

    it('checks the access at every call: a deleted access gets invalid-access-token', async () => {
      const created = await call('POST', `/${alice.username}/accesses`, {
        token: alice.token,
        body: { name: `short-${Date.now()}`, type: 'shared', permissions: [{ streamId: 'sock-a', level: 'read' }] },
      });
      const socket = connectClient(alice.username, created.body.access.token);
      await connected(socket);
      const [ok] = await emitCall(socket, 'events.get', { limit: 1 });
      expect(ok).toBeNull();
      const disconnected = new Promise<string>((resolve) => socket.once('disconnect', (reason) => resolve(`disconnect: ${reason}`)));
      await call('DELETE', `/${alice.username}/accesses/${created.body.access.id}`, { token: alice.token });
      // The call races the change push that disconnects the socket (previous test): whichever
      // comes first, the deleted access reads nothing.
      const outcome = await Promise.race([emitCall(socket, 'events.get', { limit: 1 }), disconnected]);
      if (typeof outcome === 'string') expect(outcome).toBe('disconnect: io server disconnect');
      else expect(outcome[0].error.id).toBe('invalid-access-token');
    });

    it('answers a result larger than a WebSocket message (128 KB) with an error instead of dropping it', async () => {
      const socket = connectClient(alice.username, alice.token);
      await connected(socket);
      const big = 'x'.repeat(20_000);
      for (let i = 0; i < 8; i++) {
        const [err] = await emitCall(socket, 'events.create', { streamIds: ['sock-a'], type: 'note/txt', content: big });
        expect(err).toBeNull();
      }
      const [err, res] = await emitCall(socket, 'events.get', { streams: ['sock-a'], types: ['note/txt'], limit: 20 });
      expect(res).toBeUndefined();
      expect(err.error.id).toBe('invalid-operation');
      expect(err.error.message).toMatch(/socket message/);
    });
  });

  describe('account deletion', () => {
    it("closes the deleted user's sockets and forgets their connections", async () => {
      const carol = await createUser();
      const socket = connectClient(carol.username, carol.token);
      await connected(socket);
      const disconnected = new Promise<string>((resolve) => socket.once('disconnect', (reason) => resolve(reason)));
      const res = await call('DELETE', `/users/${carol.username}`, { headers: { authorization: adminKey() } });
      expect(res.status).toBe(200);
      expect(await disconnected).toBe('transport close');
      const left = await dynamo().send(
        new QueryCommand({
          TableName: config().tableName,
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :pk',
          ExpressionAttributeValues: { ':pk': keys.allSocketsIndexKey },
        }),
      );
      expect((left.Items ?? []).filter((i) => i.username === carol.username)).toEqual([]);
    });
  });

  describe('liveness', () => {
    it('pings every connection each pingInterval, and the client stays connected', async () => {
      const socket = connectClient(alice.username, alice.token);
      await connected(socket);
      let pings = 0;
      socket.io.engine.on('ping', () => pings++);
      await expect.poll(() => pings, { timeout: TEST_PING_INTERVAL_MS * 4 + 5000, interval: 200 }).toBeGreaterThanOrEqual(2);
      expect(socket.connected).toBe(true);
    });
  });
});
