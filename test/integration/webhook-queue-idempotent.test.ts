import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config, resetConfig } from '../../shared/config';
import { dynamo, resetClients } from '../../shared/store/clients';
import { GetCommand } from '../../shared/store/commands';
import { queueClaimedAttempt } from '../../shared/store/webhook-queue';
import { getWebhook } from '../../shared/store/webhooks';
import { call, createUser, useRuntimeStore } from '../setup/api';
import { startDynamoDBProxy } from '../setup/dynamodb-proxy';

/**
 * A transaction that committed but whose answer was lost is retried by the SDK; it must be
 * answered as committed, not applied again (where its conditions would now fail and a claimed
 * webhook attempt would be taken for refused). Proven against DynamoDB Local through a proxy
 * that forwards the first TransactWriteItems, lets it commit, and answers the client 500.
 */

interface Seen {
  token: string | undefined;
  lost: boolean;
}

/** Forwards everything to `target`; the first transaction whose body contains `marker` commits, and its answer is replaced by a 500. */
async function startLossyProxy(target: string, marker: string) {
  const seen: Seen[] = [];
  const proxy = await startDynamoDBProxy(target, ({ operation, body }) => {
    if (operation !== 'TransactWriteItems' || !body.includes(marker)) return undefined;
    const lost = seen.length === 0;
    seen.push({ token: JSON.parse(body.toString('utf8')).ClientRequestToken, lost });
    return { answerLost: lost };
  });
  return { ...proxy, seen };
}

describe('webhook queue transactions', () => {
  let proxy: Awaited<ReturnType<typeof startLossyProxy>>;
  let username: string;
  let webhookId: string;

  beforeAll(async () => {
    useRuntimeStore();
    const user = await createUser();
    username = user.username;
    const app = await call('POST', `/${username}/accesses`, {
      token: user.token,
      body: { type: 'app', name: 'app', permissions: [{ streamId: '*', level: 'read' }] },
    });
    expect(app.status, JSON.stringify(app.body)).toBe(201);
    // Scoped to events of a stream nothing writes to: the fan-out, still working through this
    // user's registration and the app access's creation, never queues an attempt of its own on
    // this webhook while the test claims one (an unscoped webhook hears of its access's creation).
    const stream = await call('POST', `/${username}/streams`, { token: user.token, body: { id: 'quiet', name: 'quiet' } });
    expect(stream.status, JSON.stringify(stream.body)).toBe(201);
    const hook = await call('POST', `/${username}/webhooks`, {
      token: app.body.access.token,
      body: { url: 'http://127.0.0.1:9/none', scopes: { quiet: { kind: 'events', query: { streams: ['quiet'] } } } },
    });
    expect(hook.status, JSON.stringify(hook.body)).toBe(201);
    webhookId = hook.body.webhook.id;
    proxy = await startLossyProxy(process.env.DYNAMODB_ENDPOINT!, webhookId);
    process.env.DYNAMODB_ENDPOINT = proxy.url;
    resetConfig();
    resetClients();
  });
  afterAll(async () => {
    useRuntimeStore();
    await proxy.close();
  });

  it('queueClaimedAttempt whose committed answer is lost: the SDK retry repeats its token and is answered as committed', async () => {
    const listed = await getWebhook(username, webhookId);
    expect(listed?.nextAttempt).toBeUndefined();
    const now = Date.now() / 1000;
    const claimed = await queueClaimedAttempt(username, listed!, ['eventsChanged'], [], now, now + 60);

    // The first send committed and was answered 500; the SDK sent it again with the same token.
    expect(proxy.seen.map((s) => s.lost)).toEqual([true, false]);
    expect(proxy.seen[0]!.token).toMatch(/^[0-9a-f-]{36}$/);
    expect(proxy.seen[1]!.token).toBe(proxy.seen[0]!.token);
    // Taken as the claim it is (not refused on its own now-failing conditions), and applied once.
    expect(claimed?.webhook.queueSeq).toBe((listed!.queueSeq ?? 0) + 1);
    const stored = await getWebhook(username, webhookId);
    expect(stored?.queueSeq).toBe((listed!.queueSeq ?? 0) + 1);
    expect([...(stored?.pending ?? [])]).toEqual(['eventsChanged']);
    const due = await dynamo().send(new GetCommand({ TableName: config().tableName, Key: { pk: claimed!.due.pk, sk: claimed!.due.sk } }));
    expect(due.Item?.leaseUntil).toBe(now + 60);
    expect(due.Item?.webhookId).toBe(webhookId);
  });
});
