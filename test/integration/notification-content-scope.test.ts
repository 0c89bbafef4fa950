import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../shared/config';
import { dynamo } from '../../shared/store/clients';
import { UpdateCommand } from '../../shared/store/commands';
import { keys } from '../../shared/store/keys';
import { apiUrl, call, createUser, type TestUser, useRuntimeStore } from '../setup/api';
import { type ListeningSocket, listen, startReceiver } from '../setup/notify-clients';

/**
 * Named events scopes with `events.get` content conditions (README "Sockets"), end to end:
 * API writes → stream → fan-out → a real socket.io-client 4 socket and a real webhook receiver.
 *
 * "Never told" is proven by order, as in notification-scope.test.ts: the next change is made
 * only once the earlier one reached the personal socket (which hears everything), and a last
 * change falling in another scope (`marker`) must be the next message the scoped listener
 * gets; had an earlier change been told, its message would stand in that place.
 */

const suffix = () => randomBytes(4).toString('hex');

describe('named scopes with content conditions', () => {
  let user: TestUser;
  let u: string;
  let reader: { id: string; token: string };
  let app: { id: string; token: string };
  const vis = `vis-${suffix()}`;
  const child = `${vis}-child`;
  const opened: ListeningSocket[] = [];
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  const open = async (token: string) => {
    const s = await listen(apiUrl(), u, token);
    opened.push(s);
    return s;
  };
  const post = async (path: string, body: unknown, token = user.token) => {
    const res = await call('POST', `/${u}${path}`, { token, body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  };
  const weigh = async (streamId: string, kg: number) =>
    (await post('/events', { streamIds: [streamId], type: 'mass/kg', content: kg })).event;
  const reweigh = async (id: string, kg: number) => {
    const res = await call('PUT', `/${u}/events/${id}`, { token: user.token, body: { content: kg } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  };

  beforeAll(async () => {
    useRuntimeStore();
    receiver = await startReceiver();
    user = await createUser();
    u = user.username;
    await post('/streams', { id: vis, name: vis });
    await post('/streams', { id: child, name: 'child', parentId: vis });
    reader = (await post('/accesses', { type: 'shared', name: `sh-${suffix()}`, permissions: [{ streamId: vis, level: 'read' }] })).access;
    app = (await post('/accesses', { type: 'app', name: `app-${suffix()}`, permissions: [{ streamId: vis, level: 'contribute' }] })).access;
  });
  afterEach(() => {
    for (const s of opened.splice(0)) s.close();
  });
  afterAll(async () => {
    await receiver.close();
  });

  it('a socket hears of events meeting the condition before or after a change, and of nothing else', async () => {
    const [personal, s] = await Promise.all([open(user.token), open(reader.token)]);
    const [err, res] = await s.emit('subscribe', {
      scopes: {
        heavy: { query: { streams: [vis], content: [{ path: '$', gt: 100 }] } },
        marker: { query: { streams: [child] } },
      },
    });
    expect(err).toBeNull();
    expect([...res.keys].sort()).toEqual(['heavy', 'marker']);
    const [, subs] = await s.emit('getSubscriptions', {});
    expect(subs.scopes.heavy).toEqual({ kind: 'events', query: { streams: [vis], content: [{ path: '$', gt: 100 }] } });

    await weigh(vis, 80); // does not meet the condition
    await personal.until('eventsChanged', 1);
    const e = await weigh(vis, 120); // meets it
    expect((await s.until('notificationsChanged', 1))[0]!.args).toEqual([{ keys: ['heavy'] }]);
    await reweigh(e.id, 90); // leaves it: told (it met it before)
    expect((await s.until('notificationsChanged', 2))[1]!.args).toEqual([{ keys: ['heavy'] }]);
    await reweigh(e.id, 95); // out before and after
    await personal.until('eventsChanged', 4);
    await reweigh(e.id, 130); // enters it
    expect((await s.until('notificationsChanged', 3))[2]!.args).toEqual([{ keys: ['heavy'] }]);
    await weigh(child, 1); // only in `marker`
    const heard = await s.until('notificationsChanged', 4);
    expect(heard.map((h) => h.args)).toEqual([[{ keys: ['heavy'] }], [{ keys: ['heavy'] }], [{ keys: ['heavy'] }], [{ keys: ['marker'] }]]);
    expect(s.count('eventsChanged')).toBe(0);
  });

  it('refuses a bad condition with the precise 400 events.get gives, and keeps nothing of the payload', async () => {
    const s = await open(reader.token);
    const cases: Array<[unknown, string, RegExp]> = [
      [
        { key: 'bad', query: { content: [{ path: '$', gt: 'heavy' }] } },
        'invalid-parameters-format',
        /Scope "bad".*"gt" takes a finite number/,
      ],
      [{ key: 'bad', query: { clientData: '[{"path":"a"' } }, 'invalid-parameters-format', /Scope "bad".*"clientData".*not valid JSON/],
      [{ key: 'bad', query: { streams: [':_audit:'], content: [{ path: '$', eq: 1 }] } }, 'invalid-operation', /audit/],
      [{ key: 'bad', kind: 'streams', query: { content: [{ path: '$', eq: 1 }] } }, 'invalid-request-structure', /"content"/],
      // a good scope beside a bad one: neither is kept
      [
        { scopes: { good: { query: { streams: [vis] } }, bad: { query: { content: [{ path: 'a', eq: 1, neq: 2 }] } } } },
        'invalid-parameters-format',
        /exactly one operator/,
      ],
    ];
    for (const [payload, id, message] of cases) {
      const [err, res] = await s.emit('subscribe', payload);
      expect(res, JSON.stringify(payload)).toBeUndefined();
      expect(err.error.id, JSON.stringify(payload)).toBe(id);
      expect(err.error.message, JSON.stringify(payload)).toMatch(message);
    }
    const [, subs] = await s.emit('getSubscriptions', {});
    expect(subs.scopes).toEqual({});
  });

  it('a webhook with a content scope is called for matching events only; a bad one is a 400 and no webhook', async () => {
    const before = (await call('GET', `/${u}/webhooks`, { token: app.token })).body.webhooks.length;
    const bad = await call('POST', `/${u}/webhooks`, {
      token: app.token,
      body: { url: `${receiver.base}/bad-${suffix()}`, scopes: { heavy: { kind: 'events', query: { content: [{ path: '$', in: [] }] } } } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ id: 'invalid-parameters-format', data: { param: 'content' } });
    expect((await call('GET', `/${u}/webhooks`, { token: app.token })).body.webhooks.length).toBe(before);

    const path = `/heavy-${suffix()}`;
    const scopes = {
      heavy: { kind: 'events', query: { content: [{ path: '$', gte: 100 }] } },
      marker: { kind: 'events', query: { streams: [child], content: [{ path: '$', lt: 10 }] } },
    };
    const { webhook } = await post('/webhooks', { url: `${receiver.base}${path}`, scopes }, app.token);
    expect(webhook.scopes).toEqual(scopes);
    // no throttle between calls (the API cannot change delivery settings)
    await dynamo().send(
      new UpdateCommand({
        TableName: config().tableName,
        Key: keys.webhook(u, webhook.id),
        UpdateExpression: 'SET minIntervalMs = :i',
        ExpressionAttributeValues: { ':i': 0 },
      }),
    );
    const personal = await open(user.token);
    await weigh(vis, 50); // in no scope
    await personal.until('eventsChanged', 1);
    await weigh(child, 1); // in `marker` only: had the first been told, its call came before this one
    await receiver.until(`a call to ${path}`, () => receiver.to(path).length > 0);
    await weigh(child, 150); // in `heavy` only
    await receiver.until(`a second call to ${path}`, () => receiver.to(path).length > 1);
    expect(receiver.to(path).map((c) => [c.body.messages, c.body.keys])).toEqual([
      [['notificationsChanged'], ['marker']],
      [['notificationsChanged'], ['heavy']],
    ]);
  });
});
