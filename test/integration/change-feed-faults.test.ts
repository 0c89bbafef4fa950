import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as fanout } from '../../functions/notify/fanout';
import { deadLettersInMemory } from '../../shared/adapters/dead-letters';
import { apiUrl, call, createUser, type TestUser, useRuntimeStore } from '../setup/api';
import { waitUntil } from './wait';

// biome-ignore lint/correctness/noPrecisionLoss: a number past double precision, as a client may send it (it is stored rounded)
const HUGE = 123456789012345678901234567890;

/**
 * The change feed never drops a change (README "Faults and retries"): a value the fan-out
 * reads is decoded safely (a number beyond double precision), and a record it still cannot
 * read is set aside, reported, and does not take the other changes of its batch with it.
 */

const WAIT_MS = 20_000; // far above the expected delay, for a loaded machine
const suffix = () => randomBytes(4).toString('hex');

const until = waitUntil({ timeoutMs: WAIT_MS });

/** What the runtime's fan-out handed its sinks for a user (GET /__test/changes, test runtime only). */
async function changesOf(username: string): Promise<Array<{ messages: string[] }>> {
  const res = await fetch(`${apiUrl()}/__test/changes?username=${encodeURIComponent(username)}`);
  return ((await res.json()) as { changes: Array<{ messages: string[] }> }).changes;
}

let server: Server;
let receiverBase: string;
const received: Array<{ path: string; messages: string[] }> = [];

/** A user with a stream, and a webhook (of an app access) posting to the receiver at `/{username}`. */
async function userWithWebhook(): Promise<{ user: TestUser; stream: string }> {
  const user = await createUser();
  const u = user.username;
  const app = await call('POST', `/${u}/accesses`, {
    token: user.token,
    body: { type: 'app', name: `app-${suffix()}`, permissions: [{ streamId: '*', level: 'manage' }] },
  });
  expect(app.status, JSON.stringify(app.body)).toBe(201);
  const stream = `s-${suffix()}`;
  expect((await call('POST', `/${u}/streams`, { token: user.token, body: { id: stream, name: stream } })).status).toBe(201);
  const hook = await call('POST', `/${u}/webhooks`, { token: app.body.access.token, body: { url: `${receiverBase}/${u}` } });
  expect(hook.status, JSON.stringify(hook.body)).toBe(201);
  // The changes made so far have come through (the webhook hears nothing of them: it came last).
  await until(`streamsChanged of ${u}`, async () => (await changesOf(u)).some((c) => c.messages.includes('streamsChanged')));
  return { user, stream };
}

const heardBy = (username: string, message: string) => received.filter((r) => r.path === `/${username}` && r.messages.includes(message));

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { messages: string[] };
      received.push({ path: (req.url ?? '').split('?')[0]!, messages: body.messages });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiverBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('change feed under odd records', () => {
  it('an event holding 123456789012345678901234567890, and the changes around it, all reach the sinks and webhooks', async () => {
    const [a, b] = await Promise.all([userWithWebhook(), userWithWebhook()]);
    const create = (who: { user: TestUser; stream: string }, content: unknown) =>
      call('POST', `/${who.user.username}/events`, {
        token: who.user.token,
        body: { streamIds: [who.stream], type: 'count/generic', content },
      });
    // In one burst, so they share stream batches: the huge number between two ordinary changes.
    const answers = await Promise.all([create(b, 1), create(a, HUGE), create(b, 2)]);
    expect(answers.map((r) => r.status)).toEqual([201, 201, 201]);
    const after = await create(a, 3);
    expect(after.status).toBe(201);

    await until(
      'eventsChanged at the webhooks of both users',
      () => heardBy(a.user.username, 'eventsChanged').length > 0 && heardBy(b.user.username, 'eventsChanged').length > 0,
    );
    for (const who of [a, b]) {
      expect(
        (await changesOf(who.user.username)).some((c) => c.messages.includes('eventsChanged')),
        who.user.username,
      ).toBe(true);
    }
    const read = await call('GET', `/${a.user.username}/events/${answers[1]!.body.event.id}`, { token: a.user.token });
    expect(read.body.event.content).toBe(HUGE);
  });

  it('a record the fan-out cannot read is set aside and reported; the rest of its batch is delivered', async () => {
    useRuntimeStore(); // this test runs the fan-out handler itself, on the runtime's table
    const c = await userWithWebhook();
    const u = c.user.username;
    const unreadable: DynamoDBRecord = {
      eventID: `bad-${suffix()}`,
      eventName: 'INSERT',
      dynamodb: {
        SequenceNumber: '100000000000000000001',
        Keys: { pk: { S: `EV#${u}` }, sk: { S: 'c-unreadable' } },
        NewImage: { pk: { S: `EV#${u}` }, sk: { S: 'c-unreadable' }, content: { X: 'an attribute type no one knows' } } as never,
      },
    };
    // A new connection's item is read for its open packet only: unreadable, it is set aside too.
    const connection = `conn${suffix()}`;
    const unreadableConnection: DynamoDBRecord = {
      eventID: `bad-connection-${suffix()}`,
      eventName: 'INSERT',
      dynamodb: {
        SequenceNumber: '100000000000000000000',
        Keys: { pk: { S: `WSCONN#${connection}` }, sk: { S: 'WSCONN' } },
        NewImage: { pk: { S: `WSCONN#${connection}` }, sk: { S: 'WSCONN' }, connectionId: { X: connection } } as never,
      },
    };
    const ordinary: DynamoDBRecord = {
      eventID: `ok-${suffix()}`,
      eventName: 'MODIFY',
      dynamodb: {
        SequenceNumber: '100000000000000000002',
        Keys: { pk: { S: `EV#${u}` }, sk: { S: 'c-ordinary' } },
        // In a stream of the account, as every event head is: the webhook's access may read it.
        NewImage: {
          pk: { S: `EV#${u}` },
          sk: { S: 'c-ordinary' },
          streamIds: { L: [{ S: c.stream }] },
          content: { N: '1.2345678901234568e+29' },
        },
        OldImage: { pk: { S: `EV#${u}` }, sk: { S: 'c-ordinary' }, streamIds: { L: [{ S: c.stream }] }, content: { N: '1' } },
      },
    };
    const before = deadLettersInMemory().length;
    const out = await fanout({ Records: [unreadableConnection, unreadable, ordinary] });
    expect(out.batchItemFailures).toEqual([]);
    const letters = deadLettersInMemory().slice(before);
    expect(letters.map((l) => [l.reader, l.record.eventID])).toEqual([
      ['fanout', unreadableConnection.eventID],
      ['fanout', unreadable.eventID],
    ]);
    expect(letters[0]!.reason).toMatch(/\S/);
    await until(`eventsChanged at the webhook of ${u}`, () => heardBy(u, 'eventsChanged').length > 0);
  });
});
