import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamo, table } from '../../shared/store/clients';
import { GetCommand } from '../../shared/store/commands';
import { keys } from '../../shared/store/keys';
import { listUserConnections } from '../../shared/store/socket-connections';
import { clearUserSockets, markUserSockets, readSocketsHint } from '../../shared/store/socket-pushes';
import { readDataMeta } from '../../shared/store/streams';
import { apiUrl, call, createUser, type TestUser, useRuntimeStore } from '../setup/api';
import { type ListeningSocket, listen } from '../setup/notify-clients';
import { waitUntil } from './wait';

/**
 * The data meta's `socketsUntil` (README "Sockets", direct pushes): set when a connection is
 * bound, so that the user's event writes look up its connections; removed when the last one
 * closes, so that they stop paying that Query — and never removed while a connection is bound
 * at the same moment. Real sockets (socket.io-client 4) on the local runtime.
 */

const suffix = () => randomBytes(4).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = waitUntil({ timeoutMs: 30_000 });

describe('the sockets hint on the data meta', () => {
  let user: TestUser;
  let u: string;
  const stream = `s-${suffix()}`;
  const opened: ListeningSocket[] = [];

  beforeAll(async () => {
    useRuntimeStore();
    user = await createUser();
    u = user.username;
    const res = await call('POST', `/${u}/streams`, { token: user.token, body: { id: stream, name: stream } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });

  afterAll(() => {
    for (const s of opened) s.close();
  });

  it('stays while a connection is left, and goes with the last one: writes then push nothing', async () => {
    const first = await listen(apiUrl(), u, user.token);
    const second = await listen(apiUrl(), u, user.token);
    opened.push(first, second);
    await until('both bound', async () => (await listUserConnections(u)).length === 2);
    expect((await readDataMeta(u)).socketsUntil).toBeGreaterThan(Date.now() / 1000);

    first.close();
    await until('the first forgotten', async () => (await listUserConnections(u)).length === 1);
    await sleep(500); // its $disconnect has looked for other connections by now
    expect((await readDataMeta(u)).socketsUntil, 'removed while a connection is open').toBeGreaterThan(Date.now() / 1000);

    second.close();
    await until('the hint removed', async () => (await readDataMeta(u)).socketsUntil === undefined);
    expect(await listUserConnections(u)).toEqual([]);

    // A write no longer looks for sockets: its head carries no push mark.
    const res = await call('POST', `/${u}/events`, { token: user.token, body: { streamIds: [stream], type: 'note/txt', content: 'x' } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const head = await dynamo().send(
      new GetCommand({ TableName: table(), Key: keys.eventHead(u, res.body.event.id), ConsistentRead: true }),
    );
    expect(head.Item?.id).toBe(res.body.event.id);
    expect(head.Item?.ps).toBeUndefined();

    // A new connection sets it again.
    const third = await listen(apiUrl(), u, user.token);
    opened.push(third);
    await until('the hint set again', async () => ((await readDataMeta(u)).socketsUntil ?? 0) > Date.now() / 1000);
  });

  it('is not removed when a connection is bound between the last one going and the removal', async () => {
    const other = (await createUser()).username;
    const inAnHour = Math.ceil(Date.now() / 1000) + 3600;
    await markUserSockets(other, inAnHour);
    // The last connection's $disconnect read the hint and found no connection left…
    const seen = await readSocketsHint(other);
    expect(seen.until).toBe(inAnHour);
    // …when a new one is bound (even one that ends no later than the hint says)…
    await markUserSockets(other, inAnHour - 10);
    // …so its removal is refused, and the new connection's writes still look for it.
    expect(await clearUserSockets(other, seen.bound)).toBe(false);
    expect((await readDataMeta(other)).socketsUntil).toBe(inAnHour);
    // With nothing bound since it looked, it is removed.
    const now = await readSocketsHint(other);
    expect(await clearUserSockets(other, now.bound)).toBe(true);
    expect((await readDataMeta(other)).socketsUntil).toBeUndefined();
  });
});
