import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config, resetConfig } from '../../shared/config';
import { deleteAccessWith } from '../../shared/domain/accesses/manage';
import { updateAccessFrom } from '../../shared/domain/accesses/update';
import type { Caller } from '../../shared/domain/caller';
import { createEventFrom } from '../../shared/domain/events/create';
import { type SocketSender, useSocketSender } from '../../shared/domain/notifications/direct-push';
import { sendToSockets } from '../../shared/socketio/direct-send';
import { getAccessByToken } from '../../shared/store/accesses';
import { holdConnectionAccess, listUserConnections, setConnectionAccess } from '../../shared/store/socket-connections';
import { apiUrl, call, createUser, type TestUser, useRuntimeStore } from '../setup/api';
import { type ListeningSocket, listen } from '../setup/notify-clients';
import { waitUntil } from './wait';

/**
 * A write committed right after an access change must not be pushed to that access's sockets
 * on the permissions it had before (README "Sockets", direct pushes): the writing call decides
 * from the copy each connection keeps, which the change fan-out renews only once it reads the
 * change from the table's stream. Here the access change and the write run in this process
 * against the runtime's table, one right after the other; this process's writes do not wake
 * the runtime's stream consumer, so the fan-out has not renewed anything when the write
 * pushes. The posts are real (socket.io-client 4 on the local runtime), recorded on the way.
 */

const suffix = () => randomBytes(4).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const WAIT_MS = 30_000;
const until = waitUntil({ timeoutMs: WAIT_MS });

/** What the runtime's fan-out handed its sinks for a user (GET /__test/changes, test runtime only). */
async function dispatchedEventChanges(username: string): Promise<number> {
  const res = await fetch(`${apiUrl()}/__test/changes?username=${encodeURIComponent(username)}`);
  const { changes } = (await res.json()) as { changes: Array<{ messages: string[] }> };
  return changes.filter((c) => c.messages.includes('eventsChanged')).length;
}

describe('direct pushes after an access change', () => {
  let user: TestUser;
  let u: string;
  const visible = `vis-${suffix()}`;
  const other = `oth-${suffix()}`;
  const opened: ListeningSocket[] = [];
  /** Connection ids the writing calls of this process posted to. */
  const posted: string[] = [];

  const personalCaller = async (): Promise<Caller> => {
    const access = await getAccessByToken(u, user.token);
    return { username: u, access: access!, now: Date.now() / 1000, author: access!.id, config: config() };
  };
  const createApp = async (name: string) => {
    const res = await call('POST', `/${u}/accesses`, {
      token: user.token,
      body: { type: 'app', name, permissions: [{ streamId: visible, level: 'read' }] },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.access as { id: string; token: string };
  };
  const connectionOf = async (token: string) => {
    const connection = (await listUserConnections(u)).find((c) => c.token === token);
    expect(connection?.access, 'the connection keeps its access').toBeDefined();
    return connection!.connectionId;
  };
  const writeIn = async (streamId: string) =>
    createEventFrom(await personalCaller(), { streamIds: [streamId], type: 'note/txt', content: 'x' });

  beforeAll(async () => {
    useRuntimeStore();
    process.env.SOCKET_MANAGEMENT_ENDPOINT = apiUrl();
    resetConfig();
    const recording: SocketSender = async (sends) => {
      posted.push(...sends.map((s) => s.connection.connectionId));
      return sendToSockets(sends);
    };
    useSocketSender(async () => recording);
    user = await createUser();
    u = user.username;
    for (const id of [visible, other]) {
      const res = await call('POST', `/${u}/streams`, { token: user.token, body: { id, name: id } });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
  });

  afterAll(() => {
    for (const s of opened) s.close();
    useSocketSender(undefined);
  });

  it('a write right after accesses.update narrowed the access is not pushed on the old permissions', async () => {
    const app = await createApp(`narrowed-${suffix()}`);
    const socket = await listen(apiUrl(), u, app.token);
    opened.push(socket);
    const connectionId = await connectionOf(app.token);
    // The direct push reaches this socket while its access reads the stream.
    await writeIn(visible);
    expect(posted).toContain(connectionId);
    await socket.until('eventsChanged', 1, WAIT_MS);
    const heard = socket.count('eventsChanged');

    posted.length = 0;
    await updateAccessFrom(await personalCaller(), app.id, { permissions: [{ streamId: other, level: 'read' }] });
    const dispatchedBefore = await dispatchedEventChanges(u);
    await writeIn(visible);
    expect(posted, 'pushed on the permissions before the update').not.toContain(connectionId);

    // The fan-out told nobody either: the access no longer reads that stream.
    await until('the fan-out to dispatch the write', async () => (await dispatchedEventChanges(u)) > dispatchedBefore);
    await sleep(1000);
    expect(socket.count('eventsChanged')).toBe(heard);

    // Once the fan-out renewed the connection's copy, writes in what it now reads are pushed again.
    await until('the copy renewed', async () => (await listUserConnections(u)).find((c) => c.connectionId === connectionId)?.access);
    posted.length = 0;
    await writeIn(other);
    expect(posted).toContain(connectionId);
    await socket.until('eventsChanged', heard + 1, WAIT_MS);
  });

  it('a copy held for a later version is not renewed by an earlier one (two updates in a row)', async () => {
    const app = await createApp(`twice-${suffix()}`);
    const socket = await listen(apiUrl(), u, app.token);
    opened.push(socket);
    const connectionId = await connectionOf(app.token);
    const connection = (await listUserConnections(u)).find((c) => c.connectionId === connectionId)!;
    const snapshot = connection.access!;
    // The second update held the copy for serial 2 before the fan-out renewed it from the first.
    await holdConnectionAccess(u, [app.token], 2);
    expect(await setConnectionAccess(connection, snapshot, 1)).toBe('held');
    expect((await listUserConnections(u)).find((c) => c.connectionId === connectionId)?.access).toBeUndefined();
    expect(await setConnectionAccess(connection, snapshot, 2)).toBe('renewed');
    const renewed = (await listUserConnections(u)).find((c) => c.connectionId === connectionId);
    expect(renewed?.access).toEqual(snapshot);
    expect(renewed?.accessHeldFor).toBeUndefined();
  });

  it('a write right after accesses.delete is not pushed to the deleted access’s socket, which is closed', async () => {
    const app = await createApp(`deleted-${suffix()}`);
    const socket = await listen(apiUrl(), u, app.token);
    opened.push(socket);
    const connectionId = await connectionOf(app.token);
    const disconnected = new Promise<void>((resolve) => socket.socket.on('disconnect', () => resolve()));

    posted.length = 0;
    await deleteAccessWith(await personalCaller(), app.id);
    await writeIn(visible);
    expect(posted, 'pushed to a deleted access').not.toContain(connectionId);
    await disconnected;
    expect(socket.count('eventsChanged')).toBe(0);
  });
});
