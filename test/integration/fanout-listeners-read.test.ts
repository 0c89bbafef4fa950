import { randomBytes } from 'node:crypto';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as fanout } from '../../functions/notify/fanout';
import { resetConfig } from '../../shared/config';
import { loadStreamTree } from '../../shared/domain/user-data';
import { resetClients } from '../../shared/store/clients';
import { listUserConnections } from '../../shared/store/socket-connections';
import { apiUrl, call, createUser, type TestUser, useRuntimeStore } from '../setup/api';
import { startDynamoDBProxy } from '../setup/dynamodb-proxy';
import { type ListeningSocket, listen, startReceiver } from '../setup/notify-clients';
import { waitUntil } from './wait';

/**
 * What the change fan-out reads per user and batch (README "Sockets", "Webhooks"): the user's
 * connections and webhooks in one Query of the user partition, shared by the socket and the
 * webhook sink, and the delivery run of due webhook attempts only after a batch of a user with
 * an active webhook. The fan-out handler runs here in this process on stream records as
 * Lambda hands them, against the runtime's DynamoDB Local through a proxy that records every
 * request; the socket and the webhook receiver are real ones.
 */

const suffix = () => randomBytes(4).toString('hex');
const until = waitUntil({ timeoutMs: 30_000 });

interface Seen {
  operation: string;
  body: string;
}

/** An event head's MODIFY in stream `streamId`, as the table's stream gives it. */
function eventRecord(username: string, streamId: string, sequence: string): DynamoDBRecord {
  const image = (content: number) => ({
    pk: { S: `EV#${username}` },
    sk: { S: `c${suffix()}` },
    streamIds: { L: [{ S: streamId }] },
    type: { S: 'count/generic' },
    content: { N: String(content) },
  });
  const NewImage = image(2);
  return {
    eventID: `e-${suffix()}`,
    eventName: 'MODIFY',
    dynamodb: {
      SequenceNumber: sequence,
      Keys: { pk: NewImage.pk, sk: NewImage.sk },
      NewImage,
      OldImage: { ...image(1), sk: NewImage.sk },
    },
  };
}

describe('the fan-out reads of a batch', () => {
  const seen: Seen[] = [];
  let proxy: Awaited<ReturnType<typeof startDynamoDBProxy>>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const opened: ListeningSocket[] = [];

  const queries = () => seen.filter((s) => s.operation === 'Query');
  const partitionOf = (u: string) => `"USER#${u}"`;

  beforeAll(async () => {
    useRuntimeStore();
    receiver = await startReceiver();
    proxy = await startDynamoDBProxy(process.env.DYNAMODB_ENDPOINT!, ({ operation, body }) => {
      seen.push({ operation, body: body.toString('utf8') });
      return undefined;
    });
    process.env.DYNAMODB_ENDPOINT = proxy.url;
    // Pushes go to the runtime's sockets through its @connections stand-in, webhook calls to a loopback receiver.
    process.env.SOCKET_MANAGEMENT_ENDPOINT = new URL(apiUrl()).origin;
    process.env.WEBHOOKS_ALLOW_PRIVATE_TARGETS = 'true';
    resetConfig();
    resetClients();
  });

  afterAll(async () => {
    for (const s of opened) s.close();
    delete process.env.SOCKET_MANAGEMENT_ENDPOINT;
    useRuntimeStore();
    await proxy?.close();
    await receiver?.close();
  });

  async function userWithStream(): Promise<{ user: TestUser; stream: string }> {
    const user = await createUser();
    const stream = `s-${suffix()}`;
    const res = await call('POST', `/${user.username}/streams`, { token: user.token, body: { id: stream, name: stream } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { user, stream };
  }

  it('a user with neither sockets nor webhooks: one Query per batch, and no read of the data meta once found so', async () => {
    const { user, stream } = await userWithStream();
    const u = user.username;
    // This process holds the user's tree (as a container that served a listener would): the
    // first batch reads the data meta beside the listeners, to have the tree ready; once the
    // user was found without listeners, a batch is the listeners' Query alone.
    await loadStreamTree(u);
    const expected = [['GetItem', 'Query'], ['Query'], ['Query']];
    for (const [i, want] of expected.entries()) {
      seen.length = 0;
      const out = await fanout({ Records: [eventRecord(u, stream, `10000000000000000001${i}`)] });
      expect(out.batchItemFailures).toEqual([]);
      expect(seen.map((s) => s.operation).sort(), `batch ${i + 1}`).toEqual(want);
      const query = seen.find((s) => s.operation === 'Query')!;
      expect(query.body).toContain(partitionOf(u));
      expect(query.body).toContain('BETWEEN');
    }
  });

  it('a user with a socket and a webhook: both from one Query, both told, then the due attempts run', async () => {
    const { user, stream } = await userWithStream();
    const u = user.username;
    const app = await call('POST', `/${u}/accesses`, {
      token: user.token,
      body: { type: 'app', name: `app-${suffix()}`, permissions: [{ streamId: stream, level: 'read' }] },
    });
    expect(app.status, JSON.stringify(app.body)).toBe(201);
    const hook = await call('POST', `/${u}/webhooks`, { token: app.body.access.token, body: { url: `${receiver.base}/${u}` } });
    expect(hook.status, JSON.stringify(hook.body)).toBe(201);
    const socket = await listen(apiUrl(), u, app.body.access.token);
    opened.push(socket);
    await until('the socket bound', async () => (await listUserConnections(u)).length === 1);

    seen.length = 0;
    const out = await fanout({ Records: [eventRecord(u, stream, '100000000000000000021')] });
    expect(out.batchItemFailures).toEqual([]);
    await socket.until('eventsChanged');
    await receiver.until(`eventsChanged at /${u}`, () => receiver.messages(`/${u}`).includes('eventsChanged'));

    // Its listeners (the tree's Query of its streams aside: the app access needs it).
    const listenerReads = queries().filter((q) => q.body.includes(partitionOf(u)) && /"(WEBHOOK|WSCONN)#/.test(q.body));
    expect(listenerReads.length, 'the listeners are read once').toBe(1);
    expect(listenerReads[0]!.body).toContain('BETWEEN');
    expect(
      queries().filter((q) => q.body.includes('"WEBHOOKDUE"')).length,
      'a delivery run of due attempts after the batch',
    ).toBeGreaterThanOrEqual(1);
  });
});
