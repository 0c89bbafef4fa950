import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRuntime, startLocalRuntime } from '../../infra/local/runtime';
import { config } from '../../shared/config';
import { dynamo } from '../../shared/store/clients';
import { UpdateCommand } from '../../shared/store/commands';
import { keys } from '../../shared/store/keys';
import { listen, startReceiver } from '../setup/notify-clients';

/**
 * NOTIFICATION_SCOPE=user (the operator setting that restores Pryv.io's behaviour): every
 * socket and webhook of a user hears of every change of that user, whatever its access may
 * read. A runtime of this file's own (it runs in its own worker process, so it may own
 * process.env); the shared token's socket is opened by the official `@pryv/socket.io`.
 */
const require = createRequire(import.meta.url);
const pryv = require('pryv');
const quiet = console.log;
console.log = () => undefined; // the add-on prints the library version when loaded
require('@pryv/socket.io')(pryv);
console.log = quiet;

describe('NOTIFICATION_SCOPE=user: every listener hears every change, as Pryv.io', () => {
  let runtime: LocalRuntime;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let username: string;
  let personal: string;
  let shared: { token: string };
  const api = async (verb: string, path: string, token: string | undefined, body?: unknown) => {
    const res = await fetch(`${runtime.url}${path}`, {
      method: verb,
      headers: { ...(token ? { authorization: token } : {}), 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const created = async (verb: string, path: string, token: string, body: unknown) => {
    const res = await api(verb, path, token, body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  };

  beforeAll(async () => {
    runtime = await startLocalRuntime({ port: 0, env: { NOTIFICATION_SCOPE: 'user', LOG_LEVEL: 'silent' } });
    receiver = await startReceiver();
    username = `unscoped-${randomBytes(4).toString('hex')}`;
    const reg = await api('POST', '/users', undefined, {
      username,
      password: 'pw-unscoped-1',
      email: `${username}@example.com`,
      appId: 'test-app-id',
    });
    expect(reg.status, JSON.stringify(reg.body)).toBe(201);
    personal = new URL(reg.body.apiEndpoint).username;
    await created('POST', `/${username}/streams`, personal, { id: 'vis', name: 'vis' });
    await created('POST', `/${username}/streams`, personal, { id: 'hid', name: 'hid' });
    shared = (
      await created('POST', `/${username}/accesses`, personal, {
        type: 'shared',
        name: 'sh',
        permissions: [{ streamId: 'vis', level: 'read' }],
      })
    ).access;
  }, 120_000);
  afterAll(async () => {
    await receiver?.close();
    await runtime?.stop();
  });

  it('a shared socket (@pryv/socket.io) and a shared webhook hear of an event in a stream they cannot read', async () => {
    const { webhook } = await created('POST', `/${username}/webhooks`, shared.token, { url: `${receiver.base}/all` });
    await dynamo().send(
      new UpdateCommand({
        TableName: config().tableName,
        Key: keys.webhook(username, webhook.id),
        UpdateExpression: 'SET minIntervalMs = :i',
        ExpressionAttributeValues: { ':i': 0 },
      }),
    );
    const connection = new pryv.Connection(`${runtime.url.replace('://', `://${shared.token}@`)}/${username}/`);
    const socket = await connection.socket.open();
    let heard = 0;
    const told = new Promise<void>((resolve) =>
      socket.on('eventsChanged', () => {
        heard++;
        resolve();
      }),
    );
    try {
      await created('POST', `/${username}/events`, personal, {
        streamIds: ['hid'],
        type: 'note/txt',
        content: 'not readable by the token',
      });
      await told;
      expect(heard).toBeGreaterThan(0);
      await receiver.until('eventsChanged at /all', () => receiver.messages('/all').includes('eventsChanged'));
    } finally {
      socket.close();
    }
    // The scoped default is the other file's (notification-scope.test.ts); a plain socket.io-client sees the same here.
    const plain = await listen(runtime.url, username, shared.token);
    try {
      await created('POST', `/${username}/streams`, personal, { id: 'hid-child', name: 'hid-child', parentId: 'hid' });
      await plain.until('streamsChanged', 1);
    } finally {
      plain.close();
    }
  });
});
