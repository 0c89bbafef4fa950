import { createRequire } from 'node:module';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { apiUrl, call, createUser, type TestUser } from '../setup/api';

/**
 * The official add-ons, unmodified, against the local runtime: `@pryv/socket.io` (Socket.IO
 * transport of a `pryv.Connection`) and `@pryv/monitor` (a local event cache kept in sync),
 * with the socket updater and with the interval updater.
 */
const require = createRequire(import.meta.url);
const pryv = require('pryv');
const quiet = console.log;
console.log = () => undefined; // both add-ons print the library version when loaded
require('@pryv/socket.io')(pryv);
require('@pryv/monitor')(pryv);
console.log = quiet;

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const endpointOf = (user: TestUser) => `${apiUrl().replace('://', `://${user.token}@`)}/${user.username}/`;

function waitFor<T>(predicate: () => T | undefined, timeout = 15_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      const value = predicate();
      if (value) return resolve(value);
      if (Date.now() - started > timeout) return reject(new Error('condition not met in time'));
      setTimeout(tick, 50);
    };
    tick();
  });
}

describe('@pryv/socket.io', () => {
  let user: TestUser;
  beforeAll(async () => {
    user = await createUser();
    await call('POST', `/${user.username}/streams`, { token: user.token, body: { id: 'lib-sock', name: 'Lib sock' } });
  });

  it('opens, receives eventsChanged and streamsChanged after changes made through another connection', async () => {
    const conn = new pryv.Connection(endpointOf(user));
    const socket = await conn.socket.open();
    cleanups.push(() => socket.close());
    const seen: string[] = [];
    socket.on('eventsChanged', () => seen.push('eventsChanged'));
    socket.on('streamsChanged', () => seen.push('streamsChanged'));

    const other = new pryv.Connection(endpointOf(user));
    await other.api([{ method: 'events.create', params: { streamIds: ['lib-sock'], type: 'note/txt', content: 'from elsewhere' } }]);
    await waitFor(() => seen.includes('eventsChanged'));
    await other.api([{ method: 'streams.create', params: { name: `s-${Date.now()}`, parentId: 'lib-sock' } }]);
    await waitFor(() => seen.includes('streamsChanged'));
  });

  it('calls methods over the socket with socket.api(), with per-call errors', async () => {
    const conn = new pryv.Connection(endpointOf(user));
    const socket = await conn.socket.open();
    cleanups.push(() => socket.close());
    const results = await socket.api([
      { method: 'events.create', params: { streamIds: ['lib-sock'], type: 'count/steps', content: 7 } },
      { method: 'events.get', params: { streams: ['lib-sock'], types: ['count/steps'] } },
      { method: 'events.get', params: { streams: ['does-not-exist'] } },
    ]);
    expect(results[0].event.content).toBe(7);
    expect(results[1].events.map((e: any) => e.id)).toContain(results[0].event.id);
    expect(results[2].error.id).toBe('unknown-referenced-resource');
  });

  it('rejects open() with an invalid token', async () => {
    const conn = new pryv.Connection(`${apiUrl().replace('://', '://bad-token@')}/${user.username}/`);
    await expect(conn.socket.open()).rejects.toThrow(/token/i);
  });
});

describe('@pryv/monitor keeps a local cache in sync', () => {
  let user: TestUser;
  beforeAll(async () => {
    user = await createUser();
    await call('POST', `/${user.username}/streams`, { token: user.token, body: { id: 'mon', name: 'Monitored' } });
    await call('POST', `/${user.username}/streams`, { token: user.token, body: { id: 'other', name: 'Not monitored' } });
  });

  /** Runs creates, updates, trash and delete through plain HTTP and checks the monitor's cache after each. */
  async function exerciseMonitor(addUpdater: (monitor: any) => void, updaterReady: () => boolean = () => true) {
    const cache = new Map<string, any>();
    const deleted = new Set<string>();
    let streamsSeen = 0;
    const monitor = new pryv.Monitor(endpointOf(user), { limit: 1000, streams: ['mon'] })
      .on('event', (event: any) => cache.set(event.id, event))
      .on('eventDelete', (event: any) => {
        cache.delete(event.id);
        deleted.add(event.id);
      })
      .on('streams', () => streamsSeen++);
    addUpdater(monitor);
    await monitor.start();
    cleanups.push(() => monitor.stop());
    // The socket updater opens its socket after the first load: changes before that are the
    // monitor's own blind spot, not what is tested here.
    await waitFor(updaterReady);
    const before = cache.size;

    const created = await call('POST', `/${user.username}/events`, {
      token: user.token,
      body: { streamIds: ['mon'], type: 'note/txt', content: 'v1' },
    });
    const id = created.body.event.id;
    await waitFor(() => cache.get(id)?.content === 'v1');

    await call('POST', `/${user.username}/events`, {
      token: user.token,
      body: { streamIds: ['other'], type: 'note/txt', content: 'outside' },
    });

    await call('PUT', `/${user.username}/events/${id}`, { token: user.token, body: { content: 'v2' } });
    await waitFor(() => cache.get(id)?.content === 'v2');

    await call('DELETE', `/${user.username}/events/${id}`, { token: user.token });
    await waitFor(() => cache.get(id)?.trashed === true);

    await call('DELETE', `/${user.username}/events/${id}`, { token: user.token });
    await waitFor(() => deleted.has(id));
    expect(cache.has(id)).toBe(false);

    // Nothing from the stream outside the scope reached the cache.
    expect([...cache.values()].every((e) => e.streamIds.includes('mon'))).toBe(true);
    expect(cache.size).toBe(before);
    return { streamsSeen: () => streamsSeen };
  }

  it('with the socket updater', async () => {
    const updater = new pryv.Monitor.UpdateMethod.Socket();
    const { streamsSeen } = await exerciseMonitor(
      (monitor) => monitor.addUpdateMethod(updater),
      () => updater.socket?._io?.connected === true,
    );
    const seenBefore = streamsSeen();
    await call('POST', `/${user.username}/streams`, { token: user.token, body: { name: `child-${Date.now()}`, parentId: 'mon' } });
    await waitFor(() => streamsSeen() > seenBefore);
  });

  it('with the interval updater', async () => {
    await exerciseMonitor((monitor) => monitor.addUpdateMethod(new pryv.Monitor.UpdateMethod.EventsTimer(200)));
  });
});
