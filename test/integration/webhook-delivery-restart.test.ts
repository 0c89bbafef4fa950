import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterAll, describe, expect, it } from 'vitest';
import { type LocalRuntime, startLocalRuntime } from '../../infra/local/runtime';
import { config } from '../../shared/config';
import { dynamo } from '../../shared/store/clients';
import { UpdateCommand } from '../../shared/store/commands';
import { keys } from '../../shared/store/keys';

/**
 * Delivery state survives a restart: a runtime of this test's own, on
 * a data folder, is stopped while a webhook is being retried and started again on the same
 * data; the messages arrive once the receiver is back. (Its own runtime, not the shared one:
 * this file runs in its own worker process, so it may own process.env.)
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('webhook delivery across a restart', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pryv-restart-'));
  let server: Server | undefined;
  // The runtime from the moment its start begins: a test that times out while it starts (or
  // restarts) still has its engines stopped here, not left running after the file.
  let starting: Promise<LocalRuntime> | undefined;
  const start = () => {
    starting = startLocalRuntime({ port: 0, dataDir });
    return starting;
  };

  afterAll(async () => {
    await (await starting?.catch(() => undefined))?.stop();
    server?.closeAllConnections();
    if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a webhook in mid-retry delivers its messages after the runtime is stopped and started again on the same data', async () => {
    let status = 500;
    const received: Array<{ status: number; raw: string; headers: Record<string, string> }> = [];
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ status, raw: Buffer.concat(chunks).toString('utf8'), headers: req.headers as Record<string, string> });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

    let runtime = await start();
    const api = async (verb: string, path: string, token: string | undefined, body?: unknown) => {
      const res = await fetch(`${runtime.url}${path}`, {
        method: verb,
        headers: { ...(token ? { authorization: token } : {}), 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const username = `restart-${randomBytes(4).toString('hex')}`;
    const reg = await api('POST', '/users', undefined, {
      username,
      password: 'pw-restart-1',
      email: `${username}@example.com`,
      appId: 'test-app-id',
    });
    expect(reg.status, JSON.stringify(reg.body)).toBe(201);
    const personal = new URL(reg.body.apiEndpoint).username;
    const app = await api('POST', `/${username}/accesses`, personal, {
      type: 'app',
      name: 'app',
      permissions: [{ streamId: '*', level: 'manage' }],
    });
    expect(app.status, JSON.stringify(app.body)).toBe(201);
    expect((await api('POST', `/${username}/streams`, personal, { id: 's', name: 's' })).status).toBe(201);
    await sleep(500); // the setup's own changes pass before the webhook exists
    const created = await api('POST', `/${username}/webhooks`, app.body.access.token, { url: target });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const webhook = created.body.webhook;
    // A long retry interval: the retry is due after the restart.
    await dynamo().send(
      new UpdateCommand({
        TableName: config().tableName,
        Key: keys.webhook(username, webhook.id),
        UpdateExpression: 'SET minIntervalMs = :i, maxRetries = :r',
        ExpressionAttributeValues: { ':i': 3000, ':r': 5 },
      }),
    );
    expect((await api('POST', `/${username}/events`, personal, { streamIds: ['s'], type: 'note/txt', content: 'x' })).status).toBe(201);
    await until('a failed call', () => (received.some((r) => r.status === 500) ? true : undefined));

    // Down in mid-retry (runtime.stop(): in-memory state gone, the JVM ended); the receiver comes back meanwhile.
    await runtime.stop();
    status = 200;
    const failedCalls = received.length;
    runtime = await start();

    const ok = await until('delivery after restart', () => received.slice(failedCalls).find((r) => r.status === 200));
    const body = JSON.parse(ok.raw);
    expect(body.messages).toContain('eventsChanged');
    // The restart itself is announced (spec §6.2), merged into the pending delivery or in its own.
    await until('the boot message', () =>
      received.slice(failedCalls).some((r) => r.status === 200 && JSON.parse(r.raw).messages.includes('webhooksServiceBoot'))
        ? true
        : undefined,
    );
    expect(() =>
      new StandardWebhook(webhook.secret).verify(ok.raw, {
        'webhook-id': ok.headers['webhook-id']!,
        'webhook-timestamp': ok.headers['webhook-timestamp']!,
        'webhook-signature': ok.headers['webhook-signature']!,
      }),
    ).not.toThrow();
    const after = await until('statistics', async () => {
      const got = await api('GET', `/${username}/webhooks/${webhook.id}`, app.body.access.token);
      return got.body.webhook.currentRetries === 0 && got.body.webhook.lastRun.status === 200 ? got.body.webhook : undefined;
    });
    expect(after.failCount).toBeGreaterThanOrEqual(1);
  }, 90_000);
});
