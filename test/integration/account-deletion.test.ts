import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { deleteAccount } from '../../shared/domain/accounts/deletion';
import { dynamo } from '../../shared/store/clients';
import { ScanCommand } from '../../shared/store/commands';
import { adminKey, apiUrl, call, createUser, type TestUser, useRuntimeStore } from '../setup/api';

/**
 * Items of the table that mention each user anywhere in their keys: one test-only Scan of
 * the whole shared table (a user's items live under many key prefixes, so no Query finds
 * them all). The filter runs in the engine, so only candidate items come back; the exact
 * check (a whole `#` segment of pk, or the username attribute) is made here.
 */
async function itemsOfUsers(usernames: string[]): Promise<Map<string, Array<{ pk: string; sk: string }>>> {
  const found = new Map(usernames.map((u) => [u, [] as Array<{ pk: string; sk: string }>]));
  const names = usernames.map((_, i) => `:u${i}`);
  const filter = names.map((n) => `contains(pk, ${n}) OR username = ${n}`).join(' OR ');
  const values = Object.fromEntries(usernames.map((u, i) => [names[i]!, u]));
  let start: Record<string, unknown> | undefined;
  do {
    const out = await dynamo().send(
      new ScanCommand({
        TableName: 'pryv-main',
        ExclusiveStartKey: start,
        ProjectionExpression: 'pk, sk, username',
        FilterExpression: filter,
        ExpressionAttributeValues: values,
      }),
    );
    for (const item of out.Items ?? []) {
      const pk = String(item.pk);
      const parts = pk.split('#');
      for (const [username, list] of found) {
        if (parts.includes(username) || item.username === username) list.push({ pk, sk: String(item.sk) });
      }
    }
    start = out.LastEvaluatedKey;
  } while (start);
  return found;
}
const itemsOf = async (username: string) => (await itemsOfUsers([username])).get(username)!;

async function filesOf(username: string): Promise<number> {
  const s3 = new S3Client({
    endpoint: inject('s3Endpoint'),
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  let count = 0;
  for (const prefix of [`files/${username}/`, `pending/${username}/`]) {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: 'pryv-attachments', Prefix: prefix }));
    count += out.KeyCount ?? 0;
  }
  s3.destroy();
  return count;
}

/** A user with a bit of everything: a stream tree, events (history, running, trashed, deleted, with a file), accesses. */
async function populate(user: TestUser): Promise<void> {
  const t = user.token;
  const u = user.username;
  expect((await call('POST', `/${u}/streams`, { token: t, body: { id: 'health', name: 'Health' } })).status).toBe(201);
  expect((await call('POST', `/${u}/streams`, { token: t, body: { id: 'heart', name: 'Heart', parentId: 'health' } })).status).toBe(201);
  expect((await call('POST', `/${u}/streams`, { token: t, body: { id: 'old', name: 'Old' } })).status).toBe(201);
  const e1 = (await call('POST', `/${u}/events`, { token: t, body: { streamIds: ['heart'], type: 'mass/kg', content: 70 } })).body.event;
  await call('PUT', `/${u}/events/${e1.id}`, { token: t, body: { content: 71 } });
  await call('POST', `/${u}/events`, { token: t, body: { streamIds: ['health'], type: 'activity/plain', duration: null } });
  const e3 = (await call('POST', `/${u}/events`, { token: t, body: { streamIds: ['health'], type: 'note/txt', content: 'x' } })).body.event;
  await call('DELETE', `/${u}/events/${e3.id}`, { token: t });
  await call('DELETE', `/${u}/events/${e3.id}`, { token: t });
  await call('DELETE', `/${u}/streams/old`, { token: t });
  await call('DELETE', `/${u}/streams/old`, { token: t });
  const form = new FormData();
  form.append('event', JSON.stringify({ streamIds: ['heart'], type: 'picture/attached' }));
  form.append('file', new Blob([Buffer.from('file bytes')]), 'a.txt');
  const upload = await fetch(`${apiUrl()}/${u}/events`, { method: 'POST', headers: { authorization: t }, body: form });
  expect(upload.status).toBe(201);
  const shared = await call('POST', `/${u}/accesses`, {
    token: t,
    body: { name: 'doctor', permissions: [{ streamId: 'health', level: 'read' }] },
  });
  expect(shared.status).toBe(201);
}

// Each leftovers check scans the whole shared table (see itemsOfUsers): slow late in a full run.
describe('account deletion (DELETE /users/{username})', { timeout: 240_000 }, () => {
  let bystander: TestUser;
  beforeAll(async () => {
    useRuntimeStore();
    bystander = await createUser();
    await populate(bystander);
  });

  it('refuses without the admin key (personal tokens are not enabled by default), and 404s unknown users', async () => {
    const user = await createUser();
    for (const authorization of [undefined, 'wrong-key', user.token]) {
      const res = await call('DELETE', `/users/${user.username}`, { headers: authorization ? { authorization } : {} });
      expect(res.status).toBe(403);
      expect(res.body.error.id).toBe('invalid-access-token');
    }
    expect((await call('GET', `/${user.username}/access-info`, { token: user.token })).status).toBe(200);
    const unknown = await call('DELETE', '/users/no-such-user-here', { headers: { authorization: adminKey() } });
    expect(unknown.status).toBe(404);
  });

  it('removes every item, index entry and file of the user, frees username and email, leaves others alone', async () => {
    const user = await createUser();
    await populate(user);
    const before = await itemsOfUsers([user.username, bystander.username]);
    expect(before.get(user.username)!.length).toBeGreaterThan(10);
    expect(await filesOf(user.username)).toBe(1);
    const bystanderItems = before.get(bystander.username)!.length;

    const res = await call('DELETE', `/users/${user.username}`, { headers: { authorization: adminKey() } });
    expect(res.status).toBe(200);
    expect(res.body.userDeletion).toEqual({ username: user.username });

    const after = await itemsOfUsers([user.username, bystander.username]);
    expect(after.get(user.username)).toEqual([]);
    expect(await filesOf(user.username)).toBe(0);
    expect((await call('GET', `/${user.username}/access-info`, { token: user.token })).status).toBe(404);
    expect((await call('GET', `/reg/${user.username}/check_username`)).body.reserved).toBe(false);
    expect((await call('GET', `/reg/${user.email}/username`)).status).toBe(404);

    // The bystander is untouched.
    // (Deletion writes no audit record: the bystander's items are exactly as before.)
    expect(after.get(bystander.username)!.length).toBe(bystanderItems);
    // Its 3 events and its 4 shown account values (email, language, storage counters).
    expect((await call('GET', `/${bystander.username}/events?state=all`, { token: bystander.token })).body.events.length).toBe(7);

    // Username and email can be registered again, to an empty account.
    const again = await createUser({ username: user.username, email: user.email });
    // Nothing of the old account: only the new one's account streams and values (its email, language, counters).
    const streamsAgain = (await call('GET', `/${again.username}/streams`, { token: again.token })).body.streams;
    expect(streamsAgain.map((s: { id: string }) => s.id)).toEqual([':_system:account']);
    const eventsAgain = (await call('GET', `/${again.username}/events`, { token: again.token })).body.events;
    expect(eventsAgain.map((e: { streamIds: string[] }) => e.streamIds[0]).sort()).toEqual([
      ':_system:attachedFiles',
      ':_system:dbDocuments',
      ':_system:language',
      ':system:email',
    ]);
  });

  it('finishes a deletion interrupted half-way when retried, leaving nothing behind', async () => {
    const user = await createUser();
    await populate(user);
    await expect(
      deleteAccount(user.username, async (step) => {
        if (step === 'files') throw new Error('simulated crash');
      }),
    ).rejects.toThrow('simulated crash');
    // Interrupted: the account still exists (nothing freed yet), its events are gone.
    expect((await call('GET', `/reg/${user.username}/check_username`)).body.reserved).toBe(true);
    const res = await call('DELETE', `/users/${user.username}`, { headers: { authorization: adminKey() } });
    expect(res.status).toBe(200);
    expect(await itemsOf(user.username)).toEqual([]);
    expect(await filesOf(user.username)).toBe(0);
  });
});
