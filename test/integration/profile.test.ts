import { beforeAll, describe, expect, it } from 'vitest';
import { insertAccess } from '../setup/accesses';
import { call, createUser, expectError, type TestUser, useRuntimeStore } from '../setup/api';

describe('profile sets (spec §2.7)', () => {
  let user: TestUser;
  let appToken: string;
  let app2Token: string;
  let sharedToken: string;
  beforeAll(async () => {
    useRuntimeStore();
    user = await createUser();
    appToken = (await insertAccess(user.username, 'app', { name: 'profile-app-one' })).token;
    app2Token = (await insertAccess(user.username, 'app', { name: 'profile-app-two' })).token;
    sharedToken = (await insertAccess(user.username, 'shared')).token;
  });

  it('a set never written reads {}', async () => {
    const u = await createUser();
    for (const set of ['public', 'private']) {
      const res = await call('GET', `/${u.username}/profile/${set}`, { token: u.token });
      expect(res.status).toBe(200);
      expect(res.body.profile).toEqual({});
    }
  });

  it('PUT merges keys, replaces values and deletes keys set to null; untouched keys stay', async () => {
    const u = await createUser();
    const first = await call('PUT', `/${u.username}/profile/private`, {
      token: u.token,
      body: { a: 1, b: { nested: ['x'] }, c: 'keep' },
    });
    expect(first.status).toBe(200);
    expect(first.body.profile).toEqual({ a: 1, b: { nested: ['x'] }, c: 'keep' });
    const second = await call('PUT', `/${u.username}/profile/private`, { token: u.token, body: { a: 2, b: null, d: false } });
    expect(second.body.profile).toEqual({ a: 2, c: 'keep', d: false });
    expect((await call('GET', `/${u.username}/profile/private`, { token: u.token })).body.profile).toEqual({ a: 2, c: 'keep', d: false });
    // Sets are separate.
    expect((await call('GET', `/${u.username}/profile/public`, { token: u.token })).body.profile).toEqual({});
  });

  it('concurrent updates of different keys are all kept', async () => {
    const u = await createUser();
    await Promise.all(
      Array.from({ length: 6 }, (_, i) => call('PUT', `/${u.username}/profile/public`, { token: u.token, body: { [`k${i}`]: i } })),
    );
    const res = await call('GET', `/${u.username}/profile/public`, { token: u.token });
    expect(res.body.profile).toEqual({ k0: 0, k1: 1, k2: 2, k3: 3, k4: 4, k5: 5 });
  });

  it('public: any access reads it; only personal writes it (403 forbidden, nothing changed)', async () => {
    await call('PUT', `/${user.username}/profile/public`, { token: user.token, body: { displayName: 'Alice' } });
    for (const token of [appToken, sharedToken]) {
      const res = await call('GET', `/${user.username}/profile/public`, { token });
      expect(res.status).toBe(200);
      expect(res.body.profile).toEqual({ displayName: 'Alice' });
      expectError(await call('PUT', `/${user.username}/profile/public`, { token, body: { displayName: 'Mallory' } }), 403, 'forbidden');
    }
    expect((await call('GET', `/${user.username}/profile/public`, { token: user.token })).body.profile).toEqual({ displayName: 'Alice' });
  });

  it('private: personal only (403 forbidden for app and shared accesses)', async () => {
    await call('PUT', `/${user.username}/profile/private`, { token: user.token, body: { secret: 's' } });
    for (const token of [appToken, sharedToken]) {
      expectError(await call('GET', `/${user.username}/profile/private`, { token }), 403, 'forbidden');
      expectError(await call('PUT', `/${user.username}/profile/private`, { token, body: { secret: 'x' } }), 403, 'forbidden');
    }
    expect((await call('GET', `/${user.username}/profile/private`, { token: user.token })).body.profile).toEqual({ secret: 's' });
  });

  it('app: one set per app access; personal and shared accesses get 400 invalid-operation', async () => {
    const put = await call('PUT', `/${user.username}/profile/app`, { token: appToken, body: { theme: 'dark' } });
    expect(put.status).toBe(200);
    expect(put.body.profile).toEqual({ theme: 'dark' });
    expect((await call('GET', `/${user.username}/profile/app`, { token: appToken })).body.profile).toEqual({ theme: 'dark' });
    expect((await call('GET', `/${user.username}/profile/app`, { token: app2Token })).body.profile).toEqual({});
    for (const token of [user.token, sharedToken]) {
      const res = await call('GET', `/${user.username}/profile/app`, { token });
      expectError(res, 400, 'invalid-operation');
      expect(res.body.error.message).toBe('This resource is only available to app accesses.');
      expectError(await call('PUT', `/${user.username}/profile/app`, { token, body: { theme: 'light' } }), 400, 'invalid-operation');
    }
    expect((await call('GET', `/${user.username}/profile/app`, { token: appToken })).body.profile).toEqual({ theme: 'dark' });
  });

  it('bad bodies → 400 and nothing changes; no token → 401; another user’s token → 403', async () => {
    const u = await createUser();
    await call('PUT', `/${u.username}/profile/public`, { token: u.token, body: { a: 1 } });
    expectError(await call('PUT', `/${u.username}/profile/public`, { token: u.token, body: [1, 2] }), 400, 'invalid-parameters-format');
    expectError(
      await call('PUT', `/${u.username}/profile/public`, {
        token: u.token,
        rawBody: '{not json',
        headers: { 'content-type': 'application/json' },
      }),
      400,
      'invalid-request-structure',
    );
    expectError(
      await call('PUT', `/${u.username}/profile/public`, { token: u.token, body: { big: 'x'.repeat(120 * 1024) } }),
      400,
      'invalid-parameters-format',
    );
    expectError(await call('GET', `/${u.username}/profile/public`), 401, 'invalid-access-token');
    expectError(await call('GET', `/${u.username}/profile/private`, { token: user.token }), 403, 'invalid-access-token');
    expect((await call('GET', `/${u.username}/profile/public`, { token: u.token })).body.profile).toEqual({ a: 1 });
  });

  it('works in a batch call', async () => {
    const res = await call('POST', `/${user.username}/`, {
      token: user.token,
      body: [
        { method: 'profile.updatePrivate', params: { update: { fromBatch: true } } },
        { method: 'profile.getPrivate', params: {} },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.results[1].profile).toMatchObject({ fromBatch: true });
  });
});
