import { beforeAll, describe, expect, it } from 'vitest';
import { call, createUser, expectError, type TestUser, useRuntimeStore } from '../setup/api';

/** Audit log (spec §2.10): what is recorded, who reads what, as logs and as `:_audit:` events. */

const UA = 'audit-test-agent/1.0';

describe('audit log', () => {
  let user: TestUser;
  let app: { id: string; token: string };
  let shared: { id: string; token: string };

  beforeAll(async () => {
    useRuntimeStore();
    user = await createUser();
    const t = user.token;
    const u = user.username;
    expect((await call('POST', `/${u}/streams`, { token: t, body: { id: 'health', name: 'Health' } })).status).toBe(201);
    const a = await call('POST', `/${u}/accesses`, {
      token: t,
      body: { type: 'app', name: 'audit-app', permissions: [{ streamId: '*', level: 'manage' }] },
    });
    expect(a.status).toBe(201);
    app = { id: a.body.access.id, token: a.body.access.token };
    const s = await call('POST', `/${u}/accesses`, {
      token: t,
      body: { name: 'doctor', permissions: [{ streamId: 'health', level: 'read' }] },
    });
    expect(s.status).toBe(201);
    shared = { id: s.body.access.id, token: s.body.access.token };
    // Calls of each access: a success with personal content, a failure, a read with a secret-looking parameter.
    const created = await call('POST', `/${u}/events`, {
      token: app.token,
      headers: { 'user-agent': UA },
      body: { streamIds: ['health'], type: 'note/txt', content: 'my very private note' },
    });
    expect(created.status).toBe(201);
    expect((await call('GET', `/${u}/events/no-such-event`, { token: shared.token })).status).toBe(404);
    expect((await call('GET', `/${u}/events?streams=health&limit=5&auth=${shared.token}`)).status).toBe(200);
  });

  it('records each call with access, action, outcome, client and query shape, never secrets or content', async () => {
    const res = await call('GET', `/${user.username}/audit/logs`, { token: user.token });
    expect(res.status).toBe(200);
    const logs = res.body.auditLogs as any[];
    // Newest first; creation of the stream, the two accesses, and the three calls above.
    const times = logs.map((l) => l.time);
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    const create = logs.find((l) => l.action === 'events.create');
    expect(create).toMatchObject({ accessId: app.id, status: 201, source: { name: 'http' }, userAgent: UA });
    expect(create.source.ip).toMatch(/\d/);
    expect(create.query).toEqual({ streamIds: ['health'], type: 'note/txt', content: '<string>' });

    const failed = logs.find((l) => l.action === 'events.getOne');
    expect(failed).toMatchObject({ accessId: shared.id, status: 404, errorId: 'unknown-resource' });

    const read = logs.find((l) => l.action === 'events.get' && l.accessId === shared.id);
    expect(read.query).toEqual({ streams: 'health', limit: 5 });

    const text = JSON.stringify(logs);
    for (const secret of [user.token, app.token, shared.token, user.password, 'my very private note']) expect(text).not.toContain(secret);
  });

  it('a personal token reads every record; an app or shared access only its own', async () => {
    const all = (await call('GET', `/${user.username}/audit/logs?limit=1000`, { token: user.token })).body.auditLogs as any[];
    expect(new Set(all.map((l) => l.accessId))).toEqual(
      new Set([app.id, shared.id, all.find((l) => l.action === 'streams.create').accessId]),
    );

    const own = (await call('GET', `/${user.username}/audit/logs`, { token: shared.token })).body.auditLogs as any[];
    expect(own.length).toBeGreaterThanOrEqual(2);
    expect(own.every((l) => l.accessId === shared.id)).toBe(true);

    expectError(await call('GET', `/${user.username}/audit/logs?accessId=${app.id}`, { token: shared.token }), 403, 'forbidden');
    const byId = (await call('GET', `/${user.username}/audit/logs?accessId=${app.id}`, { token: user.token })).body.auditLogs as any[];
    expect(byId.length).toBeGreaterThan(0);
    expect(byId.every((l) => l.accessId === app.id)).toBe(true);

    // Another user's token reaches nothing.
    const other = await createUser();
    expectError(await call('GET', `/${user.username}/audit/logs`, { token: other.token }), 403, 'invalid-access-token');
  });

  it('filters by time, status, error id, limit and order; refuses bad parameters', async () => {
    const all = (await call('GET', `/${user.username}/audit/logs?limit=1000&sortAscending=true`, { token: user.token })).body
      .auditLogs as any[];
    const times = all.map((l) => l.time);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    const middle = all[Math.floor(all.length / 2)];
    const later = (
      await call('GET', `/${user.username}/audit/logs?fromTime=${middle.time}&sortAscending=true&limit=1000`, { token: user.token })
    ).body.auditLogs as any[];
    expect(later[0].id).toBe(middle.id);
    expect(later.every((l) => l.time >= middle.time)).toBe(true);
    const earlier = (await call('GET', `/${user.username}/audit/logs?toTime=${middle.time}&limit=1000`, { token: user.token })).body
      .auditLogs as any[];
    expect(earlier.every((l) => l.time <= middle.time)).toBe(true);
    expect((await call('GET', `/${user.username}/audit/logs?limit=2`, { token: user.token })).body.auditLogs).toHaveLength(2);
    const errorsOnly = (await call('GET', `/${user.username}/audit/logs?errorId=unknown-resource`, { token: user.token })).body
      .auditLogs as any[];
    expect(errorsOnly.length).toBeGreaterThan(0);
    expect(errorsOnly.every((l) => l.errorId === 'unknown-resource' && l.status === 404)).toBe(true);
    const notFound = (await call('GET', `/${user.username}/audit/logs?status=404`, { token: user.token })).body.auditLogs as any[];
    expect(notFound.map((l) => l.id)).toEqual(errorsOnly.map((l) => l.id));

    expectError(await call('GET', `/${user.username}/audit/logs?limit=0`, { token: user.token }), 400, 'invalid-parameters-format');
    expectError(
      await call('GET', `/${user.username}/audit/logs?fromTime=yesterday`, { token: user.token }),
      400,
      'invalid-parameters-format',
    );
    expectError(await call('GET', `/${user.username}/audit/logs?password=x`, { token: user.token }), 400, 'invalid-parameters-format');
  });

  it('records the calls of a batch one by one', async () => {
    const res = await call('POST', `/${user.username}/`, {
      token: app.token,
      body: [
        { method: 'streams.get', params: {} },
        { method: 'events.getOne', params: { id: 'nope' } },
      ],
    });
    expect(res.status).toBe(200);
    const logs = (await call('GET', `/${user.username}/audit/logs?accessId=${app.id}&limit=3`, { token: user.token })).body
      .auditLogs as any[];
    expect(logs.map((l) => [l.action, l.status])).toEqual([
      ['callBatch', 200],
      ['events.getOne', 404],
      ['streams.get', 200],
    ]);
    expect(logs[0].query).toEqual({ calls: ['streams.get', 'events.getOne'] });
  });

  it('answers the :_audit: streams of events.get as audit-log/pryv-api events, with the same visibility', async () => {
    const res = await call('GET', `/${user.username}/events?streams=${encodeURIComponent(JSON.stringify([':_audit:']))}&limit=1000`, {
      token: user.token,
    });
    expect(res.status).toBe(200);
    const events = res.body.events as any[];
    const create = events.find((e) => e.content.action === 'events.create');
    expect(create).toMatchObject({
      type: 'audit-log/pryv-api',
      streamIds: [`:_audit:access-${app.id}`, ':_audit:action-events.create'],
      createdBy: 'system',
      content: { source: { name: 'http' }, action: 'events.create', query: { type: 'note/txt' } },
    });
    expect(create.id).toMatch(/^:_audit:c/);
    const error = events.find((e) => e.content.action === 'events.getOne' && e.streamIds[0] === `:_audit:access-${shared.id}`);
    expect(error).toMatchObject({ type: 'audit-log/pryv-api-error', content: { error: { id: 'unknown-resource' } } });

    const byAction = (await call('GET', `/${user.username}/events?streams=:_audit:action-events.create`, { token: user.token })).body
      .events as any[];
    expect(byAction.length).toBeGreaterThan(0);
    expect(byAction.every((e) => e.content.action === 'events.create')).toBe(true);

    const sharedView = (await call('GET', `/${user.username}/events?streams=:_audit:&limit=1000`, { token: shared.token })).body
      .events as any[];
    expect(sharedView.length).toBeGreaterThan(0);
    expect(sharedView.every((e) => e.streamIds[0] === `:_audit:access-${shared.id}`)).toBe(true);
    expectError(await call('GET', `/${user.username}/events?streams=:_audit:access-${app.id}`, { token: shared.token }), 403, 'forbidden');
    expectError(
      await call('GET', `/${user.username}/events?streams=${encodeURIComponent(JSON.stringify([':_audit:', 'health']))}`, {
        token: user.token,
      }),
      400,
      'invalid-request-structure',
    );
  });
});
