import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../shared/config';
import { dynamo } from '../../shared/store/clients';
import { GetCommand, UpdateCommand } from '../../shared/store/commands';
import { keys } from '../../shared/store/keys';
import { apiUrl, call, createUser, type TestUser, useRuntimeStore } from '../setup/api';
import { waitUntil } from './wait';

/**
 * A flood of 1,000 event creations for one user: the change fan-out coalesces them
 * per stream batch, the webhook gets a few throttled POSTs and the socket a few pushes, and
 * nothing is lost (a change after the flood still reaches both). Counts are bounded by what
 * the design guarantees; no assertion depends on how fast this machine is.
 */

const FLOOD = 1000;
const PER_BATCH_CALL = 10; // events per callBatch call: a call stays far within the gateway's 29 s even on a loaded machine
const PARALLEL_CALLS = 4; // callBatch calls in flight at once
/** minIntervalMs put on the webhook: short enough for a quick test, long enough to coalesce. */
const MIN_INTERVAL_MS = 2000;
const WAIT_MS = 120_000; // generous: a loaded 2-core machine

interface Post {
  at: number;
  messages: string[];
}
interface ChangeLogEntry {
  username: string;
  messages: string[];
  at: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const suffix = () => randomBytes(4).toString('hex');

const until = waitUntil({ timeoutMs: WAIT_MS });

async function changesOf(username: string): Promise<ChangeLogEntry[]> {
  const res = await fetch(`${apiUrl()}/__test/changes?username=${encodeURIComponent(username)}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { changes: ChangeLogEntry[] }).changes;
}

describe('notification flood', () => {
  let server: Server;
  let target: string;
  const posts: Post[] = [];
  let socket: Socket | undefined;
  const pushes: number[] = []; // arrival times of eventsChanged pushes
  const disconnects: string[] = [];
  let user: TestUser;
  let u: string;
  let app: { token: string };
  const stream = `flood-${suffix()}`;

  beforeAll(async () => {
    useRuntimeStore();
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let messages: string[] = [];
        try {
          messages = JSON.parse(Buffer.concat(chunks).toString('utf8')).messages ?? [];
        } catch {
          /* counted, with no messages */
        }
        posts.push({ at: Date.now(), messages });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    target = `http://127.0.0.1:${(server.address() as AddressInfo).port}/flood`;

    user = await createUser();
    u = user.username;
    const access = await call('POST', `/${u}/accesses`, {
      token: user.token,
      body: { type: 'app', name: `app-${suffix()}`, permissions: [{ streamId: '*', level: 'manage' }] },
    });
    expect(access.status, JSON.stringify(access.body)).toBe(201);
    app = access.body.access;
    const s = await call('POST', `/${u}/streams`, { token: user.token, body: { id: stream, name: stream } });
    expect(s.status, JSON.stringify(s.body)).toBe(201);
  }, WAIT_MS);

  afterAll(async () => {
    socket?.close();
    server?.closeAllConnections();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it(`${FLOOD} event creations: every one succeeds, coalesced webhook POSTs and socket pushes, nothing lost`, async () => {
    const created = await call('POST', `/${u}/webhooks`, { token: app.token, body: { url: target } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const webhookId: string = created.body.webhook.id;
    // An internal delivery setting, put on the item directly (the API cannot change it).
    await dynamo().send(
      new UpdateCommand({
        TableName: config().tableName,
        Key: keys.webhook(u, webhookId),
        UpdateExpression: 'SET minIntervalMs = :i',
        ExpressionAttributeValues: { ':i': MIN_INTERVAL_MS },
      }),
    );

    socket = io(`${apiUrl()}/${u}/${u}?auth=${encodeURIComponent(user.token)}`, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
    });
    const s = socket;
    s.on('eventsChanged', () => pushes.push(Date.now()));
    s.on('disconnect', (reason) => disconnects.push(`${new Date().toISOString()} ${reason}`));
    await new Promise<void>((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('connect_error', (err) => reject(err));
    });
    const changesBefore = (await changesOf(u)).length;

    // The flood: FLOOD creations in callBatch calls of PER_BATCH_CALL, PARALLEL_CALLS at a time.
    const batches = Array.from({ length: FLOOD / PER_BATCH_CALL }, (_, b) =>
      Array.from({ length: PER_BATCH_CALL }, (_, i) => ({
        method: 'events.create',
        params: { streamIds: [stream], type: 'count/generic', content: b * PER_BATCH_CALL + i },
      })),
    );
    const ids = new Set<string>();
    let next = 0;
    await Promise.all(
      Array.from({ length: PARALLEL_CALLS }, async () => {
        while (next < batches.length) {
          const batch = batches[next++]!;
          const res = await call('POST', `/${u}/`, { token: user.token, body: batch });
          expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(200);
          expect(res.body.results).toHaveLength(PER_BATCH_CALL);
          for (const r of res.body.results) {
            expect(r.error, JSON.stringify(r.error)).toBeUndefined();
            ids.add(r.event.id);
          }
        }
      }),
    );
    expect(ids.size).toBe(FLOOD);
    // All stored: the stream holds exactly the flood.
    const stored = await call('GET', `/${u}/events?streams[]=${stream}&limit=${FLOOD + 10}`, { token: user.token });
    expect(stored.status).toBe(200);
    expect(stored.body.events).toHaveLength(FLOOD);

    // Quiet: the fan-out has dispatched everything (the change log stops growing)…
    let log = await changesOf(u);
    for (let stable = 0; stable < 3; ) {
      await sleep(1000);
      const again = await changesOf(u);
      stable = again.length === log.length ? stable + 1 : 0;
      log = again;
    }
    // …the webhook got a POST with eventsChanged after the last dispatch, and the socket a push.
    // Not "after the last answer": the fan-out may tell of the last calls before their answers
    // reach this client. That the POSTs left nothing behind is checked below (drained).
    const lastDispatchAt = log.filter((c) => c.messages.includes('eventsChanged')).at(-1)?.at ?? Number.POSITIVE_INFINITY;
    await until("a webhook POST after the fan-out's last dispatch", () =>
      posts.some((p) => p.at >= lastDispatchAt && p.messages.includes('eventsChanged')),
    );
    await until("a socket push for the fan-out's last dispatch", () => {
      if (disconnects.length > 0)
        throw new Error(
          `socket disconnected: ${disconnects.join(', ')} (pushes: ${pushes.length}, last dispatch ${new Date(lastDispatchAt).toISOString()})`,
        );
      return pushes.some((t) => t >= lastDispatchAt);
    });
    // …and the webhook is drained: nothing pending, no attempt scheduled, no failure.
    await until('webhook drained', async () => {
      const item = (
        await dynamo().send(new GetCommand({ TableName: config().tableName, Key: keys.webhook(u, webhookId), ConsistentRead: true }))
      ).Item;
      return (
        item &&
        item.state === 'active' &&
        (item.pending === undefined || item.pending.size === 0) &&
        item.nextAttempt === undefined &&
        (item.currentRetries ?? 0) === 0
      );
    });
    const dispatches = log.slice(changesBefore).filter((c) => c.messages.includes('eventsChanged')).length;

    // Coalesced per stream batch: one dispatch per batch of up to 100 stream records, never one per event.
    expect(dispatches).toBeGreaterThan(0);
    expect(dispatches).toBeLessThan(FLOOD);
    // One socket push per dispatch (the socket was connected throughout), not one per event.
    expect(pushes.length).toBeGreaterThan(0);
    expect(pushes.length).toBeLessThanOrEqual(dispatches);

    // Webhook POSTs, throttled: a successful call schedules the next one no earlier than
    // minIntervalMs after the call *returned* (webhook-delivery.ts: `after + intervalS`, or
    // `lastRun.timestamp + minIntervalMs` in queueWebhookMessages, with lastRun recorded after
    // the call), and the receiver stamps a POST before answering it; so two POSTs are always
    // at least MIN_INTERVAL_MS apart here, however slow the machine (a slow machine only
    // widens the gaps). Hence at most 1 + span / MIN_INTERVAL_MS POSTs, far fewer than FLOOD.
    const mine = posts.filter((p) => p.messages.length > 0);
    expect(mine.length).toBe(posts.length);
    for (const p of posts) for (const m of p.messages) expect(['eventsChanged', 'streamsChanged', 'accessesChanged']).toContain(m);
    expect(posts.filter((p) => p.messages.includes('eventsChanged')).length).toBeGreaterThan(0);
    for (let i = 1; i < posts.length; i++) expect(posts[i]!.at - posts[i - 1]!.at).toBeGreaterThanOrEqual(MIN_INTERVAL_MS - 5);
    const span = posts.at(-1)!.at - posts[0]!.at;
    expect(posts.length).toBeLessThanOrEqual(1 + Math.floor(span / (MIN_INTERVAL_MS - 5)));
    expect(posts.length).toBeLessThan(FLOOD / 10);
    // The last POST came after the fan-out's last dispatch: the end of the flood was delivered.
    const lastDispatch = log.filter((c) => c.messages.includes('eventsChanged')).at(-1)!;
    expect(posts.at(-1)!.at).toBeGreaterThanOrEqual(lastDispatch.at);
    expect(posts.at(-1)!.messages).toContain('eventsChanged');

    // Nothing lost after the flood: one more change still produces a POST and a push.
    const postsBefore = posts.length;
    const pushesBefore = pushes.length;
    const one = await call('POST', `/${u}/events`, {
      token: user.token,
      body: { streamIds: [stream], type: 'note/txt', content: 'after' },
    });
    expect(one.status, JSON.stringify(one.body)).toBe(201);
    await until('a webhook POST for the change after the flood', () =>
      posts.slice(postsBefore).some((p) => p.messages.includes('eventsChanged')),
    );
    await until('a socket push for the change after the flood', () => pushes.length > pushesBefore);
    console.log(
      `flood: ${FLOOD} events, ${dispatches} fan-out dispatches with eventsChanged, ${pushesBefore} socket pushes, ${postsBefore} webhook POSTs`,
    );
  }, 600_000);
});
