import { beforeAll, describe, expect, it } from 'vitest';
import { insertAccess } from '../setup/accesses';
import { call, createUser, login, TEST_APP_ID, type TestUser, uniqueUsername, useRuntimeStore } from '../setup/api';

describe('account (spec §2.8)', () => {
  let user: TestUser;
  beforeAll(async () => {
    useRuntimeStore();
    user = await createUser();
  });

  it('account.get answers username, email, language and storageUsed', async () => {
    const res = await call('GET', `/${user.username}/account`, { token: user.token });
    expect(res.status).toBe(200);
    expect(res.body.account).toEqual({
      username: user.username,
      email: user.email,
      language: 'en',
      storageUsed: { dbDocuments: 0, attachedFiles: 0 },
    });
  });

  it('account.update changes email and language, and frees the old email', async () => {
    const u = await createUser();
    const newEmail = `${uniqueUsername('new')}@example.com`;
    const res = await call('PUT', `/${u.username}/account`, { token: u.token, body: { email: newEmail, language: 'de' } });
    expect(res.status).toBe(200);
    expect(res.body.account).toMatchObject({ email: newEmail, language: 'de' });
    expect((await call('GET', `/reg/${newEmail}/username`)).body.username).toBe(u.username);
    expect((await call('GET', `/reg/${u.email}/username`)).status).toBe(404);
    // Someone else may now register with the old email.
    const reuse = await createUser({ email: u.email });
    expect(reuse.username).toBeTruthy();
  });

  it('account.update refuses a taken email with 409 and changes nothing', async () => {
    const a = await createUser();
    const b = await createUser();
    const res = await call('PUT', `/${a.username}/account`, { token: a.token, body: { email: b.email, language: 'it' } });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ id: 'item-already-exists', data: { email: b.email } });
    const after = await call('GET', `/${a.username}/account`, { token: a.token });
    expect(after.body.account).toMatchObject({ email: a.email, language: 'en' });
  });

  it('account.update refuses non-editable fields with 400 invalid-operation and bad values with 400', async () => {
    const res = await call('PUT', `/${user.username}/account`, { token: user.token, body: { username: 'someone-else', language: 'fr' } });
    expect(res.status).toBe(400);
    expect(res.body.error.id).toBe('invalid-operation');
    const bad = await call('PUT', `/${user.username}/account`, { token: user.token, body: { email: 'not an email' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.id).toBe('invalid-parameters-format');
    const after = await call('GET', `/${user.username}/account`, { token: user.token });
    expect(after.body.account.language).toBe('en');
  });

  it('account.changePassword: wrong old password → 400 invalid-operation; then the new one logs in, the old one not', async () => {
    const u = await createUser();
    const wrong = await call('POST', `/${u.username}/account/change-password`, {
      token: u.token,
      body: { oldPassword: 'not-it', newPassword: 'brand-new-pw' },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toMatchObject({ id: 'invalid-operation', message: 'The given password does not match.' });
    const short = await call('POST', `/${u.username}/account/change-password`, {
      token: u.token,
      body: { oldPassword: u.password, newPassword: '123' },
    });
    expect(short.status).toBe(400);
    expect(short.body.error.id).toBe('invalid-parameters-format');
    const ok = await call('POST', `/${u.username}/account/change-password`, {
      token: u.token,
      body: { oldPassword: u.password, newPassword: 'brand-new-pw' },
    });
    expect(ok.status).toBe(200);
    expect((await login({ username: u.username, password: u.password })).status).toBe(401);
    expect((await login({ username: u.username, password: 'brand-new-pw' })).status).toBe(200);
  });

  it('is personal only: app and shared accesses get 403 forbidden and change nothing', async () => {
    const u = await createUser();
    for (const type of ['app', 'shared'] as const) {
      const access = await insertAccess(u.username, type);
      const get = await call('GET', `/${u.username}/account`, { token: access.token });
      expect(get.status).toBe(403);
      expect(get.body.error.id).toBe('forbidden');
      const put = await call('PUT', `/${u.username}/account`, { token: access.token, body: { language: 'xx' } });
      expect(put.status).toBe(403);
      const pw = await call('POST', `/${u.username}/account/change-password`, {
        token: access.token,
        body: { oldPassword: u.password, newPassword: 'hijacked-pw' },
      });
      expect(pw.status).toBe(403);
    }
    expect((await call('GET', `/${u.username}/account`, { token: u.token })).body.account.language).toBe('en');
    expect((await login({ username: u.username, password: u.password }, TEST_APP_ID)).status).toBe(200);
  });

  it('app and shared accesses may read their own access info, expired ones get 403 forbidden', async () => {
    const u = await createUser();
    const app = await insertAccess(u.username, 'app', { deviceName: 'phone' });
    const info = await call('GET', `/${u.username}/access-info`, { token: app.token });
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({ id: app.id, type: 'app', deviceName: 'phone', permissions: app.permissions });
    const expired = await insertAccess(u.username, 'shared', { expires: Date.now() / 1000 - 10 });
    const res = await call('GET', `/${u.username}/access-info`, { token: expired.token });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ id: 'forbidden', message: 'Access has expired.' });
  });
});
