import { beforeAll, describe, expect, it } from 'vitest';
import type { StoredStream } from '../../shared/model/streams';
import { createStream, deleteStreams, readDataMeta, updateStream } from '../../shared/store/streams';
import { call, createUser, type TestUser, useRuntimeStore } from '../setup/api';

/**
 * The runtime keeps the stream trees it built and reuses one while the user's tree version
 * is unchanged. These tests write streams the way another container would (through the
 * store, from this test process, which has its own cache) and check that the runtime's next
 * call sees every change; and that each stream write through the API changes the version.
 */

let user: TestUser;

const streamsGet = async () => {
  const res = await call('GET', `/${user.username}/streams?state=all`, { token: user.token });
  expect(res.status).toBe(200);
  return res.body.streams as Array<{ id: string; name: string; children: unknown[] }>;
};

const record = (id: string, name: string, now: number): StoredStream => ({
  id,
  name,
  parentId: null,
  created: now,
  createdBy: 'other-container',
  modified: now,
  modifiedBy: 'other-container',
});

beforeAll(async () => {
  useRuntimeStore();
  user = await createUser();
});

describe('stream tree reused across calls', () => {
  it('sees streams created, renamed and deleted by another writer on the next call', async () => {
    const now = Date.now() / 1000;
    await streamsGet(); // the runtime now holds this user's tree
    const created = record('elsewhere', 'Made elsewhere', now);
    expect(await createStream(user.username, created)).toBe('ok');
    expect((await streamsGet()).find((s) => s.id === 'elsewhere')?.name).toBe('Made elsewhere');

    // An event can go into it at once: the runtime's tree knows the stream.
    const ev = await call('POST', `/${user.username}/events`, {
      token: user.token,
      body: { streamIds: ['elsewhere'], type: 'note/txt', content: 'x' },
    });
    expect(ev.status).toBe(201);

    const renamed = { ...created, name: 'Renamed elsewhere', modified: now + 1 };
    expect(await updateStream(user.username, created, renamed)).toBe('ok');
    expect((await streamsGet()).find((s) => s.id === 'elsewhere')?.name).toBe('Renamed elsewhere');

    await deleteStreams(user.username, [renamed], now + 2);
    expect((await streamsGet()).find((s) => s.id === 'elsewhere')).toBeUndefined();
  });

  it('changes the tree version with every stream write through the API', async () => {
    const versions: Array<string | undefined> = [(await readDataMeta(user.username)).treeVersion];
    const api = (verb: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown) =>
      call(verb, `/${user.username}${path}`, { token: user.token, body });
    const step = async (res: Promise<{ status: number }>, status: number) => {
      expect((await res).status).toBe(status);
      versions.push((await readDataMeta(user.username)).treeVersion);
    };
    await step(api('POST', '/streams', { id: 'vparent', name: 'V parent' }), 201);
    await step(api('POST', '/streams', { id: 'vchild', name: 'V child', parentId: 'vparent' }), 201);
    await step(api('PUT', '/streams/vchild', { name: 'V child renamed' }), 200);
    await step(api('PUT', '/streams/vchild', { parentId: null }), 200);
    await step(api('DELETE', '/streams/vchild'), 200); // trashed
    await step(api('DELETE', '/streams/vchild'), 200); // deleted
    expect(versions.slice(1).every((v) => typeof v === 'string')).toBe(true);
    expect(new Set(versions).size).toBe(versions.length);
  });
});
