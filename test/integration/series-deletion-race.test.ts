import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resetConfig } from '../../shared/config';
import { deleteAccount } from '../../shared/domain/accounts/deletion';
import { deleteEventForGood } from '../../shared/domain/events/delete';
import { resetClients } from '../../shared/store/clients';
import { keys } from '../../shared/store/keys';
import { partitionKeys } from '../../shared/store/query';
import { COMPACT_SEGMENTS, compactSeries } from '../../shared/store/series/chunks';
import { call, createUser, type TestUser, useRuntimeStore } from '../setup/api';
import { startDynamoDBProxy } from '../setup/dynamodb-proxy';
import { waitUntil } from './wait';

/**
 * Deleting a series holder (or its account) while a compaction of its points is under way
 * leaves nothing of the series behind. The interleavings are made deterministic with a proxy
 * in front of DynamoDB Local that holds back chosen requests of this process (the compaction's
 * commit, the deletion's BatchWriteItem) until the test lets them through.
 */

interface Held {
  operation: string;
  release: () => void;
}

/** Forwards everything to `target`; a request whose operation and body match an armed rule waits until released. */
async function startHoldingProxy(target: string) {
  const rules: Array<{ operation: string; marker: string }> = [];
  const held: Held[] = [];
  const proxy = await startDynamoDBProxy(target, ({ operation, body }) => {
    const rule = rules.findIndex((r) => r.operation === operation && body.includes(r.marker));
    if (rule < 0) return undefined;
    rules.splice(rule, 1); // each rule holds one request
    return { before: new Promise<void>((release) => held.push({ operation, release })) };
  });
  return {
    ...proxy,
    /** Holds the next request of that operation whose body contains `marker`. */
    hold: (operation: string, marker: string) => rules.push({ operation, marker }),
    /** Waits until a request of that operation is held, and answers the function that lets it go. */
    held: async (operation: string) => {
      await until(`a held ${operation}`, () => held.some((h) => h.operation === operation));
      const index = held.findIndex((h) => h.operation === operation);
      return held.splice(index, 1)[0]!.release;
    },
  };
}

const until = waitUntil({ timeoutMs: 20_000, intervalMs: 10 });

let proxy: Awaited<ReturnType<typeof startHoldingProxy>>;
let user: TestUser;
const flat = (points: unknown[][]) => ({ format: 'flatJSON', fields: ['deltaTime', 'value'], points });

/** A holder with a few segments and no chunk yet (fewer than a compaction waits for). */
async function holderWithSegments(owner: TestUser, writes = 3): Promise<string> {
  const made = await call('POST', `/${owner.username}/events`, {
    token: owner.token,
    body: { streamIds: ['data'], type: 'series:mass/kg' },
  });
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  const id = made.body.event.id as string;
  for (let i = 0; i < writes; i++) {
    const added = await call('POST', `/${owner.username}/events/${id}/series`, { token: owner.token, body: flat([[i, 60 + i]]) });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
  }
  return id;
}

const itemsOf = async (owner: TestUser, id: string) => (await partitionKeys(keys.seriesChunks(owner.username, id))).map((k) => k.sk);

/** Trashes the holder through the API; this process deletes it for good (through the proxy). */
async function trash(owner: TestUser, id: string): Promise<void> {
  expect((await call('DELETE', `/${owner.username}/events/${id}`, { token: owner.token })).status).toBe(200);
}

beforeAll(async () => {
  useRuntimeStore();
  user = await createUser();
  expect((await call('POST', `/${user.username}/streams`, { token: user.token, body: { id: 'data', name: 'data' } })).status).toBe(201);
  proxy = await startHoldingProxy(process.env.DYNAMODB_ENDPOINT!);
});
beforeEach(() => {
  useRuntimeStore();
  process.env.DYNAMODB_ENDPOINT = proxy.url;
  resetConfig();
  resetClients();
});
afterAll(async () => {
  useRuntimeStore();
  await proxy.close();
});

describe('deleting a series while a compaction runs leaves no item of it', () => {
  it('the compaction commits between the deletion reading the partition and deleting what it read', async () => {
    expect(COMPACT_SEGMENTS).toBeGreaterThan(3);
    const id = await holderWithSegments(user);
    expect((await itemsOf(user, id)).filter((sk) => sk.startsWith(keys.seriesSegmentPrefix))).toHaveLength(3);
    const pk = keys.seriesChunks(user.username, id);

    // The compaction took its lease and read the segments; its commit waits.
    proxy.hold('TransactWriteItems', pk);
    const compaction = compactSeries(user.username, id);
    const commit = await proxy.held('TransactWriteItems');

    // The holder is deleted for good meanwhile: the deletion has read the partition, its deletes wait.
    await trash(user, id);
    proxy.hold('BatchWriteItem', pk);
    const deletion = deleteEventForGood(user.username, id, Date.now() / 1000);
    const deletes = await proxy.held('BatchWriteItem');

    // The compaction's commit goes first: it must not create a chunk the deletion never saw.
    commit();
    const folded = await compaction;
    deletes();
    await deletion;
    expect(await itemsOf(user, id)).toEqual([]);
    expect(folded).toBe(0); // refused at its commit
  });

  it('the compaction starts after the deletion read the partition', async () => {
    const id = await holderWithSegments(user);
    const pk = keys.seriesChunks(user.username, id);
    await trash(user, id);
    proxy.hold('BatchWriteItem', pk);
    const deletion = deleteEventForGood(user.username, id, Date.now() / 1000);
    const deletes = await proxy.held('BatchWriteItem');

    // A writer's compaction, started now, folds nothing: the deletion holds the series.
    const folded = await compactSeries(user.username, id);
    deletes();
    await deletion;
    expect(await itemsOf(user, id)).toEqual([]);
    expect(folded).toBe(0);
  });

  it('a compaction after the deletion leaves no `~writes` item behind', async () => {
    const id = await holderWithSegments(user);
    await trash(user, id);
    await deleteEventForGood(user.username, id, Date.now() / 1000);
    expect(await itemsOf(user, id)).toEqual([]);
    // A writer that stored its points before the deletion and compacts after it.
    expect(await compactSeries(user.username, id)).toBe(0);
    expect(await itemsOf(user, id)).toEqual([]);
  });

  it('account deletion: a compaction under way does not write behind the purge', async () => {
    const victim = await createUser();
    expect((await call('POST', `/${victim.username}/streams`, { token: victim.token, body: { id: 'data', name: 'data' } })).status).toBe(
      201,
    );
    const id = await holderWithSegments(victim);
    const pk = keys.seriesChunks(victim.username, id);

    proxy.hold('TransactWriteItems', pk);
    const compaction = compactSeries(victim.username, id);
    const commit = await proxy.held('TransactWriteItems');
    proxy.hold('BatchWriteItem', pk);
    const deletion = deleteAccount(victim.username);
    const deletes = await proxy.held('BatchWriteItem');

    commit();
    const folded = await compaction;
    deletes();
    await deletion;
    expect(await itemsOf(victim, id)).toEqual([]);
    expect(folded).toBe(0);
  });
});
