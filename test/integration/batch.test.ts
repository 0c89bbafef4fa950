import { beforeAll, describe, expect, it } from 'vitest';
import { insertAccess } from '../setup/accesses';
import { call, createUser, type TestUser, useRuntimeStore } from '../setup/api';

describe('callBatch (spec §2.1)', () => {
  let user: TestUser;
  beforeAll(async () => {
    useRuntimeStore();
    user = await createUser();
  });

  it('runs calls in order and turns each failure into that call’s error', async () => {
    const res = await call('POST', `/${user.username}/`, {
      token: user.token,
      body: [
        { method: 'account.get', params: {} },
        { method: 'no.such.method', params: {} },
        { method: 'account.update', params: { update: { language: 'fr' } } },
        { method: 'account.changePassword', params: { oldPassword: 'wrong-one', newPassword: 'whatever' } },
        { method: 'account.get', params: {} },
        { method: 'auth.login', params: { username: user.username, password: user.password, appId: 'x-app-id' } },
      ],
    });
    expect(res.status).toBe(200);
    const [first, unknown, update, wrongPw, second, loginCall] = res.body.results;
    expect(first.account.language).toBe('en');
    expect(unknown.error.id).toBe('invalid-method');
    expect(update.account.language).toBe('fr');
    expect(wrongPw.error.id).toBe('invalid-operation');
    expect(second.account.language).toBe('fr'); // sees the earlier call's change
    expect(loginCall.error.id).toBe('invalid-method'); // not callable in a batch
    expect(res.body.meta.apiVersion).toBe('1.9.3');
  });

  it('bulk creates: results in call order, a stream created earlier in the batch is usable, a repeated id fails on its second use', async () => {
    const stream = `bulk-${Date.now()}`;
    const calls = [
      { method: 'streams.create', params: { id: stream, name: stream } },
      ...Array.from({ length: 30 }, (_, i) => ({
        method: 'events.create',
        params: { streamIds: [stream], type: 'count/steps', content: i },
      })),
      { method: 'events.create', params: { id: 'ckbulkdupid0000000000001', streamIds: [stream], type: 'note/txt', content: 'first' } },
      { method: 'events.create', params: { id: 'ckbulkdupid0000000000001', streamIds: [stream], type: 'note/txt', content: 'second' } },
      { method: 'events.get', params: { streams: [stream], limit: 1000 } },
    ];
    const res = await call('POST', `/${user.username}/`, { token: user.token, body: calls });
    expect(res.status).toBe(200);
    const results = res.body.results as any[];
    expect(results[0].stream.id).toBe(stream);
    for (let i = 0; i < 30; i++) expect(results[1 + i].event.content, `call ${1 + i}`).toBe(i);
    expect(results[31].event.content).toBe('first');
    expect(results[32].error.id).toBe('item-already-exists');
    // The read at the end sees every creation before it.
    expect(results[33].events).toHaveLength(31);
  });

  it('is reachable with and without the trailing slash', async () => {
    for (const path of [`/${user.username}`, `/${user.username}/`]) {
      const res = await call('POST', path, { token: user.token, body: [{ method: 'getAccessInfo', params: {} }] });
      expect(res.status).toBe(200);
      expect(res.body.results[0].type).toBe('personal');
    }
  });

  it('checks each call against the access type', async () => {
    const app = await insertAccess(user.username, 'app');
    const res = await call('POST', `/${user.username}/`, {
      token: app.token,
      body: [
        { method: 'getAccessInfo', params: {} },
        { method: 'account.get', params: {} },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.results[0].id).toBe(app.id);
    expect(res.body.results[1].error.id).toBe('forbidden');
  });

  it('validates each call’s params like the HTTP route does', async () => {
    const res = await call('POST', `/${user.username}/`, {
      token: user.token,
      body: [{ method: 'account.changePassword', params: { oldPassword: 1 } }],
    });
    expect(res.body.results[0].error.id).toBe('invalid-parameters-format');
  });

  it('counts usage per method inside the batch', async () => {
    const u = await createUser();
    await call('POST', `/${u.username}/`, {
      token: u.token,
      body: [
        { method: 'account.get', params: {} },
        { method: 'account.get', params: {} },
      ],
    });
    const info = await call('GET', `/${u.username}/access-info`, { token: u.token });
    expect(info.body.calls['account:get']).toBe(2);
  });

  it('answers a body that is not an array of calls with 400 invalid-parameters-format', async () => {
    for (const body of [{ method: 'account.get', params: {} }, [{ params: {} }], [{ method: 'account.get', params: {}, extra: 1 }]]) {
      const res = await call('POST', `/${user.username}/`, { token: user.token, body });
      expect(res.status).toBe(400);
      expect(res.body.error.id).toBe('invalid-parameters-format');
    }
  });
});
