import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config, resetConfig } from '../../shared/config';
import { createEventFrom } from '../../shared/domain/events/create';
import { PUSH_GRACE_MS, type SocketSender, useSocketSender } from '../../shared/domain/notifications/direct-push';
import type { PushMark } from '../../shared/model/notifications';
import { getAccessByToken } from '../../shared/store/accesses';
import { dynamo, table } from '../../shared/store/clients';
import { GetCommand } from '../../shared/store/commands';
import { keys } from '../../shared/store/keys';
import { listUserConnections } from '../../shared/store/socket-connections';
import { markUserSockets } from '../../shared/store/socket-pushes';
import { readDataMeta } from '../../shared/store/streams';
import { apiUrl, call, createUser, type TestUser, useRuntimeStore } from '../setup/api';
import { type ListeningSocket, listen } from '../setup/notify-clients';
import { waitUntil } from './wait';

/**
 * Direct pushes (README "Sockets"): an event write tells the user's sockets itself, right
 * after its commit, and the change fan-out, which still sees the change in the table's
 * stream, does not tell them again; a writer that dies after its commit leaves the change to
 * the fan-out, which tells every socket once the push's deadline passed. Real sockets
 * (socket.io-client 4) on the local runtime; the dying writer runs in this process against
 * the runtime's table.
 */

const suffix = () => randomBytes(4).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const WAIT_MS = 30_000; // far above the expected delay, for a loaded machine

const until = waitUntil({ timeoutMs: WAIT_MS });

/** What the runtime's fan-out handed its sinks for a user (GET /__test/changes, test runtime only). */
async function dispatchedEventChanges(username: string): Promise<number> {
  const res = await fetch(`${apiUrl()}/__test/changes?username=${encodeURIComponent(username)}`);
  const { changes } = (await res.json()) as { changes: Array<{ messages: string[] }> };
  return changes.filter((c) => c.messages.includes('eventsChanged')).length;
}

async function headOf(username: string, eventId: string): Promise<Record<string, unknown> | undefined> {
  const out = await dynamo().send(new GetCommand({ TableName: table(), Key: keys.eventHead(username, eventId), ConsistentRead: true }));
  return out.Item;
}

async function pushRecord(username: string, pushId: string): Promise<Record<string, unknown> | undefined> {
  const out = await dynamo().send(new GetCommand({ TableName: table(), Key: keys.socketPush(username, pushId), ConsistentRead: true }));
  return out.Item;
}

describe('direct pushes from the writing call', () => {
  let user: TestUser;
  let u: string;
  const stream = `s-${suffix()}`;
  const opened: ListeningSocket[] = [];

  const createEvent = async () => {
    const res = await call('POST', `/${u}/events`, { token: user.token, body: { streamIds: [stream], type: 'note/txt', content: 'x' } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.event as { id: string };
  };

  beforeAll(async () => {
    useRuntimeStore();
    user = await createUser();
    u = user.username;
    const res = await call('POST', `/${u}/streams`, { token: user.token, body: { id: stream, name: stream } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });

  afterAll(() => {
    for (const s of opened) s.close();
    useSocketSender(undefined);
  });

  it('a user without sockets costs no push: its event heads carry no mark', async () => {
    expect((await readDataMeta(u)).socketsUntil).toBeUndefined();
    const event = await createEvent();
    const head = await headOf(u, event.id);
    expect(head?.id).toBe(event.id);
    expect(head?.ps).toBeUndefined();
  });

  it('a hint with no socket left: the write records a push that decided for none, so the fan-out never waits for it', async () => {
    const lone = await createUser();
    const res = await call('POST', `/${lone.username}/streams`, { token: lone.token, body: { id: stream, name: stream } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    // As if its last socket closed before the hint was lowered.
    await markUserSockets(lone.username, Math.floor(Date.now() / 1000) + 600);
    expect(await listUserConnections(lone.username)).toEqual([]);
    const created = await call('POST', `/${lone.username}/events`, {
      token: lone.token,
      body: { streamIds: [stream], type: 'note/txt', content: 'nobody listens' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const mark = (await headOf(lone.username, created.body.event.id))?.ps as PushMark | undefined;
    expect(mark?.id).toEqual(expect.any(String));
    // Recorded before the answer (the push finishes beside the call's usage and audit writes).
    const record = await pushRecord(lone.username, mark!.id);
    expect(record?.decided).toEqual([]);
  });

  it('tells a socket once: the writer pushes, the fan-out leaves that socket out', async () => {
    const socket = await listen(apiUrl(), u, user.token);
    opened.push(socket);
    // Binding the connection told the user's data meta that writes should look for sockets.
    expect((await readDataMeta(u)).socketsUntil).toBeGreaterThan(Date.now() / 1000);
    const [connection] = await listUserConnections(u);
    expect(connection).toBeDefined();

    const dispatchedBefore = await dispatchedEventChanges(u);
    const event = await createEvent();
    await socket.until('eventsChanged', 1);

    // The head was committed with the writer's mark, and the writer recorded deciding for this socket.
    const mark = (await headOf(u, event.id))?.ps as PushMark | undefined;
    expect(mark?.id).toEqual(expect.any(String));
    const record = await until('the push record', () => pushRecord(u, mark!.id));
    expect(record.decided).toEqual([connection!.connectionId]);

    // The fan-out saw the same change, and once past the push's deadline still nothing more was sent.
    await until('the fan-out to dispatch the change', async () => (await dispatchedEventChanges(u)) > dispatchedBefore);
    await sleep(PUSH_GRACE_MS + 1000);
    expect(socket.count('eventsChanged')).toBe(1);
  });

  it('a writer that dies after its commit leaves the change to the fan-out: told once, after the deadline', async () => {
    const socket = opened[0]!;
    const heardBefore = socket.count('eventsChanged');
    // This process writes as an events.create would, with the runtime's table, and "dies" after
    // its commit: its sender never answers, so it neither posts nor records.
    process.env.SOCKET_MANAGEMENT_ENDPOINT = 'http://127.0.0.1:9'; // never reached
    resetConfig();
    const stuck: SocketSender = () => new Promise(() => undefined);
    useSocketSender(async () => stuck);
    const access = await getAccessByToken(u, user.token);
    const caller = { username: u, access: access!, now: Date.now() / 1000, author: access!.id, config: config() };
    const eventId = `c${randomBytes(12).toString('hex')}`.slice(0, 25);
    void createEventFrom(caller, { id: eventId, streamIds: [stream], type: 'note/txt', content: 'left behind' });

    const head = await until('the commit', () => headOf(u, eventId));
    const mark = head.ps as PushMark;
    expect(mark.by).toBeGreaterThan(Date.now() - PUSH_GRACE_MS);
    await socket.until('eventsChanged', heardBefore + 1, WAIT_MS);
    expect(await pushRecord(u, mark.id)).toBeUndefined();
    // Not before the deadline the mark set (the fan-out waited for the writer's record).
    expect(Date.now()).toBeGreaterThanOrEqual(mark.by);
    await sleep(1000);
    expect(socket.count('eventsChanged')).toBe(heardBefore + 1);
  });
});
