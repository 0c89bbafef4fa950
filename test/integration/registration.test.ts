import { describe, expect, it } from 'vitest';
import { apiUrl, call, createUser, login, TEST_APP_ID, uniqueUsername } from '../setup/api';

const register = (body: unknown, path = '/users') => call('POST', path, { body });

describe('registration (spec §2.15)', () => {
  it('creates a user and answers 201 with an apiEndpoint holding a working personal token', async () => {
    const username = uniqueUsername();
    const res = await register({ username, password: 'secret123', email: `${username}@example.com`, appId: TEST_APP_ID });
    expect(res.status).toBe(201);
    expect(res.body.username).toBe(username);
    const endpoint = new URL(res.body.apiEndpoint);
    expect(endpoint.pathname).toBe(`/${username}/`);
    expect(`${endpoint.protocol}//${endpoint.host}`).toBe(apiUrl());
    const info = await call('GET', `/${username}/access-info`, { token: endpoint.username });
    expect(info.status).toBe(200);
    expect(info.body.type).toBe('personal');
    expect(info.body.name).toBe(TEST_APP_ID);
    expect(info.body.user).toEqual({ username });
  });

  it('serves POST /reg/users (the pryv library) tolerating `hosting`, and legacy POST /reg/user with `appid`', async () => {
    const a = uniqueUsername();
    const viaReg = await register(
      {
        username: a,
        password: 'secret123',
        email: `${a}@example.com`,
        appId: TEST_APP_ID,
        hosting: 'default',
        invitationToken: 'enjoy',
        language: 'fr',
      },
      '/reg/users',
    );
    expect(viaReg.status).toBe(201);
    const b = uniqueUsername();
    const legacy = await register({ username: b, password: 'secret123', email: `${b}@example.com`, appid: TEST_APP_ID }, '/reg/user');
    expect(legacy.status).toBe(201);
    const token = new URL(legacy.body.apiEndpoint).username;
    const info = await call('GET', `/${b}/access-info`, { token });
    expect(info.body.name).toBe(TEST_APP_ID);
    const account = await call('GET', `/${a}/account`, { token: new URL(viaReg.body.apiEndpoint).username });
    expect(account.body.account.language).toBe('fr');
  });

  it('reports every bad field with Pryv codes and writes nothing', async () => {
    const username = 'Bad_Name';
    const res = await register({ username, password: '123', email: 'not-an-email', appId: 'abc', language: 'toolong' });
    expect(res.status).toBe(400);
    expect(res.body.error.id).toBe('invalid-parameters-format');
    const codes = res.body.error.data.map((d: any) => d.code).sort();
    expect(codes).toEqual(['appid-invalid', 'email-invalid', 'language-invalid', 'password-invalid', 'username-invalid']);
    expect(res.body.error.data.find((d: any) => d.code === 'email-invalid').param).toBe('email');

    const missing = await register({});
    expect(missing.status).toBe(400);
    expect(missing.body.error.data.map((d: any) => d.code)).toEqual(
      expect.arrayContaining(['username-required', 'password-required', 'email-required']),
    );

    // Valid username but one bad field: the username stays free.
    const name = uniqueUsername();
    const partial = await register({ username: name, password: 'secret123', email: 'nope', appId: TEST_APP_ID });
    expect(partial.status).toBe(400);
    const check = await call('GET', `/reg/${name}/check_username`);
    expect(check.body.reserved).toBe(false);
  });

  it('answers non-object bodies with a 4xx, not a 500', async () => {
    for (const body of [[1, 2], 'text', 42, null]) {
      const res = await register(body);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
  });

  it('refuses a taken username or email with 409 item-already-exists naming every clash', async () => {
    const user = await createUser();
    const both = await register({ username: user.username, password: 'secret123', email: user.email.toUpperCase(), appId: TEST_APP_ID });
    expect(both.status).toBe(409);
    expect(both.body.error.id).toBe('item-already-exists');
    expect(Object.keys(both.body.error.data).sort()).toEqual(['email', 'username']);

    const other = uniqueUsername();
    const emailOnly = await register({ username: other, password: 'secret123', email: user.email, appId: TEST_APP_ID });
    expect(emailOnly.status).toBe(409);
    expect(emailOnly.body.error.data).toEqual({ email: user.email });
    // The loser wrote nothing: its username is still free.
    expect((await call('GET', `/reg/${other}/check_username`)).body.reserved).toBe(false);
  });

  it('lets exactly one of several concurrent registrations of one username win', async () => {
    const username = uniqueUsername('race');
    const attempts = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        register({ username, password: 'secret123', email: `${username}-${i}@example.com`, appId: TEST_APP_ID }),
      ),
    );
    const statuses = attempts.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409]);
    for (const loser of attempts.filter((r) => r.status === 409)) {
      expect(loser.body.error.id).toBe('item-already-exists');
      expect(loser.body.error.data.username).toBe(username);
    }
    // Only the winner's email was claimed.
    const winner = attempts.findIndex((r) => r.status === 201);
    for (let i = 0; i < attempts.length; i++) {
      const owner = await call('GET', `/reg/${username}-${i}@example.com/username`);
      expect(owner.status).toBe(i === winner ? 200 : 404);
    }
  });

  it('lets exactly one of several concurrent registrations of one email win', async () => {
    const email = `${uniqueUsername('mail')}@example.com`;
    const usernames = Array.from({ length: 5 }, () => uniqueUsername('race'));
    const attempts = await Promise.all(
      usernames.map((username) => register({ username, password: 'secret123', email, appId: TEST_APP_ID })),
    );
    expect(attempts.filter((r) => r.status === 201)).toHaveLength(1);
    for (const [i, attempt] of attempts.entries()) {
      const taken = (await call('GET', `/reg/${usernames[i]}/check_username`)).body.reserved;
      if (attempt.status === 201) {
        expect(taken).toBe(true);
        continue;
      }
      expect(attempt.status).toBe(409);
      expect(attempt.body.error.data).toEqual({ email });
      expect(taken).toBe(false); // the loser's account was not half-created
    }
  });

  it('stores the password hashed: the password logs in, others do not', async () => {
    const user = await createUser({ password: 'correct horse' });
    expect((await login(user)).status).toBe(200);
    expect((await login({ ...user, password: 'wrong horse' })).status).toBe(401);
  });
});

describe('register checks and lookups (spec §2.15)', () => {
  it('check_username: reserved for taken names, free otherwise, 400 for bad format', async () => {
    const user = await createUser();
    expect((await call('GET', `/reg/${user.username}/check_username`)).body).toMatchObject({ reserved: true });
    expect((await call('GET', `/reg/${uniqueUsername()}/check_username`)).body).toMatchObject({ reserved: false });
    const bad = await call('GET', '/reg/NO/check_username');
    expect(bad.status).toBe(400);
    expect(bad.body.error.id).toBe('invalid-parameters-format');
    expect(bad.body.error.data[0].code).toBe('username-invalid');
  });

  it('check_email: free → reserved:false, taken → 409', async () => {
    const user = await createUser();
    const free = await call('GET', `/reg/${uniqueUsername()}@example.com/check_email`);
    expect(free.status).toBe(200);
    expect(free.body.reserved).toBe(false);
    const taken = await call('GET', `/reg/${user.email}/check_email`);
    expect(taken.status).toBe(409);
    expect(taken.body.error.id).toBe('item-already-exists');
  });

  it('{email}/username and {email}/uid find the user; unknown → 404 UNKNOWN_EMAIL', async () => {
    const user = await createUser();
    expect((await call('GET', `/reg/${encodeURIComponent(user.email)}/username`)).body.username).toBe(user.username);
    expect((await call('GET', `/reg/${user.email}/uid`)).body.uid).toBe(user.username);
    const unknown = await call('GET', '/reg/nobody@nowhere.example/username');
    expect(unknown.status).toBe(404);
    expect(unknown.body.id).toBe('UNKNOWN_EMAIL');
    expect((await call('GET', '/reg/nobody@nowhere.example/uid')).status).toBe(404);
  });

  it('{username}/server: POST answers JSON, GET redirects, unknown → 404', async () => {
    const user = await createUser();
    const post = await call('POST', `/reg/${user.username}/server`);
    expect(post.status).toBe(200);
    expect(post.body.server).toBe(`${apiUrl()}/`);
    const get = await call('GET', `/reg/${user.username}/server`);
    expect(get.status).toBe(302);
    expect(get.headers.get('location')).toBe(`${apiUrl()}/${user.username}/`);
    const unknown = await call('POST', `/reg/${uniqueUsername()}/server`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.id).toBe('unknown-user');
  });

  it('hostings: one available default hosting on this node; cores: this node', async () => {
    const res = await call('GET', '/reg/hostings');
    expect(res.status).toBe(200);
    const hostings = Object.values(res.body.regions).flatMap((r: any) =>
      Object.values(r.zones).flatMap((z: any) => Object.entries(z.hostings)),
    ) as Array<[string, any]>;
    expect(hostings).toHaveLength(1);
    expect(hostings[0]![0]).toBe('default');
    expect(hostings[0]![1].available).toBe(true);
    expect(hostings[0]![1].availableCore).toBe(`${apiUrl()}/`);

    expect((await call('GET', '/reg/cores?username=someone')).body.core.url).toBe(`${apiUrl()}/`);
    expect((await call('GET', '/reg/cores')).status).toBe(400);
    expect((await call('GET', '/reg/cores?username=a&email=b@c.de')).status).toBe(400);
  });
});
