import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { adminKey, call, createUser, login, uniqueUsername } from '../setup/api';

describe('system API (spec §2.16)', () => {
  it('hides itself behind 404 without the admin key', async () => {
    for (const authorization of [undefined, 'wrong-key', `${adminKey()}x`]) {
      const headers: Record<string, string> = authorization ? { authorization } : {};
      const res = await call('GET', '/system/user-info/someone', { headers });
      expect(res.status).toBe(404);
      expect(res.body.error.id).toBe('unknown-resource');
      const create = await call('POST', '/system/create-user', {
        headers,
        body: { username: uniqueUsername(), passwordHash: bcrypt.hashSync('secret123', 4), email: 'x@example.com' },
      });
      expect(create.status).toBe(404);
    }
  });

  it('creates a user from a bcrypt password hash, who can then log in with the password', async () => {
    const username = uniqueUsername('sys');
    const res = await call('POST', '/system/create-user', {
      headers: { authorization: adminKey() },
      body: { username, passwordHash: bcrypt.hashSync('migrated-pw', 4), email: `${username}@example.com`, language: 'de' },
    });
    expect(res.status).toBe(201);
    expect(res.body.username).toBe(username);
    const session = await login({ username, password: 'migrated-pw' });
    expect(session.status).toBe(200);
    expect(session.body.preferredLanguage).toBe('de');
    expect((await login({ username, password: 'other-pw' })).status).toBe(401);

    const dup = await call('POST', '/system/create-user', {
      headers: { authorization: adminKey() },
      body: { username, passwordHash: bcrypt.hashSync('x', 4), email: `${uniqueUsername()}@example.com` },
    });
    expect(dup.status).toBe(409);
    const badHash = await call('POST', '/system/create-user', {
      headers: { authorization: adminKey() },
      body: { username: uniqueUsername(), passwordHash: 'plaintext', email: `${uniqueUsername()}@example.com` },
    });
    expect(badHash.status).toBe(400);
    expect(badHash.body.error.id).toBe('invalid-parameters-format');
  });

  it('reports user info with call counts summed over accesses', async () => {
    const user = await createUser();
    await call('GET', `/${user.username}/account`, { token: user.token });
    await call('GET', `/${user.username}/account`, { token: user.token });
    await call('GET', `/${user.username}/access-info`, { token: user.token });
    const res = await call('GET', `/system/user-info/${user.username}`, { headers: { authorization: adminKey() } });
    expect(res.status).toBe(200);
    expect(res.body.userInfo).toMatchObject({
      username: user.username,
      callsTotal: 3,
      callsDetail: { 'account:get': 2, getAccessInfo: 1 },
      callsPerAccess: { 'test-app-id': 3 },
      storageUsed: { dbDocuments: 0, attachedFiles: 0 },
    });
    expect(res.body.userInfo.lastAccess).toBeGreaterThan(Date.now() / 1000 - 60);
    const unknown = await call('GET', '/system/user-info/nobody-at-all', { headers: { authorization: adminKey() } });
    expect(unknown.status).toBe(404);
  });
});
