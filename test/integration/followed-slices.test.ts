import { beforeAll, describe, expect, it } from 'vitest';
import { insertAccess } from '../setup/accesses';
import { call, createUser, expectError, type TestUser, useRuntimeStore } from '../setup/api';

const slice = (n: string) => ({ name: n, url: `https://other-${n}.example.com/`, accessToken: `token-${n}` });

describe('followed slices (spec §2.6, §3.5)', () => {
  let user: TestUser;
  beforeAll(async () => {
    useRuntimeStore();
    user = await createUser();
  });

  it('create → 201 {followedSlice} with a server id; get lists them ordered by name', async () => {
    const u = await createUser();
    const b = await call('POST', `/${u.username}/followed-slices`, { token: u.token, body: slice('bravo') });
    expect(b.status).toBe(201);
    expect(b.body.followedSlice).toEqual({ id: expect.any(String), ...slice('bravo') });
    await call('POST', `/${u.username}/followed-slices`, { token: u.token, body: slice('alpha') });
    await call('POST', `/${u.username}/followed-slices`, { token: u.token, body: slice('charlie') });
    const list = await call('GET', `/${u.username}/followed-slices`, { token: u.token });
    expect(list.status).toBe(200);
    expect(list.body.followedSlices.map((s: { name: string }) => s.name)).toEqual(['alpha', 'bravo', 'charlie']);
  });

  it('duplicate name → 409 {name}; duplicate (url, accessToken) → 409 {url, accessToken}; nothing created', async () => {
    const u = await createUser();
    await call('POST', `/${u.username}/followed-slices`, { token: u.token, body: slice('one') });
    expectError(
      await call('POST', `/${u.username}/followed-slices`, {
        token: u.token,
        body: { ...slice('one'), url: 'https://elsewhere.example.com/' },
      }),
      409,
      'item-already-exists',
      { name: 'one' },
    );
    expectError(
      await call('POST', `/${u.username}/followed-slices`, { token: u.token, body: { ...slice('one'), name: 'two' } }),
      409,
      'item-already-exists',
      { url: slice('one').url, accessToken: slice('one').accessToken },
    );
    // Same url with another token is a different slice.
    expect(
      (
        await call('POST', `/${u.username}/followed-slices`, {
          token: u.token,
          body: { ...slice('one'), name: 'three', accessToken: 'other' },
        })
      ).status,
    ).toBe(201);
    const names = (await call('GET', `/${u.username}/followed-slices`, { token: u.token })).body.followedSlices.map(
      (s: { name: string }) => s.name,
    );
    expect(names).toEqual(['one', 'three']);
  });

  it('update renames (name freed and claimed); url/accessToken refused with 403; dup name 409; unknown id 404', async () => {
    const u = await createUser();
    const a = (await call('POST', `/${u.username}/followed-slices`, { token: u.token, body: slice('a-name') })).body.followedSlice;
    await call('POST', `/${u.username}/followed-slices`, { token: u.token, body: slice('b-name') });
    const renamed = await call('PUT', `/${u.username}/followed-slices/${a.id}`, { token: u.token, body: { name: 'c-name' } });
    expect(renamed.status).toBe(200);
    expect(renamed.body.followedSlice).toEqual({ ...a, name: 'c-name' });
    // The old name is free again.
    expect((await call('POST', `/${u.username}/followed-slices`, { token: u.token, body: { ...slice('x'), name: 'a-name' } })).status).toBe(
      201,
    );
    expectError(
      await call('PUT', `/${u.username}/followed-slices/${a.id}`, { token: u.token, body: { name: 'b-name' } }),
      409,
      'item-already-exists',
      { name: 'b-name' },
    );
    expectError(
      await call('PUT', `/${u.username}/followed-slices/${a.id}`, { token: u.token, body: { url: 'https://x.example.com/' } }),
      403,
      'forbidden',
    );
    expectError(
      await call('PUT', `/${u.username}/followed-slices/${a.id}`, { token: u.token, body: { color: 'red' } }),
      400,
      'invalid-parameters-format',
    );
    expectError(
      await call('PUT', `/${u.username}/followed-slices/unknown-id`, { token: u.token, body: { name: 'z' } }),
      404,
      'unknown-resource',
    );
    const after = (await call('GET', `/${u.username}/followed-slices`, { token: u.token })).body.followedSlices;
    expect(after.find((s: { id: string }) => s.id === a.id)).toEqual({ ...a, name: 'c-name' });
  });

  it('delete → {followedSliceDeletion:{id}}, frees name and target; again → 404', async () => {
    const u = await createUser();
    const s = (await call('POST', `/${u.username}/followed-slices`, { token: u.token, body: slice('gone') })).body.followedSlice;
    const del = await call('DELETE', `/${u.username}/followed-slices/${s.id}`, { token: u.token });
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ followedSliceDeletion: { id: s.id } });
    expect((await call('GET', `/${u.username}/followed-slices`, { token: u.token })).body.followedSlices).toEqual([]);
    expectError(await call('DELETE', `/${u.username}/followed-slices/${s.id}`, { token: u.token }), 404, 'unknown-resource');
    expect((await call('POST', `/${u.username}/followed-slices`, { token: u.token, body: slice('gone') })).status).toBe(201);
  });

  it('bad input → 400 invalid-parameters-format, nothing created', async () => {
    const u = await createUser();
    for (const body of [
      { name: 'n', url: 'u' },
      { ...slice('q'), extra: 1 },
      { ...slice('q'), name: '' },
      { ...slice('q'), url: 5 },
    ]) {
      expectError(await call('POST', `/${u.username}/followed-slices`, { token: u.token, body }), 400, 'invalid-parameters-format');
    }
    expect((await call('GET', `/${u.username}/followed-slices`, { token: u.token })).body.followedSlices).toEqual([]);
  });

  it('personal only: app and shared accesses get 403 forbidden on every method', async () => {
    const s = (await call('POST', `/${user.username}/followed-slices`, { token: user.token, body: slice('mine') })).body.followedSlice;
    for (const type of ['app', 'shared'] as const) {
      const { token } = await insertAccess(user.username, type);
      expectError(await call('GET', `/${user.username}/followed-slices`, { token }), 403, 'forbidden');
      expectError(await call('POST', `/${user.username}/followed-slices`, { token, body: slice('theirs') }), 403, 'forbidden');
      expectError(await call('PUT', `/${user.username}/followed-slices/${s.id}`, { token, body: { name: 'x' } }), 403, 'forbidden');
      expectError(await call('DELETE', `/${user.username}/followed-slices/${s.id}`, { token }), 403, 'forbidden');
    }
    const other = await createUser();
    expectError(await call('GET', `/${user.username}/followed-slices`, { token: other.token }), 403, 'invalid-access-token');
    expect((await call('GET', `/${user.username}/followed-slices`, { token: user.token })).body.followedSlices).toEqual([s]);
  });
});
