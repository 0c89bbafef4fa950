import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiUrl, call, createUser, type TestUser, useRuntimeStore } from '../setup/api';
import { type ListeningSocket, listen } from '../setup/notify-clients';

/**
 * A slow webhook receiver must not hold up socket pushes (README "Sockets"): the fan-out
 * queues a webhook's messages durably and makes the call beside the batch, so the next
 * batch — later changes of the same user, and of any other user on the shard — reaches
 * sockets while the receiver still sits on the first call. Proven by order: each socket
 * message is timed against the moment the receiver answers, not against a wall-clock bound.
 */

const suffix = () => randomBytes(4).toString('hex');

/** Answers every call after `holdMs` (below one call's timeout), recording when each arrived and was answered. */
async function startSlowReceiver(holdMs: number) {
  const calls: { receivedAt: number; answeredAt?: number }[] = [];
  let arrived: () => void = () => undefined;
  const first = new Promise<void>((resolve) => (arrived = resolve));
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const call: { receivedAt: number; answeredAt?: number } = { receivedAt: Date.now() };
      calls.push(call);
      arrived();
      setTimeout(() => {
        call.answeredAt = Date.now();
        res.writeHead(200).end('ok');
      }, holdMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    first,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The times at which a socket heard `eventsChanged`. */
function timesHeard(s: ListeningSocket): number[] {
  const times: number[] = [];
  s.socket.onAny((name: string) => {
    if (name === 'eventsChanged') times.push(Date.now());
  });
  return times;
}

describe('a slow webhook receiver', () => {
  let slow: Awaited<ReturnType<typeof startSlowReceiver>>;
  let alice: TestUser;
  let bob: TestUser;
  const sockets: ListeningSocket[] = [];
  let appToken: string;
  let webhookId: string;

  const createEvent = async (user: TestUser, stream: string) => {
    const res = await call('POST', `/${user.username}/events`, {
      token: user.token,
      body: { streamIds: [stream], type: 'note/txt', content: 'x' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  };
  const createStream = async (user: TestUser, id: string) => {
    const res = await call('POST', `/${user.username}/streams`, { token: user.token, body: { id, name: id } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  };

  beforeAll(async () => {
    useRuntimeStore();
    slow = await startSlowReceiver(4000);
    [alice, bob] = await Promise.all([createUser(), createUser()]);
    await Promise.all([createStream(alice!, 'a'), createStream(bob!, 'b')]);
    const app = await call('POST', `/${alice!.username}/accesses`, {
      token: alice!.token,
      body: { type: 'app', name: `app-${suffix()}`, permissions: [{ streamId: '*', level: 'manage' }] },
    });
    expect(app.status, JSON.stringify(app.body)).toBe(201);
    const hook = await call('POST', `/${alice!.username}/webhooks`, { token: app.body.access.token, body: { url: `${slow.base}/slow` } });
    expect(hook.status, JSON.stringify(hook.body)).toBe(201);
    appToken = app.body.access.token;
    webhookId = hook.body.webhook.id;
  });
  afterAll(async () => {
    for (const s of sockets.splice(0)) s.close();
    await slow.close();
  });

  it("does not delay the next changes' socket pushes, of the same user or another", async () => {
    const [aliceSocket, bobSocket] = await Promise.all([
      listen(apiUrl(), alice.username, alice.token),
      listen(apiUrl(), bob.username, bob.token),
    ]);
    sockets.push(aliceSocket, bobSocket);
    const aliceHeard = timesHeard(aliceSocket);
    const bobHeard = timesHeard(bobSocket);

    // The first change: its webhook call reaches the receiver, which holds it.
    await createEvent(alice, 'a');
    await slow.first;
    await aliceSocket.until('eventsChanged', 1);

    // Later changes, while the call is held: both sockets hear of them before it is answered.
    await Promise.all([createEvent(alice, 'a'), createEvent(bob, 'b')]);
    await Promise.all([aliceSocket.until('eventsChanged', 2), bobSocket.until('eventsChanged', 1)]);
    const held = slow.calls[0]!;
    expect(
      held.answeredAt === undefined || held.answeredAt > aliceHeard[1]!,
      `alice heard at ${aliceHeard[1]}, answered at ${held.answeredAt}`,
    ).toBe(true);
    expect(
      held.answeredAt === undefined || held.answeredAt > bobHeard[0]!,
      `bob heard at ${bobHeard[0]}, answered at ${held.answeredAt}`,
    ).toBe(true);
    // The call was not given up on: the receiver's late 200 is recorded as the webhook's run.
    for (;;) {
      const res = await call('GET', `/${alice.username}/webhooks/${webhookId}`, { token: appToken });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      if (res.body.webhook.runCount >= 1) {
        expect(res.body.webhook.lastRun.status).toBe(200);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
});
