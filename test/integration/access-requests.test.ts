import pryv from 'pryv';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AccessRequest } from '../../shared/model/access-requests';
import { createAccessRequest } from '../../shared/store/access-requests';
import { type ApiResponse, apiUrl, call, createUser, expectError, login, type TestUser, useRuntimeStore } from '../setup/api';

/** The access-request ("auth request") flow, spec §2.14, over real HTTP. */

const APP_ID = 'my-great-app';
const PERMISSIONS = [{ streamId: 'diary', level: 'read', defaultName: 'Diary' }];

function expectRegisterError(res: ApiResponse, status: number, id: string): void {
  expect({ status: res.status, id: res.body?.id }, JSON.stringify(res.body)).toEqual({ status, id });
}

async function requestAccess(body: Record<string, unknown> = {}): Promise<ApiResponse> {
  return call('POST', '/reg/access', { body: { requestingAppId: APP_ID, requestedPermissions: PERMISSIONS, ...body } });
}

async function pending(body: Record<string, unknown> = {}): Promise<string> {
  const res = await requestAccess(body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.key as string;
}

const poll = (key: string) => call('GET', `/reg/access/${key}`);
const update = (key: string, body: unknown) => call('POST', `/reg/access/${key}`, { body });

async function personalToken(user: TestUser): Promise<string> {
  const res = await login(user);
  expect(res.status).toBe(200);
  return res.body.token as string;
}

async function accessesOf(user: TestUser): Promise<any[]> {
  const res = await call('GET', `/${user.username}/accesses`, { token: user.token });
  expect(res.status).toBe(200);
  return res.body.accesses;
}

/** The user's own root streams (the account system tree every personal token lists is left out). */
async function streamIdsOf(user: TestUser): Promise<string[]> {
  const res = await call('GET', `/${user.username}/streams`, { token: user.token });
  expect(res.status).toBe(200);
  return (res.body.streams as Array<{ id: string }>)
    .map((s) => s.id)
    .filter((id) => id !== ':_system:account')
    .sort();
}

describe('access requests (POST /reg/access, GET|POST /reg/access/{key})', () => {
  beforeAll(() => useRuntimeStore());

  describe('creating a request', () => {
    it('answers 201 NEED_SIGNIN with the key, the poll URL, the rate and a consent URL on our page', async () => {
      const res = await requestAccess({
        languageCode: 'fr',
        returnURL: 'https://app.example.com/done?',
        clientData: { app: { version: 2 } },
        deviceName: 'phone',
        expireAfter: 3600,
        referer: 'partner',
        oauthState: 'xyz',
      });
      expect(res.status).toBe(201);
      const body = res.body;
      expect(body.status).toBe('NEED_SIGNIN');
      expect(body.code).toBe(201);
      expect(body.key).toMatch(/^[0-9A-Za-z]{16}$/);
      expect(body.poll).toBe(`${apiUrl()}/reg/access/${body.key}`);
      expect(body.poll_rate_ms).toBe(1000);
      expect(body).toMatchObject({
        requestingAppId: APP_ID,
        requestedPermissions: PERMISSIONS,
        lang: 'fr',
        returnURL: 'https://app.example.com/done?',
        clientData: { app: { version: 2 } },
        deviceName: 'phone',
        expireAfter: 3600,
        referer: 'partner',
        oauthState: 'xyz',
      });
      expect(body.serviceInfo.access).toBe(`${apiUrl()}/reg/access/`);
      const authUrl = new URL(body.authUrl);
      expect(`${authUrl.origin}${authUrl.pathname}`).toBe(`${apiUrl()}/access/access.html`);
      expect(authUrl.searchParams.get('key')).toBe(body.key);
      expect(authUrl.searchParams.get('poll')).toBe(body.poll);
      expect(authUrl.searchParams.get('requestingAppId')).toBe(APP_ID);
      expect(authUrl.searchParams.get('lang')).toBe('fr');
      expect(authUrl.searchParams.get('returnURL')).toBe('https://app.example.com/done?');
      expect(body.url).toBe(body.authUrl);
    });

    it('service info points apps here', async () => {
      const res = await call('GET', '/reg/service/info');
      expect(res.body.access).toBe(`${apiUrl()}/reg/access/`);
      // The trailing-slash form the pryv library posts to works too.
      const posted = await call('POST', '/reg/access/', { body: { requestingAppId: APP_ID, requestedPermissions: PERMISSIONS } });
      expect(posted.status).toBe(201);
    });

    it('a trusted authUrl is honoured; an untrusted or malformed one is refused', async () => {
      const own = `${apiUrl()}/access/access.html?theme=dark`;
      const ok = await requestAccess({ authUrl: own });
      expect(ok.status).toBe(201);
      expect(ok.body.authUrl.startsWith(`${apiUrl()}/access/access.html?theme=dark&`)).toBe(true);

      const evil = await requestAccess({ authUrl: 'https://evil.example.com/consent.html' });
      expectRegisterError(evil, 400, 'UNTRUSTED_AUTH_URL');
      expectRegisterError(await requestAccess({ authUrl: 'not a url' }), 400, 'INVALID_AUTH_URL');
      expectRegisterError(await requestAccess({ authUrl: 'javascript:alert(1)' }), 400, 'INVALID_AUTH_URL');
    });

    it('refuses bad app ids, languages and optional fields with the register errors', async () => {
      expectRegisterError(await requestAccess({ requestingAppId: 'abc' }), 400, 'INVALID_APP_ID');
      expectRegisterError(await requestAccess({ requestingAppId: '   abc   ' }), 400, 'INVALID_APP_ID');
      expectRegisterError(await requestAccess({ requestingAppId: 'x'.repeat(100) }), 400, 'INVALID_APP_ID');
      expectRegisterError(await requestAccess({ requestingAppId: undefined }), 400, 'INVALID_APP_ID');
      expectRegisterError(await requestAccess({ languageCode: 'english' }), 400, 'INVALID_LANGUAGE');
      expectRegisterError(await requestAccess({ deviceName: 42 }), 400, 'INVALID_DEVICE_NAME');
      expectRegisterError(await requestAccess({ expireAfter: -1 }), 400, 'INVALID_EXPIRE_AFTER');
      expectRegisterError(await requestAccess({ expireAfter: '10' }), 400, 'INVALID_EXPIRE_AFTER');
      expectRegisterError(await requestAccess({ referer: {} }), 400, 'INVALID_REFERER');
      expectRegisterError(await requestAccess({ clientData: [1] }), 400, 'INVALID_DATA');
      expectRegisterError(await requestAccess({ returnURL: 'javascript:alert(1)//' }), 400, 'INVALID_DATA');
      expectRegisterError(await requestAccess({ returnURL: 'relative/path' }), 400, 'INVALID_DATA');
      expectRegisterError(await call('POST', '/reg/access', { body: [1, 2] }), 400, 'INVALID_DATA');
      // Too large to keep (DynamoDB items hold 400 KB): refused, not a 500.
      expectRegisterError(await requestAccess({ clientData: { blob: 'x'.repeat(70 * 1024) } }), 400, 'INVALID_DATA');
      // legacy `returnURL: false` means "no redirect"
      const legacy = await requestAccess({ returnURL: false });
      expect(legacy.status).toBe(201);
      expect(legacy.body.returnURL).toBe(false);
    });

    it('refuses malformed permissions', async () => {
      const cases: unknown[] = [
        'read everything',
        [{ streamId: 'diary', level: 'read' }], // no defaultName
        [{ streamId: 'diary', level: 'admin', defaultName: 'Diary' }],
        [{ streamId: '', level: 'read', defaultName: 'Diary' }],
        [{ streamId: 'a"b', level: 'read', defaultName: 'Diary' }],
        [{ level: 'read', defaultName: 'Diary' }],
        ['diary'],
        [{ streamId: 'diary', level: 'read', defaultName: 'Diary', extra: true }],
        [{ feature: 'selfRevoke', setting: 'maybe' }],
      ];
      for (const requestedPermissions of cases) {
        expectRegisterError(await requestAccess({ requestedPermissions }), 400, 'INVALID_DATA');
      }
      const star = await requestAccess({
        requestedPermissions: [
          { streamId: '*', level: 'read' },
          { feature: 'selfRevoke', setting: 'forbidden' },
        ],
      });
      expect(star.status).toBe(201);
    });
  });

  describe('polling', () => {
    it('a pending request polls as 201 NEED_SIGNIN with the same key and permissions', async () => {
      const key = await pending();
      const res = await poll(key);
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ status: 'NEED_SIGNIN', key, requestedPermissions: PERMISSIONS, requestingAppId: APP_ID });
    });

    it('unknown, malformed and expired keys → 400 INVALID_KEY', async () => {
      expectRegisterError(await poll('AAAAAAAAAAAAAAAA'), 400, 'INVALID_KEY');
      expectRegisterError(await poll('short'), 400, 'INVALID_KEY');
      expectRegisterError(await poll('has-dashes-0123456'), 400, 'INVALID_KEY');
      // An expired item that DynamoDB's TTL has not removed yet.
      const now = Date.now() / 1000;
      const expired: AccessRequest = {
        key: `Expired${Math.random().toString(36).slice(2, 11)}`.replace(/[^A-Za-z0-9]/g, 'x'),
        status: 'NEED_SIGNIN',
        requestingAppId: APP_ID,
        requestedPermissions: PERMISSIONS as AccessRequest['requestedPermissions'],
        lang: 'en',
        returnURL: null,
        authBase: `${apiUrl()}/access/access.html`,
        created: now - 7200,
        expires: now - 3600,
      };
      expect(await createAccessRequest(expired)).toBe(true);
      expectRegisterError(await poll(expired.key), 400, 'INVALID_KEY');
      const user = await createUser();
      const token = await personalToken(user);
      expectRegisterError(await update(expired.key, { status: 'ACCEPTED', username: user.username, token }), 400, 'INVALID_KEY');
      expectRegisterError(await update('AAAAAAAAAAAAAAAA', { status: 'REFUSED' }), 400, 'INVALID_KEY');
      expect((await accessesOf(user)).map((a) => a.type)).toEqual(['personal']);
    });
  });

  describe('accepting', () => {
    it('with a personal token: creates the app access and the missing stream, the poll gives a token that reads only it', async () => {
      const user = await createUser();
      await call('POST', `/${user.username}/streams`, { token: user.token, body: { id: 'other', name: 'Other' } });
      await call('POST', `/${user.username}/events`, {
        token: user.token,
        body: { streamIds: ['other'], type: 'note/txt', content: 'secret' },
      });
      const key = await pending({ deviceName: 'phone', clientData: { v: 1 }, expireAfter: 600 });
      const token = await personalToken(user);

      const accepted = await update(key, { status: 'ACCEPTED', username: user.username, token });
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
      expect(accepted.body.status).toBe('ACCEPTED');

      const polled = await poll(key);
      expect(polled.status).toBe(200);
      expect(polled.body).toMatchObject({ status: 'ACCEPTED', code: 200, username: user.username });
      const appToken = polled.body.token as string;
      expect(appToken).not.toBe(token);
      expect(polled.body.apiEndpoint).toBe(`${apiUrl().replace('://', `://${appToken}@`)}/${user.username}/`);
      expect(polled.body.serviceInfo.api).toBeDefined();

      const streams = await streamIdsOf(user);
      expect(streams).toEqual(['diary', 'other']);
      const diary = await call('GET', `/${user.username}/streams`, { token: user.token });
      expect(diary.body.streams.find((s: any) => s.id === 'diary').name).toBe('Diary');

      const app = (await accessesOf(user)).find((a) => a.type === 'app');
      expect(app).toMatchObject({
        name: APP_ID,
        deviceName: 'phone',
        clientData: { v: 1 },
        permissions: [{ streamId: 'diary', level: 'read' }],
      });
      expect(app.expires).toBeGreaterThan(Date.now() / 1000 + 500);

      // The granted token reads diary and nothing else.
      const write = await call('POST', `/${user.username}/events`, {
        token: user.token,
        body: { streamIds: ['diary'], type: 'note/txt', content: 'hello' },
      });
      expect(write.status).toBe(201);
      const read = await call('GET', `/${user.username}/events?streams=diary`, { token: appToken });
      expect(read.status).toBe(200);
      expect(read.body.events.map((e: any) => e.content)).toEqual(['hello']);
      const all = await call('GET', `/${user.username}/events`, { token: appToken });
      expect(all.body.events.map((e: any) => e.content)).toEqual(['hello']);
      expectError(await call('GET', `/${user.username}/events?streams=other`, { token: appToken }), 403, 'forbidden');
      expectError(
        await call('POST', `/${user.username}/events`, { token: appToken, body: { streamIds: ['diary'], type: 'note/txt', content: 'x' } }),
        403,
        'forbidden',
      );
    });

    it('reuses a matching existing app access instead of creating another', async () => {
      const user = await createUser();
      const token = await personalToken(user);
      const first = await pending();
      const a = await update(first, { status: 'ACCEPTED', username: user.username, token });
      const second = await pending();
      const b = await update(second, { status: 'ACCEPTED', username: user.username, token });
      expect(b.status).toBe(200);
      expect(b.body.token).toBe(a.body.token);
      expect((await accessesOf(user)).filter((x) => x.type === 'app')).toHaveLength(1);
    });

    it('replaces the app access when the permissions changed; a root name clash gets a free name', async () => {
      const user = await createUser();
      const token = await personalToken(user);
      const first = await update(await pending(), { status: 'ACCEPTED', username: user.username, token });
      // A root stream named like the next request's defaultName, under another id.
      await call('POST', `/${user.username}/streams`, { token: user.token, body: { id: 'notes-old', name: 'Notes' } });
      const key = await pending({
        requestedPermissions: [...PERMISSIONS, { streamId: 'notes', level: 'contribute', defaultName: 'Notes' }],
      });
      const second = await update(key, { status: 'ACCEPTED', username: user.username, token });
      expect(second.status, JSON.stringify(second.body)).toBe(200);
      expect(second.body.token).not.toBe(first.body.token);
      const apps = (await accessesOf(user)).filter((x) => x.type === 'app');
      expect(apps).toHaveLength(1);
      expect(apps[0].permissions).toHaveLength(2);
      const streams = await call('GET', `/${user.username}/streams`, { token: user.token });
      expect(streams.body.streams.find((s: any) => s.id === 'notes').name).toBe('Notes (1)');
      // The old token is gone.
      expectError(await call('GET', `/${user.username}/access-info`, { token: first.body.token }), 403, 'invalid-access-token');
    });

    it('with the app access made for this request (Pryv consent app style): stored as is', async () => {
      const user = await createUser();
      const created = await call('POST', `/${user.username}/accesses`, {
        token: user.token,
        body: { type: 'app', name: APP_ID, permissions: PERMISSIONS },
      });
      expect(created.status).toBe(201);
      const key = await pending();
      const res = await update(key, { status: 'ACCEPTED', username: user.username, token: created.body.access.token });
      expect(res.status).toBe(200);
      expect(res.body.token).toBe(created.body.access.token);
      expect((await accessesOf(user)).filter((x) => x.type === 'app')).toHaveLength(1);
    });

    it('refuses foreign, wrong, shared and other-app tokens, changing nothing', async () => {
      const alice = await createUser();
      const bob = await createUser();
      const bobToken = await personalToken(bob);
      const key = await pending();
      // Bob's token, claiming to be Alice.
      expectError(await update(key, { status: 'ACCEPTED', username: alice.username, token: bobToken }), 403, 'invalid-access-token');
      expectError(
        await update(key, { status: 'ACCEPTED', username: alice.username, token: 'cnotatoken0000000000000' }),
        403,
        'invalid-access-token',
      );
      expectError(await update(key, { status: 'ACCEPTED', username: 'nobody-here', token: bobToken }), 403, 'invalid-access-token');
      const shared = await call('POST', `/${alice.username}/accesses`, { token: alice.token, body: { name: 'share', permissions: [] } });
      expectError(await update(key, { status: 'ACCEPTED', username: alice.username, token: shared.body.access.token }), 403, 'forbidden');
      const otherApp = await call('POST', `/${alice.username}/accesses`, {
        token: alice.token,
        body: { type: 'app', name: 'another-app', permissions: [] },
      });
      expectError(await update(key, { status: 'ACCEPTED', username: alice.username, token: otherApp.body.access.token }), 403, 'forbidden');
      expectRegisterError(await update(key, { status: 'ACCEPTED', username: 'Not Valid', token: bobToken }), 400, 'INVALID_USER_NAME');
      expectRegisterError(await update(key, { status: 'ACCEPTED', username: alice.username, token: 'x'.repeat(300) }), 400, 'INVALID_DATA');

      expect((await poll(key)).body.status).toBe('NEED_SIGNIN');
      expect(await streamIdsOf(alice)).toEqual([]);
      expect((await accessesOf(alice)).map((a) => a.name).sort()).toEqual(['another-app', 'share', 'test-app-id']);
    });

    it('an expired login session cannot accept', async () => {
      const user = await createUser();
      const token = await personalToken(user);
      await call('POST', `/${user.username}/auth/logout`, { token });
      const key = await pending();
      expectError(await update(key, { status: 'ACCEPTED', username: user.username, token }), 403, 'invalid-access-token');
      expect((await poll(key)).body.status).toBe('NEED_SIGNIN');
    });

    it('a requested stream id that cannot be created fails the accept with the API error and keeps the request pending', async () => {
      const user = await createUser();
      const token = await personalToken(user);
      const key = await pending({ requestedPermissions: [{ streamId: 'Upper_Case', level: 'read', defaultName: 'Up' }] });
      const res = await update(key, { status: 'ACCEPTED', username: user.username, token });
      expectError(res, 400, 'invalid-request-structure');
      expect((await poll(key)).body.status).toBe('NEED_SIGNIN');
      expect((await accessesOf(user)).filter((x) => x.type === 'app')).toHaveLength(0);
    });
  });

  describe('refusing and errors', () => {
    it('REFUSED: 403 on poll with the reason, nothing created', async () => {
      const user = await createUser();
      const key = await pending();
      const res = await update(key, { status: 'REFUSED', reasonID: 'REFUSED_BY_USER', message: 'No thanks.' });
      expect(res.status).toBe(403);
      const polled = await poll(key);
      expect(polled.status).toBe(403);
      expect(polled.body).toMatchObject({ status: 'REFUSED', code: 403, reasonID: 'REFUSED_BY_USER', message: 'No thanks.' });
      expect(polled.body.token).toBeUndefined();
      expect(await streamIdsOf(user)).toEqual([]);
      expect((await accessesOf(user)).filter((x) => x.type === 'app')).toHaveLength(0);
    });

    it('REFUSED without a reason gets REASON_UNDEFINED', async () => {
      const key = await pending();
      await update(key, { status: 'REFUSED' });
      expect((await poll(key)).body.reasonID).toBe('REASON_UNDEFINED');
    });

    it('ERROR and unknown statuses store ERROR', async () => {
      const key = await pending();
      const res = await update(key, { status: 'ERROR', id: 'PAGE_CRASHED', message: 'oops', detail: 'd' });
      expect(res.status).toBe(403);
      expect((await poll(key)).body).toMatchObject({ status: 'ERROR', id: 'PAGE_CRASHED', message: 'oops', detail: 'd' });
      const other = await pending();
      await update(other, { status: 'WHATEVER' });
      expect((await poll(other)).body).toMatchObject({ status: 'ERROR', id: 'INTERNAL_ERROR', message: 'Unknown status code' });
    });

    it('an answered request cannot be answered again (no overwrite of an accepted token)', async () => {
      const user = await createUser();
      const token = await personalToken(user);
      const key = await pending();
      const accepted = await update(key, { status: 'ACCEPTED', username: user.username, token });
      expectRegisterError(await update(key, { status: 'REFUSED' }), 400, 'INVALID_DATA');
      expectRegisterError(await update(key, { status: 'ACCEPTED', username: user.username, token }), 400, 'INVALID_DATA');
      expect((await poll(key)).body.token).toBe(accepted.body.token);
      const refused = await pending();
      await update(refused, { status: 'REFUSED' });
      expectRegisterError(await update(refused, { status: 'ACCEPTED', username: user.username, token }), 400, 'INVALID_DATA');
      expect((await poll(refused)).body.status).toBe('REFUSED');
    });

    it('a malformed answer body → INVALID_DATA', async () => {
      const key = await pending();
      expectRegisterError(await update(key, 'ACCEPTED'), 400, 'INVALID_DATA');
      expectRegisterError(await update(key, { status: 'REFUSED', message: { html: '<b>' } }), 400, 'INVALID_DATA');
      expect((await poll(key)).body.status).toBe('NEED_SIGNIN');
    });
  });

  it('the official pryv client drives the flow: startAccessRequest, then polling until ACCEPTED', async () => {
    const service: any = new pryv.Service(`${apiUrl()}/reg/service/info`);
    const started = await service.startAccessRequest({ requestingAppId: APP_ID, requestedPermissions: PERMISSIONS });
    expect(started.poll).toBe(`${apiUrl()}/reg/access/${started.key}`);
    expect(started.pollRateMs).toBe(1000);
    const user = await createUser();
    const token = await personalToken(user);
    await update(started.key, { status: 'ACCEPTED', username: user.username, token });
    const result = await service.pollAccessRequest(started.poll);
    expect(result.status).toBe('ACCEPTED');
    const connection = new pryv.Connection(result.apiEndpoint);
    const info = await connection.accessInfo();
    expect(info).toMatchObject({ type: 'app', name: APP_ID });
  });
});
