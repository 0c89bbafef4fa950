import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../shared/config';
import { dynamo } from '../../shared/store/clients';
import { UpdateCommand } from '../../shared/store/commands';
import { keys } from '../../shared/store/keys';
import { call, createUser, expectError, type TestUser, useRuntimeStore } from '../setup/api';

/** Webhooks API (spec §2.5, §3.6), through the API, with a real loopback receiver. */

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: any;
}

/** A receiver on 127.0.0.1: `/ok` → 200, `/fail` → 500, `/redirect` → 302 to `/ok`. */
async function startReceiver(): Promise<{ server: Server; base: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        /* keep text */
      }
      const path = (req.url ?? '').split('?')[0]!;
      received.push({ path, headers: req.headers, body });
      if (path.startsWith('/fail')) res.writeHead(500).end('no');
      else if (path.startsWith('/redirect')) res.writeHead(302, { location: '/ok/after-redirect' }).end();
      else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, base: `http://127.0.0.1:${port}`, received };
}

const suffix = () => randomBytes(4).toString('hex');

interface Fixture {
  user: TestUser;
  personalId: string;
  app: { id: string; token: string };
  app2: { id: string; token: string };
  shared: { id: string; token: string };
}

async function fixture(): Promise<Fixture> {
  const user = await createUser();
  const u = user.username;
  const access = async (body: Record<string, unknown>) => {
    const res = await call('POST', `/${u}/accesses`, { token: user.token, body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.access as { id: string; token: string };
  };
  const app = await access({ type: 'app', name: `app-${suffix()}`, permissions: [{ streamId: '*', level: 'manage' }] });
  const app2 = await access({ type: 'app', name: `app2-${suffix()}`, permissions: [{ streamId: '*', level: 'read' }] });
  const shared = await access({ name: `shared-${suffix()}`, permissions: [{ streamId: '*', level: 'read' }] });
  const personalId = (await call('GET', `/${u}/access-info`, { token: user.token })).body.id;
  return { user, personalId, app, app2, shared };
}

describe('webhooks', () => {
  let f: Fixture;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let u: string;

  const create = (url: string, token: string, extra: Record<string, unknown> = {}) =>
    call('POST', `/${u}/webhooks`, { token, body: { url, ...extra } });
  /** Creates a webhook (fails the test when refused); returns it, secret included. */
  const made = async (url: string, token: string): Promise<Record<string, any>> => {
    const res = await create(url, token);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.webhook;
  };
  const getOne = (id: string, token: string) => call('GET', `/${u}/webhooks/${id}`, { token });
  const update = (id: string, token: string, body: unknown) => call('PUT', `/${u}/webhooks/${id}`, { token, body });
  const remove = (id: string, token: string) => call('DELETE', `/${u}/webhooks/${id}`, { token });
  const test = (id: string, token: string) => call('POST', `/${u}/webhooks/${id}/test`, { token });
  const list = async (token: string): Promise<Array<Record<string, any>>> => {
    const res = await call('GET', `/${u}/webhooks`, { token });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.webhooks;
  };

  beforeAll(async () => {
    useRuntimeStore();
    receiver = await startReceiver();
    f = await fixture();
    u = f.user.username;
    // Let the fixture's own changes (accesses) pass the fan-out before any webhook exists:
    // delivery (webhook-delivery.test.ts) would otherwise add calls these tests count.
    await new Promise((r) => setTimeout(r, 1000));
  });
  afterAll(async () => {
    receiver.server.closeAllConnections();
    await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
  });

  describe('webhooks.create', () => {
    it('an app access creates one: 201, every field of spec §3.6 with its default, and the secret once', async () => {
      const before = Date.now() / 1000;
      const url = `${receiver.base}/ok/create-${suffix()}`;
      const res = await create(url, f.app.token);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const w = res.body.webhook;
      expect(w).toMatchObject({
        accessId: f.app.id,
        url,
        state: 'active',
        runCount: 0,
        failCount: 0,
        lastRun: { status: 0, timestamp: 0 },
        runs: [],
        currentRetries: 0,
        maxRetries: 5,
        minIntervalMs: 5000,
        createdBy: f.app.id,
        modifiedBy: f.app.id,
      });
      expect(w.id).toMatch(/^c[a-z0-9]{24}$/);
      expect(w.created).toBeGreaterThanOrEqual(before - 5);
      expect(w.modified).toBe(w.created);
      expect(Object.keys(w).sort()).toEqual(
        [
          'id',
          'accessId',
          'url',
          'state',
          'runCount',
          'failCount',
          'lastRun',
          'runs',
          'currentRetries',
          'maxRetries',
          'minIntervalMs',
          'secret',
          'created',
          'createdBy',
          'modified',
          'modifiedBy',
        ].sort(),
      );
      // Standard Webhooks secret: whsec_ + base64 of 32 random bytes.
      expect(w.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(w.secret.slice('whsec_'.length), 'base64')).toHaveLength(32);

      // Never shown again: not by getOne, get, update, test, nor to the personal access.
      const answers = [
        await getOne(w.id, f.app.token),
        await getOne(w.id, f.user.token),
        await call('GET', `/${u}/webhooks`, { token: f.app.token }),
        await call('GET', `/${u}/webhooks`, { token: f.user.token }),
        await update(w.id, f.app.token, { state: 'inactive' }),
        await test(w.id, f.app.token),
      ];
      for (const answer of answers) {
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        expect(JSON.stringify(answer.body)).not.toContain(w.secret);
        expect(JSON.stringify(answer.body)).not.toContain('whsec_');
      }
      const one = (await getOne(w.id, f.app.token)).body.webhook;
      expect(one.secret).toBeUndefined();
      expect(one.id).toBe(w.id);
    });

    it('every webhook gets its own secret', async () => {
      const a = await made(`${receiver.base}/ok/secret-a-${suffix()}`, f.app.token);
      const b = await made(`${receiver.base}/ok/secret-b-${suffix()}`, f.app.token);
      expect(a.secret).not.toBe(b.secret);
    });

    it('a shared access creates one; a personal access cannot (403 forbidden)', async () => {
      const url = `${receiver.base}/ok/shared-${suffix()}`;
      const shared = await made(url, f.shared.token);
      expect(shared.accessId).toBe(f.shared.id);
      expectError(await create(`${receiver.base}/ok/personal-${suffix()}`, f.user.token), 403, 'forbidden');
      expect((await list(f.user.token)).some((w) => w.url.includes('/ok/personal-'))).toBe(false);
    });

    it('the same URL twice for one access → 409 item-already-exists {url}; another access may use it', async () => {
      const url = `${receiver.base}/ok/dup-${suffix()}`;
      await made(url, f.app.token);
      const again = await create(url, f.app.token);
      expectError(again, 409, 'item-already-exists');
      expect(again.body.error.data).toEqual({ url });
      const other = await made(url, f.app2.token);
      expect(other.accessId).toBe(f.app2.id);
      expect(other.url).toBe(url);
      // A slightly different URL is another URL.
      await made(`${url}/`, f.app.token);
    });

    it('deleting a webhook frees its URL for the same access', async () => {
      const url = `${receiver.base}/ok/reuse-${suffix()}`;
      const first = await made(url, f.app.token);
      expect((await remove(first.id, f.app.token)).status).toBe(200);
      const second = await made(url, f.app.token);
      expect(second.id).not.toBe(first.id);
    });

    it('url: required, http(s), absolute, at most 2048 characters; no other parameter → 400', async () => {
      const bad = [
        {},
        { url: '' },
        { url: 'not a url' },
        { url: '/relative/path' },
        { url: 'ftp://example.com/hook' },
        { url: 'javascript:alert(1)' },
        { url: 'https://user:pw@example.com/hook' },
        { url: 42 },
        { url: `https://example.com/${'a'.repeat(2048 - 'https://example.com/'.length + 1)}` },
        { url: 'https://example.com/hook', runCount: 3 },
        { url: 'https://example.com/hook', unknown: true },
        { url: 'https://example.com/hook', state: 'paused' },
      ];
      for (const body of bad) {
        const res = await call('POST', `/${u}/webhooks`, { token: f.app.token, body });
        expectError(res, 400, 'invalid-parameters-format');
      }
      const longest = `https://example.com/${'a'.repeat(2048 - 'https://example.com/'.length)}`;
      expect(longest).toHaveLength(2048);
      expect((await made(longest, f.app.token)).url).toBe(longest);
    });

    it('state may be given at creation (default active)', async () => {
      const res = await create(`${receiver.base}/ok/inactive-${suffix()}`, f.app.token, { state: 'inactive' });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.webhook.state).toBe('inactive');
    });
  });

  describe('ownership (spec §2.5)', () => {
    let mine: Record<string, any>;
    let theirs: Record<string, any>;
    let sharedOne: Record<string, any>;
    beforeAll(async () => {
      mine = await made(`${receiver.base}/ok/own-app-${suffix()}`, f.app.token);
      theirs = await made(`${receiver.base}/ok/own-app2-${suffix()}`, f.app2.token);
      sharedOne = await made(`${receiver.base}/ok/own-shared-${suffix()}`, f.shared.token);
    });

    it('webhooks.get: personal sees all, others only their own', async () => {
      const all = (await list(f.user.token)).map((w) => w.id);
      expect(all).toEqual(expect.arrayContaining([mine.id, theirs.id, sharedOne.id]));
      const app = await list(f.app.token);
      expect(app.length).toBeGreaterThan(0);
      expect(app.every((w) => w.accessId === f.app.id)).toBe(true);
      expect(app.map((w) => w.id)).toContain(mine.id);
      const app2 = await list(f.app2.token);
      expect(app2.every((w) => w.accessId === f.app2.id)).toBe(true);
      expect(app2.map((w) => w.id)).toContain(theirs.id);
      const shared = await list(f.shared.token);
      expect(shared.every((w) => w.accessId === f.shared.id)).toBe(true);
      expect(shared.map((w) => w.id)).toContain(sharedOne.id);
    });

    it('another app or shared access gets 403 forbidden on getOne, update, delete and test; nothing changes', async () => {
      for (const token of [f.app2.token, f.shared.token]) {
        for (const res of [
          await getOne(mine.id, token),
          await update(mine.id, token, { state: 'inactive' }),
          await remove(mine.id, token),
          await test(mine.id, token),
        ]) {
          expectError(res, 403, 'forbidden');
          expect(res.body.error.message).toBe('The webhook was not created by this access.');
          expect(JSON.stringify(res.body)).not.toContain(mine.url);
        }
      }
      const after = (await getOne(mine.id, f.app.token)).body.webhook;
      expect(after).toMatchObject({ state: 'active', runCount: 0, modified: mine.modified });
    });

    it('the personal access manages webhooks of every access', async () => {
      expect((await getOne(theirs.id, f.user.token)).body.webhook.accessId).toBe(f.app2.id);
      const upd = await update(theirs.id, f.user.token, { state: 'inactive' });
      expect(upd.status, JSON.stringify(upd.body)).toBe(200);
      expect(upd.body.webhook).toMatchObject({ state: 'inactive', modifiedBy: f.personalId, accessId: f.app2.id });
      expect((await test(theirs.id, f.user.token)).status).toBe(200);
      const del = await remove(theirs.id, f.user.token);
      expect(del.status, JSON.stringify(del.body)).toBe(200);
      expect(del.body.webhookDeletion.id).toBe(theirs.id);
    });

    it('unknown ids → 404 unknown-resource for getOne, update, delete and test', async () => {
      for (const token of [f.user.token, f.app.token]) {
        for (const res of [
          await getOne('cunknownwebhook0000000000', token),
          await update('cunknownwebhook0000000000', token, { state: 'inactive' }),
          await remove('cunknownwebhook0000000000', token),
          await test('cunknownwebhook0000000000', token),
        ]) {
          expectError(res, 404, 'unknown-resource');
        }
      }
    });

    it('deleting the creating access keeps its webhooks (spec §2.5)', async () => {
      const temp = await call('POST', `/${u}/accesses`, {
        token: f.user.token,
        body: { type: 'app', name: `temp-${suffix()}`, permissions: [{ streamId: '*', level: 'read' }] },
      });
      expect(temp.status).toBe(201);
      const w = await made(`${receiver.base}/ok/orphan-${suffix()}`, temp.body.access.token);
      expect((await call('DELETE', `/${u}/accesses/${temp.body.access.id}`, { token: f.user.token })).status).toBe(200);
      const still = await getOne(w.id, f.user.token);
      expect(still.status).toBe(200);
      expect(still.body.webhook.accessId).toBe(temp.body.access.id);
    });
  });

  describe('webhooks.update', () => {
    it('only state is alterable: inactive then active; modified and modifiedBy follow', async () => {
      const w = await made(`${receiver.base}/ok/upd-${suffix()}`, f.app.token);
      const off = await update(w.id, f.app.token, { state: 'inactive' });
      expect(off.status, JSON.stringify(off.body)).toBe(200);
      expect(off.body.webhook).toMatchObject({ id: w.id, state: 'inactive', url: w.url, modifiedBy: f.app.id });
      expect(off.body.webhook.modified).toBeGreaterThanOrEqual(w.modified);
      expect((await getOne(w.id, f.app.token)).body.webhook.state).toBe('inactive');
      const on = await update(w.id, f.app.token, { state: 'active' });
      expect(on.body.webhook.state).toBe('active');
    });

    it('state active resets currentRetries to 0; inactive keeps them', async () => {
      const w = await made(`${receiver.base}/ok/retries-${suffix()}`, f.app.token);
      // Delivery (not built yet) counts failures: simulated in the store.
      await dynamo().send(
        new UpdateCommand({
          TableName: config().tableName,
          Key: keys.webhook(u, w.id),
          UpdateExpression: 'SET currentRetries = :n, #state = :inactive',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':n': 6, ':inactive': 'inactive' },
        }),
      );
      const still = await update(w.id, f.app.token, { state: 'inactive' });
      expect(still.body.webhook).toMatchObject({ state: 'inactive', currentRetries: 6 });
      const on = await update(w.id, f.app.token, { state: 'active' });
      expect(on.status, JSON.stringify(on.body)).toBe(200);
      expect(on.body.webhook).toMatchObject({ state: 'active', currentRetries: 0 });
      expect((await getOne(w.id, f.app.token)).body.webhook.currentRetries).toBe(0);
    });

    it('other known fields → 403 forbidden; unknown fields or bad states → 400; nothing changes', async () => {
      const w = await made(`${receiver.base}/ok/upd-bad-${suffix()}`, f.app.token);
      for (const body of [
        { url: 'https://example.com/other' },
        { runCount: 10 },
        { accessId: f.app2.id },
        { maxRetries: 100 },
        { minIntervalMs: 1 },
        { currentRetries: 0 },
        { secret: 'whsec_x' },
        { state: 'inactive', url: 'https://example.com/other' },
      ]) {
        const res = await update(w.id, f.app.token, body);
        expectError(res, 403, 'forbidden');
        expect(res.body.error.message).toMatch(/protected field/);
      }
      for (const body of [{ name: 'x' }, { state: 'paused' }, { state: true }, { state: 'active', color: 'red' }]) {
        expectError(await update(w.id, f.app.token, body), 400, 'invalid-parameters-format');
      }
      const after = (await getOne(w.id, f.app.token)).body.webhook;
      const { secret: _s, ...shown } = w;
      // The delivery worker owns the run statistics and may deliver to this webhook meanwhile (changes
      // made earlier in this file reach the fan-out late): everything else is exactly as it was, and
      // those only moved the way deliveries move them (runCount never set to the refused 10).
      const DELIVERY_STATE = ['runs', 'runCount', 'lastRun', 'failCount', 'currentRetries'];
      const without = (hook: Record<string, unknown>) =>
        Object.fromEntries(Object.entries(hook).filter(([k]) => !DELIVERY_STATE.includes(k)));
      expect(without(after)).toEqual(without(shown));
      expect(after.runCount - shown.runCount).toBe(after.runs.length - shown.runs.length); // one run recorded per delivery
      expect(after.failCount).toBeGreaterThanOrEqual(shown.failCount);
      if (after.runCount === shown.runCount) expect(after).toEqual(shown);
    });
  });

  describe('webhooks.delete', () => {
    it('answers {webhookDeletion: {id, deleted}}; the webhook is gone', async () => {
      const w = await made(`${receiver.base}/ok/del-${suffix()}`, f.app.token);
      const before = Date.now() / 1000;
      const res = await remove(w.id, f.app.token);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ webhookDeletion: { id: w.id } });
      expect(Object.keys(res.body.webhookDeletion).sort()).toEqual(['deleted', 'id']);
      expect(res.body.webhookDeletion.deleted).toBeGreaterThanOrEqual(before - 5);
      expectError(await getOne(w.id, f.app.token), 404, 'unknown-resource');
      expectError(await remove(w.id, f.app.token), 404, 'unknown-resource');
      expect((await list(f.user.token)).map((x) => x.id)).not.toContain(w.id);
    });
  });

  describe('webhooks.test', () => {
    it('POSTs {messages:["test"], meta} to the URL; counts as a successful run', async () => {
      const path = `/ok/test-${suffix()}`;
      const w = await made(`${receiver.base}${path}`, f.app.token);
      const before = Date.now() / 1000;
      const res = await test(w.id, f.app.token);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const got = receiver.received.filter((r) => r.path === path);
      expect(got).toHaveLength(1);
      expect(got[0]!.headers['content-type']).toMatch(/^application\/json/);
      const info = (await call('GET', '/reg/service/info')).body;
      expect(got[0]!.body).toEqual({
        messages: ['test'],
        meta: { apiVersion: expect.any(String), serverTime: expect.any(Number), serial: info.serial },
      });
      expect(got[0]!.body.meta.serverTime).toBeGreaterThanOrEqual(before - 5);
      expect(got[0]!.body.meta.apiVersion).toBe(res.headers.get('api-version'));

      const after = res.body.webhook;
      expect(after).toMatchObject({ id: w.id, runCount: 1, failCount: 0, currentRetries: 0, state: 'active' });
      expect(after.lastRun.status).toBe(200);
      expect(after.lastRun.timestamp).toBeGreaterThanOrEqual(before - 5);
      expect(after.runs).toEqual([after.lastRun]);
      expect(after.modified).toBe(w.modified); // runs are not API changes
      expect((await getOne(w.id, f.app.token)).body.webhook).toEqual(after);
    });

    it('a receiver answering 500 → 400 unknown-referenced-resource {url}; failCount and runCount grow', async () => {
      const url = `${receiver.base}/fail/${suffix()}`;
      const w = await made(url, f.app.token);
      const res = await test(w.id, f.app.token);
      expectError(res, 400, 'unknown-referenced-resource');
      expect(res.body.error.data).toEqual({ url });
      expect(res.body.error.message).toMatch(/500/);
      const after = (await getOne(w.id, f.app.token)).body.webhook;
      expect(after).toMatchObject({ runCount: 1, failCount: 1, lastRun: { status: 500 } });
      expect(after.runs).toHaveLength(1);
      // Tests do not drive the delivery's retry state.
      expect(after).toMatchObject({ state: 'active', currentRetries: 0 });
    });

    it('a redirect is not followed: the call fails with the 3xx status', async () => {
      const path = `/redirect/${suffix()}`;
      const url = `${receiver.base}${path}`;
      const w = await made(url, f.app.token);
      const count = receiver.received.length;
      const res = await test(w.id, f.app.token);
      expectError(res, 400, 'unknown-referenced-resource');
      expect(res.body.error.data).toEqual({ url });
      // Other tests' webhooks on this receiver may be called meanwhile (change deliveries):
      // only this call and the redirect's target count.
      const calls = receiver.received.slice(count).filter((c) => c.path === path || c.path === '/ok/after-redirect');
      expect(calls.map((c) => c.path)).toEqual([path]); // never /ok/after-redirect
      expect((await getOne(w.id, f.app.token)).body.webhook).toMatchObject({ runCount: 1, failCount: 1, lastRun: { status: 302 } });
    });

    it('an unreachable URL → 400 unknown-referenced-resource, run recorded with status 0', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const { port } = closed.address() as AddressInfo;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const url = `http://127.0.0.1:${port}/gone`;
      const w = await made(url, f.app.token);
      const res = await test(w.id, f.app.token);
      expectError(res, 400, 'unknown-referenced-resource');
      expect(res.body.error.data).toEqual({ url });
      expect((await getOne(w.id, f.app.token)).body.webhook).toMatchObject({ runCount: 1, failCount: 1, lastRun: { status: 0 } });
    });

    it('runs are newest first and capped at 20', async () => {
      const good = await made(`${receiver.base}/ok/cap-${suffix()}`, f.app.token);
      for (let i = 0; i < 21; i++) expect((await test(good.id, f.app.token)).status).toBe(200);
      const after = (await getOne(good.id, f.app.token)).body.webhook;
      expect(after.runCount).toBe(21);
      expect(after.failCount).toBe(0);
      expect(after.runs).toHaveLength(20);
      expect(after.runs[0]).toEqual(after.lastRun);
      const times = after.runs.map((r: { timestamp: number }) => r.timestamp);
      expect([...times].sort((a, b) => b - a)).toEqual(times);
    });

    it('mixed outcomes are recorded in order, newest first', async () => {
      // Same access, same receiver: one URL that succeeds, then fails once the path flips.
      const okHook = await made(`${receiver.base}/ok/mix-${suffix()}`, f.shared.token);
      expect((await test(okHook.id, f.shared.token)).status).toBe(200);
      const failHook = await made(`${receiver.base}/fail/mix-${suffix()}`, f.shared.token);
      expect((await test(failHook.id, f.shared.token)).status).toBe(400);
      expect((await test(failHook.id, f.shared.token)).status).toBe(400);
      const after = (await getOne(failHook.id, f.shared.token)).body.webhook;
      expect(after.runs.map((r: { status: number }) => r.status)).toEqual([500, 500]);
      expect(after).toMatchObject({ runCount: 2, failCount: 2 });
    });
  });

  describe('batch calls', () => {
    it('webhooks methods run inside callBatch', async () => {
      const url = `${receiver.base}/ok/batch-${suffix()}`;
      const res = await call('POST', `/${u}/`, {
        token: f.app.token,
        body: [
          { method: 'webhooks.create', params: { url } },
          { method: 'webhooks.get', params: {} },
        ],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const [created, listed] = res.body.results;
      expect(created.webhook.url).toBe(url);
      expect(created.webhook.secret).toMatch(/^whsec_/);
      expect(listed.webhooks.map((w: { id: string }) => w.id)).toContain(created.webhook.id);
    });
  });

  describe('isolation between users', () => {
    it("another user's token gets 403 invalid-access-token; its webhook ids are unknown on its own path", async () => {
      const other = await fixture();
      const created = await call('POST', `/${other.user.username}/webhooks`, {
        token: other.app.token,
        body: { url: `${receiver.base}/ok/other-user-${suffix()}` },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const theirs = created.body.webhook;
      // Our tokens on their path.
      for (const token of [f.user.token, f.app.token, f.shared.token]) {
        const o = other.user.username;
        for (const res of [
          await call('GET', `/${o}/webhooks`, { token }),
          await call('GET', `/${o}/webhooks/${theirs.id}`, { token }),
          await call('POST', `/${o}/webhooks`, { token, body: { url: `${receiver.base}/ok/intruder` } }),
          await call('PUT', `/${o}/webhooks/${theirs.id}`, { token, body: { state: 'inactive' } }),
          await call('DELETE', `/${o}/webhooks/${theirs.id}`, { token }),
          await call('POST', `/${o}/webhooks/${theirs.id}/test`, { token }),
        ]) {
          expectError(res, 403, 'invalid-access-token');
          expect(JSON.stringify(res.body)).not.toContain(theirs.url);
        }
      }
      // Their ids on our path.
      for (const res of [
        await getOne(theirs.id, f.user.token),
        await update(theirs.id, f.user.token, { state: 'inactive' }),
        await remove(theirs.id, f.user.token),
        await test(theirs.id, f.user.token),
      ]) {
        expectError(res, 404, 'unknown-resource');
      }
      expect((await list(f.user.token)).map((w) => w.id)).not.toContain(theirs.id);
      const still = await call('GET', `/${other.user.username}/webhooks/${theirs.id}`, { token: other.app.token });
      // Untouched by our calls: not changed, not tested (change deliveries of its own user may run).
      expect(still.body.webhook).toMatchObject({ state: 'active', modified: theirs.modified, modifiedBy: theirs.modifiedBy });
      const theirPath = new URL(theirs.url).pathname;
      const tests = receiver.received.filter((r) => r.path === theirPath && r.body?.messages?.includes('test'));
      expect(tests).toEqual([]);
      // The same URL for another user's access is no conflict here.
      await made(theirs.url, f.app.token);
    });
  });
});
