import { beforeAll, describe, expect, it } from 'vitest';
import { dynamo } from '../../shared/store/clients';
import { GetCommand, UpdateCommand } from '../../shared/store/commands';
import { keys } from '../../shared/store/keys';
import { call, createUser, login, TEST_APP_ID, type TestUser, TRUSTED_ORIGIN, useRuntimeStore } from '../setup/api';

const TABLE = 'pryv-main';

async function storedAccess(username: string, token: string): Promise<Record<string, any> | undefined> {
  const out = await dynamo().send(new GetCommand({ TableName: TABLE, Key: keys.accessByToken(username, token), ConsistentRead: true }));
  return out.Item;
}

describe('auth.login (spec §2.9)', () => {
  let user: TestUser;
  beforeAll(async () => {
    useRuntimeStore();
    user = await createUser();
  });

  it('opens a personal session for a trusted app and answers token, apiEndpoint, preferredLanguage', async () => {
    const res = await login(user, 'other-app-id');
    expect(res.status).toBe(200);
    expect(res.body.token).toEqual(expect.any(String));
    expect(res.body.token).not.toBe(user.token); // another app id, another session
    expect(res.body.apiEndpoint).toContain(`${res.body.token}@`);
    expect(res.body.preferredLanguage).toBe('en');
    const info = await call('GET', `/${user.username}/access-info`, { token: res.body.token });
    expect(info.body).toMatchObject({ type: 'personal', name: 'other-app-id' });
  });

  it('reuses the live session of the same (user, app id)', async () => {
    const first = await login(user);
    const second = await login(user);
    expect(first.body.token).toBe(user.token);
    expect(second.body.token).toBe(user.token);
  });

  it('accepts the Referer when no Origin is sent', async () => {
    const res = await call('POST', `/${user.username}/auth/login`, {
      body: { username: user.username, password: user.password, appId: TEST_APP_ID },
      headers: { referer: 'http://localhost:4443/app/index.html' },
    });
    expect(res.status).toBe(200);
  });

  it('refuses untrusted or missing origins with 401 invalid-credentials', async () => {
    // The message says which is wrong: the origin not trusted for this app id, or no Origin at all.
    for (const [headers, says] of [
      [{ origin: 'https://evil.example.com' }, 'not trusted from the origin "https://evil.example.com"'],
      [{} as Record<string, string>, 'no Origin header'],
    ] as const) {
      const res = await call('POST', `/${user.username}/auth/login`, {
        body: { username: user.username, password: user.password, appId: TEST_APP_ID },
        headers,
      });
      expect(res.status).toBe(401);
      expect(res.body.error.id).toBe('invalid-credentials');
      expect(res.body.error.message).toContain(says);
    }
  });

  it('refuses a wrong password with 401 invalid-credentials and issues no token', async () => {
    const res = await login({ ...user, password: 'definitely-wrong' });
    expect(res.status).toBe(401);
    expect(res.body.error.id).toBe('invalid-credentials');
    expect(res.body.token).toBeUndefined();
  });

  it('answers missing parameters with 400 invalid-operation, unknown ones with invalid-parameters-format', async () => {
    const missing = await call('POST', `/${user.username}/auth/login`, {
      body: { username: user.username, appId: TEST_APP_ID },
      headers: { origin: TRUSTED_ORIGIN },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error.id).toBe('invalid-operation');
    const extra = await call('POST', `/${user.username}/auth/login`, {
      body: { username: user.username, password: user.password, appId: TEST_APP_ID, admin: true },
      headers: { origin: TRUSTED_ORIGIN },
    });
    expect(extra.status).toBe(400);
    expect(extra.body.error.id).toBe('invalid-parameters-format');
  });

  it('refuses a username that differs from the path user', async () => {
    const other = await createUser();
    const res = await call('POST', `/${user.username}/auth/login`, {
      body: { username: other.username, password: other.password, appId: TEST_APP_ID },
      headers: { origin: TRUSTED_ORIGIN },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.id).toBe('invalid-operation');
  });

  it('answers an unknown user with 404 unknown-resource', async () => {
    const res = await login({ username: 'no-such-user-77', password: 'whatever1' });
    expect(res.status).toBe(404);
    expect(res.body.error.id).toBe('unknown-resource');
  });
});

describe('personal sessions', () => {
  beforeAll(() => useRuntimeStore());

  it('slide forward on each use', async () => {
    const user = await createUser();
    await dynamo().send(
      new UpdateCommand({
        TableName: TABLE,
        Key: keys.accessByToken(user.username, user.token),
        UpdateExpression: 'SET sessionExpires = :soon',
        ExpressionAttributeValues: { ':soon': Date.now() / 1000 + 60 },
      }),
    );
    const res = await call('GET', `/${user.username}/account`, { token: user.token });
    expect(res.status).toBe(200);
    const after = await storedAccess(user.username, user.token);
    expect(after!.sessionExpires).toBeGreaterThan(Date.now() / 1000 + 13 * 24 * 3600);
  });

  it('expire: a session past its end answers 403 invalid-access-token, and login then issues a new token', async () => {
    const user = await createUser();
    await dynamo().send(
      new UpdateCommand({
        TableName: TABLE,
        Key: keys.accessByToken(user.username, user.token),
        UpdateExpression: 'SET sessionExpires = :past',
        ExpressionAttributeValues: { ':past': Date.now() / 1000 - 1 },
      }),
    );
    const res = await call('GET', `/${user.username}/access-info`, { token: user.token });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ id: 'invalid-access-token', message: 'Access session has expired.' });
    const again = await login(user);
    expect(again.status).toBe(200);
    expect(again.body.token).not.toBe(user.token);
    expect((await call('GET', `/${user.username}/access-info`, { token: again.body.token })).status).toBe(200);
    expect((await call('GET', `/${user.username}/access-info`, { token: user.token })).status).toBe(403);
    // The access kept its id: a session renewal is not a new access.
    const info = await call('GET', `/${user.username}/access-info`, { token: again.body.token });
    expect(info.body.name).toBe(TEST_APP_ID);
  });

  it('end with auth.logout: the token stops working, other sessions go on', async () => {
    const user = await createUser();
    const otherSession = (await login(user, 'second-app-id')).body.token;
    const out = await call('POST', `/${user.username}/auth/logout`, { token: user.token });
    expect(out.status).toBe(200);
    const after = await call('GET', `/${user.username}/access-info`, { token: user.token });
    expect(after.status).toBe(403);
    expect(after.body.error.id).toBe('invalid-access-token');
    expect((await call('GET', `/${user.username}/access-info`, { token: otherSession })).status).toBe(200);
  });
});

describe('getAccessInfo and usage counters', () => {
  beforeAll(() => useRuntimeStore());

  it('counts successful calls per method and records lastUsed', async () => {
    const user = await createUser();
    const before = Date.now() / 1000;
    for (let i = 0; i < 3; i++) expect((await call('GET', `/${user.username}/account`, { token: user.token })).status).toBe(200);
    await call('POST', `/${user.username}/account/change-password`, {
      token: user.token,
      body: { oldPassword: 'x-wrong', newPassword: 'abcdef' },
    });
    const info = await call('GET', `/${user.username}/access-info`, { token: user.token });
    expect(info.body.calls['account:get']).toBe(3);
    expect(info.body.calls['account:changePassword']).toBeUndefined(); // it failed
    expect(info.body.lastUsed).toBeGreaterThanOrEqual(before - 1);
    const again = await call('GET', `/${user.username}/access-info`, { token: user.token });
    expect(again.body.calls.getAccessInfo).toBe(1);
    expect(again.body.token).toBe(user.token);
    expect(again.body.sessionExpires).toBeUndefined();
  });
});
