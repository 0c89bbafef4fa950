import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../shared/config';
import { dynamo } from '../../shared/store/clients';
import { UpdateCommand } from '../../shared/store/commands';
import { keys } from '../../shared/store/keys';
import { adminKey, apiUrl, call, createUser, type TestUser, useRuntimeStore } from '../setup/api';
import { type ListeningSocket, listen, startReceiver } from '../setup/notify-clients';

/**
 * Notifications scoped to what each access may read (README "Sockets"), end to end: API
 * writes → stream → fan-out → real socket.io-client 4 sockets and a real webhook receiver.
 *
 * "Never told" is proven by order, not by a pause: a later change the listener may hear of
 * is made only once the earlier one has reached a listener that hears everything (the
 * personal socket), so had the earlier one been sent to the scoped listener, it would have
 * arrived first; counting when the later one arrives shows it did not.
 *
 * The user: streams `vis` (with child `vis-child`) and `hid`; an app access contributing to
 * `vis`, a shared access reading `vis`, and the personal access that sees everything.
 */

const suffix = () => randomBytes(4).toString('hex');

describe('notifications scoped to what each access may read', () => {
  let user: TestUser;
  let u: string;
  let app: { id: string; token: string };
  let shared: { id: string; token: string };
  const vis = `vis-${suffix()}`;
  const hid = `hid-${suffix()}`;
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
  const event = async (streamIds: string[], type = 'note/txt') =>
    (await post('/events', { streamIds, type, content: type === 'note/txt' ? 'x' : 1 })).event;
  const update = async (id: string, body: unknown) => {
    const res = await call('PUT', `/${u}/events/${id}`, { token: user.token, body });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  };

  beforeAll(async () => {
    useRuntimeStore();
    receiver = await startReceiver();
    user = await createUser();
    u = user.username;
    await post('/streams', { id: vis, name: vis });
    await post('/streams', { id: `${vis}-child`, name: 'child', parentId: vis });
    await post('/streams', { id: hid, name: hid });
    app = (await post('/accesses', { type: 'app', name: `app-${suffix()}`, permissions: [{ streamId: vis, level: 'contribute' }] })).access;
    shared = (await post('/accesses', { type: 'shared', name: `sh-${suffix()}`, permissions: [{ streamId: vis, level: 'read' }] })).access;
  });
  afterEach(() => {
    for (const s of opened.splice(0)) s.close();
  });
  afterAll(async () => {
    await receiver.close();
  });

  describe('sockets, per token type', () => {
    it('the personal socket hears every event; app and shared sockets only events in streams they read', async () => {
      const [personal, appSocket, sharedSocket] = await Promise.all([open(user.token), open(app.token), open(shared.token)]);
      await event([hid]);
      await personal.until('eventsChanged', 1);
      await event([`${vis}-child`]); // inherited read
      await Promise.all([appSocket.until('eventsChanged', 1), sharedSocket.until('eventsChanged', 1), personal.until('eventsChanged', 2)]);
      expect(appSocket.count('eventsChanged')).toBe(1);
      expect(sharedSocket.count('eventsChanged')).toBe(1);
    });

    it('moves into and out of a readable stream are told; changes while out are not', async () => {
      const [personal, sharedSocket] = await Promise.all([open(user.token), open(shared.token)]);
      const e = await event([hid]);
      await personal.until('eventsChanged', 1);
      await update(e.id, { streamIds: [vis] }); // moves in
      await sharedSocket.until('eventsChanged', 1);
      await update(e.id, { streamIds: [hid] }); // moves out: it was readable before the change
      await sharedSocket.until('eventsChanged', 2);
      await personal.until('eventsChanged', 3);
      await update(e.id, { content: 'changed while out' });
      await personal.until('eventsChanged', 4);
      const inside = await event([vis]);
      await sharedSocket.until('eventsChanged', 3);
      await personal.until('eventsChanged', 5);
      expect(sharedSocket.count('eventsChanged')).toBe(3);
      // deleting for good (trash, then delete: the tombstone keeps the streams it had) is told
      const trash = await call('DELETE', `/${u}/events/${inside.id}`, { token: user.token });
      expect(trash.status).toBe(200);
      await sharedSocket.until('eventsChanged', 4);
      const gone = await call('DELETE', `/${u}/events/${inside.id}`, { token: user.token });
      expect(gone.status).toBe(200);
      await sharedSocket.until('eventsChanged', 5);
    });

    it('stream changes are told where the stream is visible, deletions included', async () => {
      const [personal, sharedSocket] = await Promise.all([open(user.token), open(shared.token)]);
      await post('/streams', { id: `h-${suffix()}`, name: `h-${suffix()}`, parentId: hid });
      await personal.until('streamsChanged', 1);
      const child = `v-${suffix()}`;
      await post('/streams', { id: child, name: child, parentId: vis });
      await sharedSocket.until('streamsChanged', 1);
      await personal.until('streamsChanged', 2);
      expect(sharedSocket.count('streamsChanged')).toBe(1);
      for (let i = 0; i < 2; i++) {
        const res = await call('DELETE', `/${u}/streams/${child}`, { token: user.token }); // trash, then delete
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        await sharedSocket.until('streamsChanged', 2 + i);
      }
    });

    it('events deleted with their stream are told to an access reading the stream through its parent', async () => {
      const [personal, sharedSocket] = await Promise.all([open(user.token), open(shared.token)]);
      const child = `d-${suffix()}`;
      await post('/streams', { id: child, name: child, parentId: vis });
      const e = await event([child]);
      await sharedSocket.until('eventsChanged', 1);
      const trash = await call('DELETE', `/${u}/streams/${child}`, { token: user.token });
      expect(trash.status, JSON.stringify(trash.body)).toBe(200);
      await personal.until('streamsChanged', 2);
      // Deleting the trashed stream deletes it, then its event: the event's stream is gone from
      // the tree by the time its deletion is decided on; it was readable through `vis`.
      const gone = await call('DELETE', `/${u}/streams/${child}?mergeEventsWithParent=false`, { token: user.token });
      expect(gone.status, JSON.stringify(gone.body)).toBe(200);
      expect(gone.body.updatedEvents).toEqual([{ id: e.id, action: 'deleted' }]);
      await sharedSocket.until('eventsChanged', 2);
    });

    it('access changes reach the accesses concerned: its creator, and the personal socket', async () => {
      const [personal, appSocket, sharedSocket] = await Promise.all([open(user.token), open(app.token), open(shared.token)]);
      await post('/accesses', { type: 'shared', name: `other-${suffix()}`, permissions: [{ streamId: hid, level: 'read' }] });
      await personal.until('accessesChanged', 1);
      await post('/accesses', { type: 'shared', name: `by-app-${suffix()}`, permissions: [{ streamId: vis, level: 'read' }] }, app.token);
      await appSocket.until('accessesChanged', 1);
      await personal.until('accessesChanged', 2);
      expect(appSocket.count('accessesChanged')).toBe(1);
      await event([vis]); // the shared socket's later in-scope change
      await sharedSocket.until('eventsChanged', 1);
      expect(sharedSocket.count('accessesChanged')).toBe(0);
    });
  });

  describe('named scopes on sockets (subscribe, unsubscribe, getSubscriptions)', () => {
    it('a scoped socket gets notificationsChanged with the keys of the scopes a change fell in, and no coarse message', async () => {
      const [personal, s] = await Promise.all([open(user.token), open(shared.token)]);
      let [err, res] = await s.emit('subscribe', { key: 'notes', query: { streams: [vis], types: ['note/txt'] } });
      expect(err).toBeNull();
      expect(res).toMatchObject({ ok: true, keys: ['notes'] });
      [err, res] = await s.emit('subscribe', {
        scopes: { 'all-vis': { kind: 'events', query: { streams: [vis] } }, 'vis-streams': { kind: 'streams', query: { streams: [vis] } } },
      });
      expect(err).toBeNull();
      expect([...res.keys].sort()).toEqual(['all-vis', 'notes', 'vis-streams']);
      [err, res] = await s.emit('getSubscriptions', {});
      expect(err).toBeNull();
      expect(res.scopes).toEqual({
        notes: { kind: 'events', query: { streams: [vis], types: ['note/txt'] } },
        'all-vis': { kind: 'events', query: { streams: [vis] } },
        'vis-streams': { kind: 'streams', query: { streams: [vis] } },
      });

      await event([vis], 'mass/kg');
      const [first] = await s.until('notificationsChanged', 1);
      expect(first!.args).toEqual([{ keys: ['all-vis'] }]);
      await event([hid]); // out of every scope
      await personal.until('eventsChanged', 2);
      await event([`${vis}-child`], 'note/txt');
      const heard = await s.until('notificationsChanged', 2);
      expect(heard[1]!.args).toEqual([{ keys: ['all-vis', 'notes'] }]);
      await post('/streams', { id: `c-${suffix()}`, name: `c-${suffix()}`, parentId: vis });
      const third = await s.until('notificationsChanged', 3);
      expect(third[2]!.args).toEqual([{ keys: ['vis-streams'] }]);
      expect(s.count('eventsChanged') + s.count('streamsChanged')).toBe(0);

      [err, res] = await s.emit('unsubscribe', { key: 'notes' });
      expect(res).toMatchObject({ ok: true });
      expect([...res.keys].sort()).toEqual(['all-vis', 'vis-streams']);
      [err, res] = await s.emit('unsubscribe', { all: true });
      expect(res).toMatchObject({ ok: true, keys: [] });
      await event([vis]);
      await s.until('eventsChanged', 1); // coarse messages again
    });

    it('the personal access may watch accesses by type', async () => {
      const personal = await open(user.token);
      const [err, res] = await personal.emit('subscribe', { key: 'shares', kind: 'accesses', query: { types: ['shared'] } });
      expect(err).toBeNull();
      expect(res.keys).toEqual(['shares']);
      await post('/accesses', { type: 'app', name: `not-watched-${suffix()}`, permissions: [{ streamId: vis, level: 'read' }] });
      await post('/accesses', { type: 'shared', name: `watched-${suffix()}`, permissions: [{ streamId: vis, level: 'read' }] });
      const heard = await personal.until('notificationsChanged', 1);
      expect(heard[0]!.args).toEqual([{ keys: ['shares'] }]);
    });

    it('refuses scopes the access may not hold or that are malformed, with precise errors; nothing is kept', async () => {
      const s = await open(shared.token);
      const cases: Array<[unknown, string]> = [
        [{ key: 'x', query: { streams: [hid] } }, 'forbidden'],
        [{ key: 'x', query: { streams: ['no-such-stream'] } }, 'unknown-referenced-resource'],
        [{ key: 'x', kind: 'bogus', query: {} }, 'invalid-request-structure'],
        [{ key: 'x', kind: 'accesses', query: { types: ['app'] } }, 'forbidden'],
        [{ key: '', query: {} }, 'invalid-request-structure'],
        [{ key: 'x', query: { limit: 3 } }, 'invalid-request-structure'],
        [{ key: 'x', query: { types: 'note/txt' } }, 'invalid-request-structure'],
        [{ key: 'x', kind: 'streams', query: { types: ['note/txt'] } }, 'invalid-request-structure'],
        [{ scopes: {} }, 'invalid-request-structure'],
        ['notes', 'invalid-request-structure'],
      ];
      for (const [payload, id] of cases) {
        const [err, res] = await s.emit('subscribe', payload);
        expect(res, JSON.stringify(payload)).toBeUndefined();
        expect(err.error.id, JSON.stringify(payload)).toBe(id);
        expect(err.meta).toMatchObject({ apiVersion: expect.any(String) });
      }
      const [, subs] = await s.emit('getSubscriptions', {});
      expect(subs.scopes).toEqual({});
      const [err] = await s.emit('unsubscribe', {});
      expect(err.error.id).toBe('invalid-request-structure');
    });
  });

  describe('webhooks', () => {
    /** Delivery settings put on the item directly (the API cannot change them): no throttle. */
    const unthrottle = (id: string) =>
      dynamo().send(
        new UpdateCommand({
          TableName: config().tableName,
          Key: keys.webhook(u, id),
          UpdateExpression: 'SET minIntervalMs = :i',
          ExpressionAttributeValues: { ':i': 0 },
        }),
      );
    const makeWebhook = async (token: string, path: string, scopes?: unknown) => {
      const { webhook } = await post('/webhooks', { url: `${receiver.base}${path}`, ...(scopes ? { scopes } : {}) }, token);
      await unthrottle(webhook.id);
      return webhook;
    };

    it('an access update changes what its sockets and webhooks hear, from that update on', async () => {
      const target = (await post('/accesses', { type: 'shared', name: `upd-${suffix()}`, permissions: [{ streamId: vis, level: 'read' }] }))
        .access;
      const path = `/updated-${suffix()}`;
      const [personal, s] = await Promise.all([open(user.token), open(target.token)]);
      await makeWebhook(target.token, path);
      const res = await call('PUT', `/${u}/accesses/${target.id}`, {
        token: user.token,
        body: { permissions: [{ streamId: hid, level: 'read' }] },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const [updated] = await s.until('accessUpdated', 1);
      expect(updated!.args[0]).toEqual({ type: 'access-updated', accessId: res.body.access.id, serial: 1 });
      await event([vis]); // readable with the old permissions only
      await personal.until('eventsChanged', 1);
      const under = `u-${suffix()}`;
      await post('/streams', { id: under, name: under, parentId: hid }); // visible with the new ones only
      await event([hid]);
      await s.until('eventsChanged', 1);
      await s.until('streamsChanged', 1);
      expect(s.count('eventsChanged')).toBe(1);
      await receiver.until(`streamsChanged at ${path}`, () => receiver.messages(path).includes('streamsChanged'));
      await receiver.until(`eventsChanged at ${path}`, () => receiver.messages(path).includes('eventsChanged'));
      // the event in `vis` was dispatched before the stream under `hid`: had the webhook been told, it came first
      const calls = receiver.to(path).map((c) => c.body.messages as string[]);
      const firstStreams = calls.findIndex((m) => m.includes('streamsChanged'));
      expect(calls.slice(0, firstStreams).some((m) => m.includes('eventsChanged'))).toBe(false);
    });

    it('a webhook without scopes hears only what its access may read', async () => {
      const personal = await open(user.token);
      await makeWebhook(shared.token, '/plain');
      await event([hid]);
      await personal.until('eventsChanged', 1);
      await post('/streams', { id: `w-${suffix()}`, name: `w-${suffix()}`, parentId: vis });
      await receiver.until('streamsChanged at /plain', () => receiver.messages('/plain').includes('streamsChanged'));
      expect(receiver.messages('/plain')).toEqual(['streamsChanged']);
    });

    it('scopes on create and update are kept, shown, and told as notificationsChanged with their keys', async () => {
      const personal = await open(user.token);
      const scopes = { notes: { kind: 'events', query: { streams: [vis], types: ['note/txt'] } } };
      const webhook = await makeWebhook(app.token, '/scoped', scopes);
      expect(webhook.scopes).toEqual(scopes);
      const one = await call('GET', `/${u}/webhooks/${webhook.id}`, { token: app.token });
      expect(one.body.webhook.scopes).toEqual(scopes);
      expect(one.body.webhook.access).toBeUndefined(); // the fan-out's copy of the access stays inside

      await event([vis], 'mass/kg'); // in its streams, not its types
      await personal.until('eventsChanged', 1);
      await event([vis], 'note/txt');
      await receiver.until('a call to /scoped', () => receiver.to('/scoped').length > 0);
      expect(receiver.to('/scoped').map((c) => [c.body.messages, c.body.keys])).toEqual([[['notificationsChanged'], ['notes']]]);

      const streamsScope = { moved: { kind: 'streams', query: {} } };
      const updated = await call('PUT', `/${u}/webhooks/${webhook.id}`, { token: app.token, body: { scopes: streamsScope } });
      expect(updated.status, JSON.stringify(updated.body)).toBe(200);
      expect(updated.body.webhook.scopes).toEqual(streamsScope);
      await post('/streams', { id: `m-${suffix()}`, name: `m-${suffix()}`, parentId: vis });
      await receiver.until('a second call to /scoped', () => receiver.to('/scoped').length > 1);
      expect(receiver.to('/scoped')[1]!.body).toMatchObject({ messages: ['notificationsChanged'], keys: ['moved'] });

      const cleared = await call('PUT', `/${u}/webhooks/${webhook.id}`, { token: app.token, body: { scopes: {} } });
      expect(cleared.status).toBe(200);
      expect(cleared.body.webhook.scopes).toBeUndefined();
      await event([vis]);
      await receiver.until('coarse messages again', () => receiver.messages('/scoped').includes('eventsChanged'));
    });

    it('refuses bad scopes with precise 400s and unreadable streams with 403; nothing is created or changed', async () => {
      const before = (await call('GET', `/${u}/webhooks`, { token: app.token })).body.webhooks.length;
      const cases: Array<[unknown, number, string]> = [
        [[], 400, 'invalid-parameters-format'],
        [{ k: { kind: 'nope', query: {} } }, 400, 'invalid-request-structure'],
        [{ k: { kind: 'events', query: { streams: ['no-such-stream'] } } }, 400, 'unknown-referenced-resource'],
        [{ k: { kind: 'events', query: { streams: [hid] } } }, 403, 'forbidden'],
        [{ k: { kind: 'accesses', query: { types: ['app'] } } }, 403, 'forbidden'],
        [{ k: { kind: 'events', query: { tags: ['a'] } } }, 400, 'invalid-request-structure'],
        [{ k: 'events' }, 400, 'invalid-request-structure'],
      ];
      for (const [scopes, status, id] of cases) {
        const res = await call('POST', `/${u}/webhooks`, { token: app.token, body: { url: `${receiver.base}/bad-${suffix()}`, scopes } });
        expect(res.status, JSON.stringify(scopes)).toBe(status);
        expect(res.body.error.id, JSON.stringify(scopes)).toBe(id);
      }
      expect((await call('GET', `/${u}/webhooks`, { token: app.token })).body.webhooks.length).toBe(before);

      const webhook = await makeWebhook(app.token, '/kept', { a: { kind: 'events', query: {} } });
      const res = await call('PUT', `/${u}/webhooks/${webhook.id}`, {
        token: app.token,
        body: { scopes: { b: { kind: 'events', query: { streams: [hid] } } } },
      });
      expect(res.status).toBe(403);
      expect((await call('GET', `/${u}/webhooks/${webhook.id}`, { token: app.token })).body.webhook.scopes).toEqual({
        a: { kind: 'events', query: {} },
      });
    });
  });

  describe('account deletion', () => {
    it('tells nobody of the removed items', async () => {
      const changesOf = async (username: string): Promise<Array<{ messages: string[] }>> =>
        ((await (await fetch(`${apiUrl()}/__test/changes?username=${encodeURIComponent(username)}`)).json()) as any).changes;
      const gone = await createUser();
      const g = gone.username;
      const gApp = (
        await call('POST', `/${g}/accesses`, {
          token: gone.token,
          body: { type: 'app', name: 'doomed', permissions: [{ streamId: '*', level: 'manage' }] },
        })
      ).body.access;
      const s = await call('POST', `/${g}/streams`, { token: gone.token, body: { id: 'doomed', name: 'doomed' } });
      expect(s.status).toBe(201);
      for (let i = 0; i < 3; i++) {
        const e = await call('POST', `/${g}/events`, {
          token: gone.token,
          body: { streamIds: ['doomed'], type: 'note/txt', content: `${i}` },
        });
        expect(e.status).toBe(201);
      }
      const hook = await call('POST', `/${g}/webhooks`, { token: gApp.token, body: { url: `${receiver.base}/doomed` } });
      expect(hook.status).toBe(201);
      // A change of another user made after those writes has come through: so have they
      // (one stream, read in order), and the log of the doomed user is complete.
      const personal = await open(user.token);
      await event([vis]);
      await personal.until('eventsChanged', 1);
      const before = (await changesOf(g)).length;
      expect(before).toBeGreaterThan(0);
      const callsBefore = receiver.to('/doomed').length;

      const res = await call('DELETE', `/users/${g}`, { headers: { authorization: adminKey() } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      // Again: a later change of another user has come through, so the deletion's records have.
      await event([vis]);
      await personal.until('eventsChanged', 2);
      expect((await changesOf(g)).slice(before)).toEqual([]);
      expect(receiver.to('/doomed').length).toBe(callsBefore);
    });
  });
});
