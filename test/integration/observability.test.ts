import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRuntime, startLocalRuntime } from '../../infra/local/runtime';
import { TEST_APP_ID, TRUSTED_ORIGIN } from '../setup/api';

/**
 * What an operator sees of real calls (README "Operating it: logs, metrics, alarms"): the
 * runtime's own output, captured from this process (the runtime runs here, on its own engines),
 * and its `/metrics` endpoint.
 */
describe('call logs and metrics of the local runtime', { timeout: 120_000 }, () => {
  let runtime: LocalRuntime;
  const output: string[] = [];
  const originals = { out: process.stdout.write, err: process.stderr.write };
  const previousLevel = process.env.LOG_LEVEL;

  beforeAll(async () => {
    process.env.LOG_LEVEL = 'info';
    process.env.LOG_FORMAT = 'json';
    const tee = (stream: NodeJS.WriteStream, original: typeof stream.write) =>
      ((chunk: unknown, ...rest: unknown[]) => {
        output.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
        return (original as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
      }) as typeof stream.write;
    process.stdout.write = tee(process.stdout, originals.out);
    process.stderr.write = tee(process.stderr, originals.err);
    runtime = await startLocalRuntime({ port: 0, dataDir: undefined });
  }, 180_000);

  afterAll(async () => {
    await runtime?.stop();
    process.stdout.write = originals.out;
    process.stderr.write = originals.err;
    process.env.LOG_LEVEL = previousLevel;
    delete process.env.LOG_FORMAT;
  });

  async function call(verb: string, path: string, options: { token?: string; body?: unknown } = {}) {
    const res = await fetch(`${runtime.url}${path}`, {
      method: verb,
      headers: {
        origin: TRUSTED_ORIGIN,
        ...(options.token ? { authorization: options.token } : {}),
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    return { status: res.status, body: (await res.json()) as any };
  }

  /**
   * A new user, logged in, with an app access managing everything, a stream named after
   * `prefix`, and a webhook of that app to `path` on `receiver`.
   */
  async function userWithAppWebhook(prefix: string, receiver: Server, path: string) {
    const username = `${prefix}-${Date.now().toString(36)}`;
    const password = `pw-${Math.random().toString(36).slice(2)}`;
    expect(
      (await call('POST', '/users', { body: { username, password, email: `${username}@example.com`, appId: TEST_APP_ID } })).status,
    ).toBe(201);
    const token: string = (await call('POST', `/${username}/auth/login`, { body: { username, password, appId: TEST_APP_ID } })).body.token;
    const app = await call('POST', `/${username}/accesses`, {
      token,
      body: { name: `${prefix}-app`, type: 'app', permissions: [{ streamId: '*', level: 'manage' }] },
    });
    const appToken: string = app.body.access.token;
    expect((await call('POST', `/${username}/streams`, { token: appToken, body: { id: prefix, name: prefix } })).status).toBe(201);
    // The setup's changes reach the fan-out before the webhook exists, so that the webhook's
    // first delivery is caused by the test's own calls only. The fan-out reads the stream in its
    // own time (in AWS every 250 ms; locally at once, or within the reader's poke spacing while
    // other writes come): a change it reads after the webhook was created is told to it.
    await expect
      .poll(
        () => {
          const streamCall = callLines('streams.create').find((l) => l.username === username)?.requestId;
          return (
            streamCall !== undefined &&
            lines().some(
              (l) =>
                l.message === 'fanout: changes dispatched' && l.username === username && [l.causedByRequestId].flat().includes(streamCall),
            )
          );
        },
        { timeout: 10_000 },
      )
      .toBe(true);
    const hook = await call('POST', `/${username}/webhooks`, {
      token: appToken,
      body: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}${path}` },
    });
    expect(hook.status).toBe(201);
    return { username, token, appToken, hook };
  }

  /** The JSON lines written so far. */
  const lines = (): Array<Record<string, any>> =>
    output
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
  const callLines = (methodId: string) => lines().filter((l) => l.message === 'call' && l.methodId === methodId);

  it('one line per call with method, status, error id, duration, request id, access id and user; batch calls share the request id; no secret anywhere', async () => {
    const username = `obs-${Date.now().toString(36)}`;
    const password = `pw-${Math.random().toString(36).slice(2)}-secret`;
    const registered = await call('POST', '/users', { body: { username, password, email: `${username}@example.com`, appId: TEST_APP_ID } });
    expect(registered.status).toBe(201);
    const loggedIn = await call('POST', `/${username}/auth/login`, { body: { username, password, appId: TEST_APP_ID } });
    expect(loggedIn.status).toBe(200);
    const token: string = loggedIn.body.token;

    // An app access: its token is a secret too, and it is in the answer of accesses.create.
    const created = await call('POST', `/${username}/accesses`, {
      token,
      body: { name: 'obs-app', permissions: [{ streamId: '*', level: 'read' }] },
    });
    expect(created.status).toBe(201);
    const appToken: string = created.body.access.token;

    expect((await call('GET', `/${username}/events?limit=1`, { token })).status).toBe(200);
    // The token in the query string (`?auth=`) must not reach the logs either.
    expect((await call('GET', `/${username}/streams?auth=${encodeURIComponent(appToken)}`)).status).toBe(200);
    expect((await call('GET', `/${username}/events`, { token: 'not-a-valid-token-at-all' })).status).toBe(403);
    const batch = await call('POST', `/${username}`, {
      token,
      body: [
        { method: 'streams.create', params: { id: `s-${Date.now()}`, name: `Stream ${Date.now()}` } },
        { method: 'no.suchMethod', params: {} },
      ],
    });
    expect(batch.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 50)); // lines are written as answers leave

    const [get] = callLines('events.get').filter((l) => l.status === 200);
    expect(get).toMatchObject({ level: 'INFO', transport: 'http', status: 200, username, accessId: expect.any(String) });
    expect(get!.durationMs).toEqual(expect.any(Number));
    expect(get!.requestId).toEqual(expect.any(String));
    expect(get!.errorId).toBeUndefined();

    const [refused] = callLines('events.get').filter((l) => l.status === 403);
    expect(refused).toMatchObject({ errorId: 'invalid-access-token', username });
    expect(refused!.accessId).toBeUndefined();

    const [outer] = callLines('callBatch');
    expect(outer).toMatchObject({ status: 200, transport: 'http', username });
    const inner = lines().filter((l) => l.message === 'call' && l.transport === 'batch' && l.requestId === outer!.requestId);
    expect(inner.map((l) => [l.batchIndex, l.methodId, l.status, l.errorId])).toEqual([
      [0, 'streams.create', 201, undefined],
      [1, 'unknown', 404, 'invalid-method'],
    ]);
    expect(callLines('auth.register')[0]).toMatchObject({ status: 201 });
    expect(callLines('auth.login')[0]).toMatchObject({ status: 200, username });

    const all = output.join('');
    for (const secret of [password, token, appToken, runtime.adminKey, process.env.FILES_READ_TOKEN_SECRET!]) {
      expect(all).not.toContain(secret);
    }
  });

  it('GET /metrics answers loopback clients with the counters in Prometheus text', async () => {
    const res = await fetch(`${runtime.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}".=]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(text).toContain('# TYPE pryv_calls_total counter');
    expect(value('pryv_calls_total{method="events.get"}')).toBe(2);
    expect(value('pryv_calls_total{method="streams.create"}')).toBe(1);
    expect(value('pryv_errors_total{error_id="invalid-access-token"}')).toBe(1);
    expect(value('pryv_errors_total{error_id="invalid-method"}')).toBe(1);
    expect(value('pryv_call_duration_ms_count{method="events.get"}')).toBe(2);
    expect(value('pryv_call_duration_ms_sum{method="events.get"}')).toBeGreaterThan(0);
    // The fan-out saw the stream created in the batch (and the new accesses): its lag is measured.
    let latest = text;
    for (let i = 0; i < 100 && !/^pryv_fanout_lag_ms_count \d+$/m.test(latest); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      latest = await (await fetch(`${runtime.url}/metrics`)).text();
    }
    expect(latest).toMatch(/^pryv_fanout_lag_ms_count \d+$/m);
  });

  it("a write's request id (events, streams, accesses) reaches the fan-out's lines and the first webhook delivery's as causedByRequestId; clients never see it", async () => {
    const hits: string[] = [];
    const receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        hits.push(req.url ?? '');
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const { username, token, appToken, hook } = await userWithAppWebhook('cause', receiver, '/hook');

      const created = await call('POST', `/${username}/events`, {
        token: appToken,
        body: { streamIds: ['cause'], type: 'note/txt', content: 'x' },
      });
      expect(created.status).toBe(201);
      const createId = created.body.event.id as string;
      await expect
        .poll(() => callLines('events.create').find((l) => l.username === username)?.requestId, { timeout: 10_000 })
        .toBeDefined();
      const createRequestId = callLines('events.create').find((l) => l.username === username)!.requestId as string;

      const causedBy = (message: string, requestId: string) =>
        lines().find((l) => l.message === message && l.username === username && l.causedByRequestId === requestId);
      await expect.poll(() => causedBy('fanout: changes dispatched', createRequestId), { timeout: 30_000 }).toBeDefined();
      expect(causedBy('fanout: changes dispatched', createRequestId)).toMatchObject({
        messages: ['eventsChanged'],
        fanoutRequestId: expect.any(String),
      });
      await expect.poll(() => causedBy('webhook delivered', createRequestId), { timeout: 30_000 }).toBeDefined();
      expect(causedBy('webhook delivered', createRequestId)).toMatchObject({ webhookId: hook.body.webhook.id, status: 200 });
      expect(hits).toEqual(['/hook']);

      // A later write of the same event (here: to the trash) is told with its own call's id.
      expect((await call('DELETE', `/${username}/events/${createId}`, { token: appToken })).status).toBe(200);
      await expect
        .poll(() => callLines('events.delete').find((l) => l.username === username)?.requestId, { timeout: 10_000 })
        .toBeDefined();
      const trashRequestId = callLines('events.delete').find((l) => l.username === username)!.requestId as string;
      expect(trashRequestId).not.toBe(createRequestId);
      await expect.poll(() => causedBy('fanout: changes dispatched', trashRequestId), { timeout: 30_000 }).toBeDefined();

      // Stream and access changes (and their deletion records) are told with their call's id too.
      const requestIds = (method: string) =>
        callLines(method)
          .filter((l) => l.username === username)
          .map((l) => l.requestId as string);
      /** The request id of the call `send` makes (the new call line of `method`). */
      const requestIdOf = async (method: string, send: () => Promise<{ status: number }>, status: number) => {
        const before = new Set(requestIds(method));
        expect((await send()).status).toBe(status);
        await expect.poll(() => requestIds(method).find((id) => !before.has(id)), { timeout: 10_000 }).toBeDefined();
        return requestIds(method).find((id) => !before.has(id))!;
      };
      const names = (l: Record<string, any>, id: string) =>
        l.causedByRequestId === id || (Array.isArray(l.causedByRequestId) && l.causedByRequestId.includes(id));
      const dispatchedFor = (id: string) => lines().filter((l) => l.message === 'fanout: changes dispatched' && names(l, id));

      const streamRequestId = await requestIdOf(
        'streams.update',
        () => call('PUT', `/${username}/streams/cause`, { token: appToken, body: { name: 'Cause renamed' } }),
        200,
      );
      await expect.poll(() => causedBy('fanout: changes dispatched', streamRequestId), { timeout: 30_000 }).toBeDefined();
      expect(causedBy('fanout: changes dispatched', streamRequestId)).toMatchObject({ messages: ['streamsChanged'] });

      let sharedId = '';
      const accessRequestId = await requestIdOf(
        'accesses.create',
        async () => {
          const shared = await call('POST', `/${username}/accesses`, {
            token,
            body: { name: 'cause-shared', type: 'shared', permissions: [{ streamId: 'cause', level: 'read' }] },
          });
          sharedId = shared.body.access?.id;
          return shared;
        },
        201,
      );
      await expect.poll(() => causedBy('fanout: changes dispatched', accessRequestId), { timeout: 30_000 }).toBeDefined();
      expect(causedBy('fanout: changes dispatched', accessRequestId)).toMatchObject({ messages: ['accessesChanged'] });

      const accessDeleteRequestId = await requestIdOf(
        'accesses.delete',
        () => call('DELETE', `/${username}/accesses/${sharedId}`, { token }),
        200,
      );
      await expect.poll(() => causedBy('fanout: changes dispatched', accessDeleteRequestId), { timeout: 30_000 }).toBeDefined();

      await requestIdOf('streams.delete', () => call('DELETE', `/${username}/streams/cause`, { token: appToken }), 200);
      const streamDeleteRequestId = await requestIdOf(
        'streams.delete',
        () => call('DELETE', `/${username}/streams/cause?mergeEventsWithParent=false`, { token: appToken }),
        200,
      );
      await expect.poll(() => causedBy('fanout: changes dispatched', streamDeleteRequestId), { timeout: 30_000 }).toBeDefined();

      // Every call with the app's token updates its usage, which keeps the id of the call that
      // created the app: never told, so that id is named by the creation's dispatch alone.
      const appRequestId = requestIds('accesses.create')[0]!;
      expect(requestIds('accesses.create')).toEqual([appRequestId, accessRequestId]);
      expect(dispatchedFor(appRequestId)).toHaveLength(1);

      // Kept on the items only, never in an answer.
      const one = await call('GET', `/${username}/events/${createId}?includeHistory=true`, { token: appToken });
      expect(one.status).toBe(200);
      const listed = await call('GET', `/${username}/events?state=all&includeDeletions=true&modifiedSince=0`, { token: appToken });
      expect(listed.status).toBe(200);
      const streams = await call('GET', `/${username}/streams?includeDeletionsSince=0`, { token });
      expect(streams.status).toBe(200);
      const accesses = await call('GET', `/${username}/accesses?includeDeletions=true`, { token });
      expect(accesses.status).toBe(200);
      expect(accesses.body.accessDeletions.length).toBeGreaterThan(0);
      for (const body of [one.body, listed.body, streams.body, accesses.body]) {
        expect(JSON.stringify(body)).not.toContain('"rq"');
        for (const id of [createRequestId, streamRequestId, accessRequestId, accessDeleteRequestId, streamDeleteRequestId])
          expect(JSON.stringify(body)).not.toContain(id);
      }
    } finally {
      receiver.close();
    }
  });
  it('a webhook delivery retried by the worker names the calls that caused its pending messages', async () => {
    const hits: number[] = [];
    // Refuses the first call: the fan-out's attempt fails, the worker's retry (minIntervalMs later) succeeds.
    const receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        hits.push(hits.length === 0 ? 503 : 200);
        res.writeHead(hits.at(-1)!).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const { username, appToken, hook } = await userWithAppWebhook('retry', receiver, '/flaky');
      expect(
        (await call('POST', `/${username}/events`, { token: appToken, body: { streamIds: ['retry'], type: 'note/txt', content: 'x' } }))
          .status,
      ).toBe(201);
      await expect
        .poll(() => callLines('events.create').find((l) => l.username === username)?.requestId, { timeout: 10_000 })
        .toBeDefined();
      const createRequestId = callLines('events.create').find((l) => l.username === username)!.requestId as string;
      const line = (message: string) =>
        lines().find((l) => l.message === message && l.username === username && l.webhookId === hook.body.webhook.id);

      await expect.poll(() => line('webhook delivery failed'), { timeout: 30_000 }).toBeDefined();
      // The event's write may be coalesced with the stream's (then both ids are named).
      const causes = (l: Record<string, any> | undefined) => [l?.causedByRequestId].flat();
      expect(line('webhook delivery failed')).toMatchObject({ status: 503 });
      expect(causes(line('webhook delivery failed'))).toContain(createRequestId);
      await expect.poll(() => line('webhook delivered'), { timeout: 30_000 }).toBeDefined();
      expect(line('webhook delivered')).toMatchObject({ status: 200 });
      expect(line('webhook delivered')).not.toHaveProperty('fanoutRequestId'); // the worker's retry, not the fan-out
      expect(causes(line('webhook delivered'))).toEqual(causes(line('webhook delivery failed')));
      expect(hits).toEqual([503, 200]);
      // Delivered: the kept ids go with the pending messages, and never show in the webhook.
      const after = await call('GET', `/${username}/webhooks/${hook.body.webhook.id}`, { token: appToken });
      expect(after.status).toBe(200);
      expect(after.body.webhook).not.toHaveProperty('pendingCauses');
      expect(JSON.stringify(after.body)).not.toContain(createRequestId);
    } finally {
      receiver.close();
    }
  });
});
