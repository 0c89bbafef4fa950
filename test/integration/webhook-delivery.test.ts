import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../shared/config';
import { dynamo } from '../../shared/store/clients';
import { GetCommand, UpdateCommand } from '../../shared/store/commands';
import { keys } from '../../shared/store/keys';
import { call, createUser, type TestUser, useRuntimeStore } from '../setup/api';
import { waitUntil } from './wait';

/**
 * Webhook delivery (spec §6.2) end to end: API write → stream → fan-out → pending set on the
 * webhook item → the runtime's delivery worker → a real loopback receiver started here.
 */

interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: any;
  status: number;
  at: number;
}

/** A receiver on 127.0.0.1 answering each path with its planned statuses in turn (the last one repeats; default 200). */
async function startReceiver() {
  const deliveries: Delivery[] = [];
  const plans = new Map<string, number[]>();
  const counts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const path = (req.url ?? '').split('?')[0]!;
      const n = counts.get(path) ?? 0;
      counts.set(path, n + 1);
      const plan = plans.get(path) ?? [200];
      const status = plan[Math.min(n, plan.length - 1)]!;
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
      deliveries.push({ path, headers: req.headers, raw, body, status, at: Date.now() });
      res.writeHead(status).end(status === 200 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    base: `http://127.0.0.1:${port}`,
    deliveries,
    plan: (path: string, statuses: number[]) => plans.set(path, statuses),
    to: (path: string) => deliveries.filter((d) => d.path === path),
  };
}

const suffix = () => randomBytes(4).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const until = waitUntil({ timeoutMs: 15_000 });

/** Checks the Standard Webhooks signature and the body shape of one delivery. */
function expectValid(d: Delivery, secret: string): void {
  const headers = {
    'webhook-id': String(d.headers['webhook-id']),
    'webhook-timestamp': String(d.headers['webhook-timestamp']),
    'webhook-signature': String(d.headers['webhook-signature']),
  };
  expect(headers['webhook-signature']).toMatch(/^v1,/);
  expect(() => new StandardWebhook(secret).verify(d.raw, headers)).not.toThrow();
  expect(Array.isArray(d.body.messages)).toBe(true);
  expect(d.body.messages.length).toBeGreaterThan(0);
  for (const m of d.body.messages) expect(['eventsChanged', 'streamsChanged', 'accessesChanged']).toContain(m);
  expect(d.body.meta).toMatchObject({ apiVersion: expect.any(String), serial: expect.any(String) });
  expect(typeof d.body.meta.serverTime).toBe('number');
}

describe('webhook delivery', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let user: TestUser;
  let u: string;
  let app: { id: string; token: string };
  const stream = `s-${suffix()}`;

  const createEvent = async (content: unknown = 'hi') => {
    const res = await call('POST', `/${u}/events`, {
      token: user.token,
      body: { streamIds: [stream], type: 'note/txt', content: String(content) },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  };
  const makeWebhook = async (path: string): Promise<{ id: string; secret: string }> => {
    const res = await call('POST', `/${u}/webhooks`, { token: app.token, body: { url: `${receiver.base}${path}` } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.webhook;
  };
  const getOne = async (id: string) => {
    const res = await call('GET', `/${u}/webhooks/${id}`, { token: app.token });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.webhook;
  };
  /** Internal delivery settings put on the item directly (the API cannot change them). */
  const tune = (id: string, minIntervalMs: number, maxRetries: number) =>
    dynamo().send(
      new UpdateCommand({
        TableName: config().tableName,
        Key: keys.webhook(u, id),
        UpdateExpression: 'SET minIntervalMs = :i, maxRetries = :r',
        ExpressionAttributeValues: { ':i': minIntervalMs, ':r': maxRetries },
      }),
    );
  const hasEvents = (d: Delivery) => d.status === 200 && d.body.messages.includes('eventsChanged');

  beforeAll(async () => {
    useRuntimeStore();
    receiver = await startReceiver();
    user = await createUser();
    u = user.username;
    const res = await call('POST', `/${u}/accesses`, {
      token: user.token,
      body: { type: 'app', name: `app-${suffix()}`, permissions: [{ streamId: '*', level: 'manage' }] },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    app = res.body.access;
    const s = await call('POST', `/${u}/streams`, { token: user.token, body: { id: stream, name: stream } });
    expect(s.status, JSON.stringify(s.body)).toBe(201);
  });
  afterAll(async () => {
    receiver.server.closeAllConnections();
    await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
  });

  it('an event created with the personal token reaches an app webhook: signed, with meta, internals hidden', async () => {
    const path = `/first-${suffix()}`;
    const webhook = await makeWebhook(path);
    expect(webhook.secret).toMatch(/^whsec_/);
    await createEvent();
    const d = await until('eventsChanged delivery', () => receiver.to(path).find(hasEvents));
    expectValid(d, webhook.secret);
    const after = await until('recorded run', async () => {
      const w = await getOne(webhook.id);
      return w.runCount >= 1 && w.currentRetries === 0 ? w : undefined;
    });
    expect(after.lastRun.status).toBe(200);
    for (const internal of ['secret', 'pending', 'nextAttempt', 'queueSeq']) expect(after).not.toHaveProperty(internal);
  });

  it('a burst of 100 events gives a few coalesced, throttled POSTs, all valid', async () => {
    const path = `/burst-${suffix()}`;
    const webhook = await makeWebhook(path);
    await tune(webhook.id, 1000, 5); // 1 call per second at most
    const start = Date.now();
    for (let i = 0; i < 10; i++) await Promise.all(Array.from({ length: 10 }, (_, j) => createEvent(i * 10 + j)));
    const lastWrite = Date.now();
    // Delivered after the last write (the change reached the receiver), then nothing more for a while.
    await until('delivery covering the last write', () => receiver.to(path).find((d) => hasEvents(d) && d.at > lastWrite), 20_000);
    await sleep(1500);
    const posts = receiver.to(path);
    for (const d of posts) expectValid(d, webhook.secret);
    expect(posts.length).toBeLessThan(20);
    // Throttled: consecutive calls at least ~minIntervalMs apart.
    for (let i = 1; i < posts.length; i++) expect(posts[i]!.at - posts[i - 1]!.at).toBeGreaterThan(800);
    const seconds = (lastWrite - start) / 1000;
    expect(posts.length).toBeLessThanOrEqual(Math.ceil(seconds) + 3);
  });

  it('a receiver answering 500 then 200 gets the messages after the retry; statistics reflect it', async () => {
    const path = `/flaky-${suffix()}`;
    receiver.plan(path, [500, 200]);
    const webhook = await makeWebhook(path);
    await tune(webhook.id, 300, 5);
    await createEvent();
    const ok = await until('delivery after retry', () => receiver.to(path).find(hasEvents));
    const posts = receiver.to(path);
    expect(posts[0]!.status).toBe(500);
    for (const d of posts) expectValid(d, webhook.secret);
    // Receivers de-duplicate on webhook-id: one id never stands for two different batches.
    const byId = new Map<string, string>();
    for (const d of posts) {
      const id = String(d.headers['webhook-id']);
      const messages = JSON.stringify(d.body.messages);
      expect(byId.get(id) ?? messages).toBe(messages);
      byId.set(id, messages);
    }
    expect(ok.body.messages).toContain('eventsChanged');
    const w = await until('statistics', async () => {
      const got = await getOne(webhook.id);
      return got.runCount >= 2 && got.lastRun.status === 200 && got.currentRetries === 0 ? got : undefined;
    });
    expect(w.failCount).toBeGreaterThanOrEqual(1);
    expect(w.runs[0].status).toBe(200);
    expect(w.runs.some((r: { status: number }) => r.status === 500)).toBe(true);
    expect(w.state).toBe('active');
  });

  it('after more than maxRetries failures the webhook turns inactive; reactivation delivers what was kept', async () => {
    const path = `/down-${suffix()}`;
    receiver.plan(path, [503]);
    const webhook = await makeWebhook(path);
    await tune(webhook.id, 200, 2);
    await createEvent();
    const dead = await until(
      'inactive',
      async () => {
        const got = await getOne(webhook.id);
        return got.state === 'inactive' ? got : undefined;
      },
      20_000,
    );
    expect(dead.currentRetries).toBe(3);
    const failures = receiver.to(path);
    expect(failures.length).toBeGreaterThanOrEqual(3);
    for (const d of failures) expectValid(d, webhook.secret);
    // The webhook-id names a batch version (`msg_{webhook}_{queueSeq}`): a retry sends the
    // same version under the same id, and only a queueing makes a new one. Delivery is
    // at-least-once, so a fan-out batch retried under load may queue its messages again
    // between two attempts (a new version, a new id): the ids may then differ, but never
    // more often than the webhook was queued to, never go back, and one id is one body.
    const item = await dynamo().send(new GetCommand({ TableName: config().tableName, Key: keys.webhook(u, webhook.id) }));
    const versions = item.Item!.queueSeq as number;
    expect(versions).toBeGreaterThanOrEqual(1);
    const seqs = failures.map((d) => {
      const id = String(d.headers['webhook-id']);
      expect(id).toMatch(new RegExp(`^msg_${webhook.id}_\\d+$`));
      return Number(id.slice(id.lastIndexOf('_') + 1));
    });
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThanOrEqual(seqs[i - 1]!);
    expect(Math.max(...seqs)).toBeLessThanOrEqual(versions);
    // Retries made no id of their own (queued once, the usual case: every attempt shares one id).
    expect(new Set(seqs).size).toBeLessThanOrEqual(versions);
    const bodyOf = new Map<string, string>();
    for (const d of failures) {
      const id = String(d.headers['webhook-id']);
      const messages = JSON.stringify(d.body.messages);
      expect(bodyOf.get(id) ?? messages).toBe(messages);
      bodyOf.set(id, messages);
    }
    // Nothing more while inactive.
    const count = failures.length;
    await sleep(800);
    expect(receiver.to(path).length).toBe(count);

    // Back up, reactivated: the kept messages arrive.
    receiver.plan(path, [200]);
    const res = await call('PUT', `/${u}/webhooks/${webhook.id}`, { token: app.token, body: { state: 'active' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.webhook.currentRetries).toBe(0);
    const d = await until('delivery after reactivation', () => receiver.to(path).find(hasEvents));
    expectValid(d, webhook.secret);
  });
});
