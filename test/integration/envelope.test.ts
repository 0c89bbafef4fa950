import { beforeAll, describe, expect, it } from 'vitest';
import { apiUrl, call, createUser, type TestUser } from '../setup/api';

function expectMeta(body: any): void {
  expect(body.meta).toEqual({ apiVersion: '1.9.3', serverTime: expect.any(Number), serial: expect.any(String) });
  expect(Math.abs(body.meta.serverTime - Date.now() / 1000)).toBeLessThan(60);
}

describe('the Pryv envelope (spec §1)', () => {
  let user: TestUser;
  beforeAll(async () => {
    user = await createUser();
  });

  it('puts meta and API-Version on successes and on errors', async () => {
    const ok = await call('GET', `/${user.username}/access-info`, { token: user.token });
    expect(ok.status).toBe(200);
    expectMeta(ok.body);
    expect(ok.headers.get('api-version')).toBe('1.9.3');
    expect(ok.headers.get('pryv-access-id')).toBe(ok.body.id);

    const bad = await call('GET', `/${user.username}/access-info`, { token: 'not-a-token' });
    expect(bad.status).toBe(403);
    expectMeta(bad.body);
    expect(bad.headers.get('api-version')).toBe('1.9.3');
    expect(bad.body.error.id).toBe('invalid-access-token');
  });

  it('answers CORS the way Pryv does: echo the origin and what the browser asked for', async () => {
    const res = await call('GET', '/reg/service/info', { headers: { origin: 'https://app.example.org' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.org');
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(res.headers.get('access-control-expose-headers')).toBe('API-Version');
    expect(res.headers.get('access-control-max-age')).toBe('31536000');
    expect(res.headers.get('access-control-allow-methods')).toBe('POST, GET, PUT, DELETE, OPTIONS');

    const noOrigin = await call('GET', '/reg/service/info');
    expect(noOrigin.headers.get('access-control-allow-origin')).toBe('*');

    const preflight = await call('OPTIONS', `/${user.username}/events`, {
      headers: {
        origin: 'https://app.example.org',
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'authorization, x-custom',
      },
    });
    expect(preflight.status).toBe(200);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example.org');
    expect(preflight.headers.get('access-control-allow-methods')).toBe('PUT');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('authorization, x-custom');
  });

  it('reads the token from Authorization (raw, Bearer, Basic) or ?auth=', async () => {
    const path = `/${user.username}/access-info`;
    const raw = await call('GET', path, { token: user.token });
    const bearer = await call('GET', path, { headers: { authorization: `Bearer ${user.token}` } });
    const basic = await call('GET', path, {
      headers: { authorization: `Basic ${Buffer.from(`${user.token}:`).toString('base64')}` },
    });
    const query = await call('GET', `${path}?auth=${user.token}`);
    for (const res of [raw, bearer, basic, query]) {
      expect(res.status).toBe(200);
      expect(res.body.token).toBe(user.token);
    }
    // "{token} {callerId}": the token is the part before the first space.
    const withCaller = await call('GET', path, { headers: { authorization: `${user.token} my-device` } });
    expect(withCaller.status).toBe(200);
    expect(withCaller.body.token).toBe(user.token);
  });

  it('says 401 when no token is given and 403 for an unknown one', async () => {
    const none = await call('GET', `/${user.username}/access-info`);
    expect(none.status).toBe(401);
    expect(none.body.error.id).toBe('invalid-access-token');
    const unknown = await call('GET', `/${user.username}/access-info`, { token: 'cunknowntoken000000000000' });
    expect(unknown.status).toBe(403);
    expect(unknown.body.error.id).toBe('invalid-access-token');
  });

  it('never lets one user token reach another user', async () => {
    const other = await createUser();
    const res = await call('GET', `/${other.username}/access-info`, { token: user.token });
    expect(res.status).toBe(403);
    expect(res.body.error.id).toBe('invalid-access-token');
    const account = await call('GET', `/${other.username}/account`, { token: user.token });
    expect(account.status).toBe(403);
    expect(JSON.stringify(account.body)).not.toContain(other.email);
  });

  it('answers unknown users with 404 unknown-resource, token or not', async () => {
    for (const token of [undefined, user.token]) {
      const res = await call('GET', '/nobody-here-42/access-info', { token });
      expect(res.status).toBe(404);
      expect(res.body.error.id).toBe('unknown-resource');
      expectMeta(res.body);
    }
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await call('GET', '/this/route/does/not/exist');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.body.error.id).toBe('unknown-resource');
    expectMeta(res.body);
  });

  it('answers malformed JSON with 400 invalid-request-structure', async () => {
    const res = await call('POST', '/users', { rawBody: '{"username": ', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body.error.id).toBe('invalid-request-structure');
    expectMeta(res.body);
  });

  it('greets on / and on a user root', async () => {
    const root = await call('GET', '/');
    expect(root.status).toBe(200);
    expect(root.body.cheersFrom).toBe('Pryv API');
    const userRoot = await call('GET', `/${user.username}/`);
    expect(userRoot.status).toBe(200);
    expect(userRoot.body.cheersFrom).toBe('Pryv API');
  });

  it('serves service info at /service/info, /reg/service/info and /{username}/service/info', async () => {
    const bodies = [];
    for (const path of ['/service/info', '/reg/service/info', `/${user.username}/service/info`, '/service/infos']) {
      const res = await call('GET', path);
      expect(res.status).toBe(200);
      bodies.push(res.body);
    }
    const info = bodies[0];
    expect(info.api).toBe(`${apiUrl()}/{username}/`);
    expect(info.register).toBe(`${apiUrl()}/reg/`);
    expect(info.access).toBe(`${apiUrl()}/reg/access/`);
    for (const field of ['name', 'home', 'support', 'terms', 'eventTypes', 'serial', 'version']) {
      expect(typeof info[field]).toBe('string');
    }
    for (const body of bodies) expect(body.api).toBe(info.api);
    const unknown = await call('GET', '/nobody-here-42/service/info');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.id).toBe('unknown-resource');
  });
});
