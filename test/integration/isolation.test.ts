import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { METHODS } from '../../shared/api/registry';
import type { HttpRoute, MethodDef } from '../../shared/api/types';
import { type ApiResponse, call, createUser, login, type TestUser, useRuntimeStore } from '../setup/api';

/**
 * Users are isolated (spec §1.3, §3.7): a token only opens its own user's data, and item
 * ids only mean something inside one user. Every token method of the registry is covered
 * (new methods are picked up automatically).
 */

interface Fixture {
  user: TestUser;
  personalId: string;
  stream: { id: string; name: string };
  child: { id: string; name: string };
  event: { id: string; content: string };
  app: { id: string; token: string; name: string };
  shared: { id: string; token: string; name: string };
}

const TOKEN_METHODS: MethodDef[] = METHODS.filter((m) => m.auth === 'token');

async function fixture(tag: string): Promise<Fixture> {
  const user = await createUser();
  const s = randomBytes(4).toString('hex');
  const ok = async (res: Promise<ApiResponse>, status: number) => {
    const r = await res;
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    return r.body;
  };
  const u = user.username;
  const stream = (
    await ok(call('POST', `/${u}/streams`, { token: user.token, body: { id: `${tag}-root-${s}`, name: `${tag} secret root ${s}` } }), 201)
  ).stream;
  const child = (
    await ok(
      call('POST', `/${u}/streams`, {
        token: user.token,
        body: { id: `${tag}-child-${s}`, name: `${tag} secret child ${s}`, parentId: stream.id },
      }),
      201,
    )
  ).stream;
  const event = (
    await ok(
      call('POST', `/${u}/events`, {
        token: user.token,
        body: { streamIds: [child.id], type: 'note/txt', content: `${tag} secret content ${s}` },
      }),
      201,
    )
  ).event;
  const app = (
    await ok(
      call('POST', `/${u}/accesses`, {
        token: user.token,
        body: { type: 'app', name: `${tag}-app-${s}`, permissions: [{ streamId: '*', level: 'manage' }] },
      }),
      201,
    )
  ).access;
  const shared = (
    await ok(
      call('POST', `/${u}/accesses`, {
        token: app.token,
        body: { name: `${tag} shared ${s}`, permissions: [{ streamId: stream.id, level: 'read' }] },
      }),
      201,
    )
  ).access;
  const personalId = (await ok(call('GET', `/${u}/access-info`, { token: user.token }), 200)).id;
  return { user, personalId, stream, child, event, app, shared };
}

/** What must never be shown to anyone but the owner. */
const secretsOf = (f: Fixture): string[] => [
  f.user.token,
  f.user.email,
  f.user.password,
  f.stream.name,
  f.child.name,
  f.event.content,
  f.app.token,
  f.shared.token,
];

/** Item ids of a fixture, by the area whose routes take them. */
const idsOf = (f: Fixture) => ({ event: f.event.id, stream: f.child.id, access: f.shared.id });

function idFor(method: MethodDef, f: Fixture): string {
  const ids = idsOf(f);
  if (method.id.startsWith('streams.')) return ids.stream;
  if (method.id.startsWith('accesses.')) return ids.access;
  return ids.event;
}

/** A route's path for a user, every other `{param}` filled with `id`. */
const pathOf = (route: HttpRoute, username: string, id: string) =>
  route.path.replace('{username}', username).replace(/\{[^}]+\}/g, encodeURIComponent(id));

const routeHasId = (route: HttpRoute) => /\{(?!username\})[^}]+\}/.test(route.path);

/** Names of a route's path parameters, `{username}` included. */
const pathParams = (route: HttpRoute) => new Set([...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!));

/**
 * A value satisfying a (simple) JSON schema, for methods this file has no sample for:
 * new methods then get past parameter validation and reach their access and item checks.
 */
function sampleValue(schema: Record<string, any>): unknown {
  if (Array.isArray(schema.enum)) return schema.enum[0];
  const type = ([] as string[]).concat(schema.type ?? []).find((t) => t !== 'null');
  switch (type) {
    case 'string': {
      const min = schema.minLength ?? 1;
      const candidates = ['x'.repeat(Math.max(min, 1)), 'text/plain', 'note/txt', 'sample-value', 'c0000000000000000000000000'];
      const fits = (c: string) =>
        c.length >= min &&
        (schema.maxLength === undefined || c.length <= schema.maxLength) &&
        (!schema.pattern || new RegExp(schema.pattern, 'u').test(c));
      return candidates.find(fits) ?? candidates[0];
    }
    case 'integer':
    case 'number':
      return Math.max(schema.minimum ?? 1, 1);
    case 'boolean':
      return false;
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => sampleValue(schema.items ?? {}));
    case 'object':
      return sampleObject(schema, new Set());
    default:
      return 'x';
  }
}

function sampleObject(schema: Record<string, any>, skip: Set<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of (schema.required ?? []) as string[]) {
    if (!skip.has(key)) out[key] = sampleValue(schema.properties?.[key] ?? {});
  }
  return out;
}

/** Plausible params, so that a check made after validation would still be reached. */
function sampleBody(method: MethodDef, route: HttpRoute, target: Fixture): unknown {
  const samples: Record<string, unknown> = {
    'events.create': { streamIds: [target.child.id], type: 'note/txt', content: 'intruder' },
    'events.update': { content: 'intruder' },
    'streams.create': { id: 'intruder-stream', name: 'Intruder', parentId: target.stream.id },
    'streams.update': { name: 'Intruder' },
    'accesses.create': { name: 'intruder', permissions: [{ streamId: '*', level: 'manage' }] },
    'accesses.update': { name: 'intruder' },
    'accesses.checkApp': { requestingAppId: target.app.name, requestedPermissions: [{ streamId: '*', level: 'manage' }] },
    'account.update': { email: 'intruder@example.com', language: 'xx' },
    'account.changePassword': { oldPassword: target.user.password, newPassword: 'intruder-pw' },
    'series.add': { format: 'flatJSON', fields: ['deltaTime', 'value'], points: [[0, 1]] },
    callBatch: [
      { method: 'events.get', params: {} },
      { method: 'accesses.get', params: {} },
    ],
  };
  if (method.id in samples) return samples[method.id];
  // Methods with their own HTTP → params mapping: no way to guess their body.
  return method.httpParams ? {} : sampleObject(method.params, pathParams(route));
}

function sampleQuery(method: MethodDef, route: HttpRoute, target: Fixture): string {
  if (method.id === 'events.get') return `?streams=${encodeURIComponent(JSON.stringify([target.stream.id]))}&limit=1000`;
  if (method.id === 'streams.delete') return '?mergeEventsWithParent=false';
  const params = method.httpParams ? {} : sampleObject(method.params, pathParams(route));
  const query = new URLSearchParams(
    Object.entries(params).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
  );
  return query.size > 0 ? `?${query}` : '';
}

async function callRoute(
  method: MethodDef,
  route: HttpRoute,
  username: string,
  id: string,
  token: string,
  target: Fixture,
): Promise<ApiResponse> {
  const withBody = route.verb === 'POST' || route.verb === 'PUT';
  return call(route.verb, pathOf(route, username, id) + (withBody ? '' : sampleQuery(method, route, target)), {
    token,
    ...(withBody ? { body: sampleBody(method, route, target) } : {}),
  });
}

/** A user's data as its personal token sees it (usage stamps left out). */
async function stateOf(f: Fixture): Promise<unknown> {
  const u = f.user.username;
  const get = async (path: string) => {
    const res = await call('GET', `/${u}${path}`, { token: f.user.token });
    expect(res.status, `${path} ${JSON.stringify(res.body)}`).toBe(200);
    return res.body;
  };
  const accesses = await get('/accesses?includeExpired=true&includeDeletions=true');
  const strip = (list: Array<Record<string, unknown>>) => list.map(({ lastUsed: _l, ...a }) => a);
  return {
    streams: (await get('/streams?state=all')).streams,
    events: (await get('/events?state=all&limit=1000')).events,
    sync: (await get('/events?modifiedSince=0&includeDeletions=true&state=all&limit=1000')).eventDeletions,
    accesses: strip(accesses.accesses),
    accessDeletions: strip(accesses.accessDeletions ?? []),
    account: (await get('/account')).account,
  };
}

describe('isolation between users', () => {
  let a: Fixture;
  let b: Fixture;
  beforeAll(async () => {
    useRuntimeStore();
    a = await fixture('alice');
    b = await fixture('bob');
  });

  it('covers every token method of the registry', () => {
    const ids = TOKEN_METHODS.map((m) => m.id);
    // A sanity floor, not the list: the loops below iterate METHODS themselves.
    for (const id of ['getAccessInfo', 'callBatch', 'events.get', 'streams.update', 'accesses.delete', 'accesses.checkApp']) {
      expect(ids).toContain(id);
    }
  });

  it("A's tokens on B's path: 403 invalid-access-token for every token method and route, nothing of B shown or changed", async () => {
    const before = await stateOf(b);
    const forbiddenText = [...secretsOf(b), b.event.id, b.stream.id, b.child.id, b.app.id, b.shared.id, b.personalId];
    let checked = 0;
    for (const token of [a.user.token, a.app.token, a.shared.token]) {
      for (const method of TOKEN_METHODS) {
        for (const route of method.routes) {
          const res = await callRoute(method, route, b.user.username, idFor(method, b), token, b);
          const where = `${method.id} ${route.verb} ${route.path}`;
          expect(res.status, `${where}: ${JSON.stringify(res.body)}`).toBe(403);
          expect(res.body?.error?.id, where).toBe('invalid-access-token');
          const text = JSON.stringify(res.body);
          for (const secret of forbiddenText) expect(text, `${where} shows ${secret}`).not.toContain(secret);
          expect(res.headers.get('pryv-access-id'), where).toBeNull();
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(3 * TOKEN_METHODS.length);

    expect(await stateOf(b)).toEqual(before);
    expect((await login(b.user)).status).toBe(200); // password unchanged
    // Nor did any of it end A's own session (auth.logout on B's path) or change A.
    expect((await call('GET', `/${a.user.username}/access-info`, { token: a.user.token })).status).toBe(200);
  });

  it("A's token with B's item ids on A's own path: 404 unknown-resource (ids are per user), B unchanged", async () => {
    const before = await stateOf(b);
    const withId = TOKEN_METHODS.flatMap((m) => m.routes.filter(routeHasId).map((r) => [m, r] as const));
    expect(withId.length).toBeGreaterThan(0);
    for (const [method, route] of withId) {
      for (const id of Object.values(idsOf(b))) {
        const res = await callRoute(method, route, a.user.username, id, a.user.token, a);
        const where = `${method.id} ${route.verb} ${route.path} with ${id}`;
        expect(res.status, `${where}: ${JSON.stringify(res.body)}`).toBe(404);
        expect(res.body.error.id, where).toBe('unknown-resource');
        const text = JSON.stringify(res.body);
        for (const secret of secretsOf(b)) expect(text, `${where} shows ${secret}`).not.toContain(secret);
      }
    }
    expect(await stateOf(b)).toEqual(before);
  });

  it("B's stream ids referenced from A's space are unknown: 400 unknown-referenced-resource", async () => {
    const u = a.user.username;
    const token = a.user.token;
    const list = await call('GET', `/${u}/events?streams=${encodeURIComponent(JSON.stringify([b.stream.id]))}`, { token });
    expect(list.status).toBe(400);
    expect(list.body.error.id).toBe('unknown-referenced-resource');
    const create = await call('POST', `/${u}/events`, { token, body: { streamIds: [b.child.id], type: 'note/txt', content: 'x' } });
    expect(create.status).toBe(400);
    expect(create.body.error.id).toBe('unknown-referenced-resource');
    const child = await call('POST', `/${u}/streams`, { token, body: { name: 'Under B', parentId: b.stream.id } });
    expect(child.status).toBe(400);
    expect(child.body.error.id).toBe('unknown-referenced-resource');
    const sub = await call('GET', `/${u}/streams?parentId=${b.stream.id}`, { token });
    expect(sub.status).toBe(400);
    expect(sub.body.error.id).toBe('unknown-referenced-resource');
  });

  it("the same ids and tokens may exist in both users' spaces, each seeing only its own item", async () => {
    const u = a.user.username;
    const before = await stateOf(b);
    const stream = await call('POST', `/${u}/streams`, { token: a.user.token, body: { id: b.stream.id, name: 'Alice own root' } });
    expect(stream.status, JSON.stringify(stream.body)).toBe(201);
    expect(stream.body.stream.id).toBe(b.stream.id);
    const event = await call('POST', `/${u}/events`, {
      token: a.user.token,
      body: { id: b.event.id, streamIds: [b.stream.id], type: 'note/txt', content: 'alice twin' },
    });
    expect(event.status, JSON.stringify(event.body)).toBe(201);
    const access = await call('POST', `/${u}/accesses`, {
      token: a.user.token,
      body: { name: 'twin token', token: b.shared.token, permissions: [{ streamId: b.stream.id, level: 'read' }] },
    });
    expect(access.status, JSON.stringify(access.body)).toBe(201);

    // Each user resolves the same token and ids to its own items.
    const infoA = await call('GET', `/${u}/access-info`, { token: b.shared.token });
    expect(infoA.body).toMatchObject({ id: access.body.access.id, name: 'twin token' });
    const infoB = await call('GET', `/${b.user.username}/access-info`, { token: b.shared.token });
    expect(infoB.body.id).toBe(b.shared.id);
    const evA = await call('GET', `/${u}/events/${b.event.id}`, { token: a.user.token });
    expect(evA.body.event.content).toBe('alice twin');
    const evB = await call('GET', `/${b.user.username}/events/${b.event.id}`, { token: b.user.token });
    expect(evB.body.event.content).toBe(b.event.content);
    expect(await stateOf(b)).toEqual(before);
  });

  it("callBatch with A's token on B's path → 403 invalid-access-token; none of its calls runs", async () => {
    const before = await stateOf(b);
    for (const token of [a.user.token, a.app.token, a.shared.token]) {
      const res = await call('POST', `/${b.user.username}/`, {
        token,
        body: [
          { method: 'events.get', params: {} },
          { method: 'streams.create', params: { name: 'Batch intruder' } },
          { method: 'events.create', params: { streamIds: [b.child.id], type: 'note/txt', content: 'batch intruder' } },
          { method: 'accesses.create', params: { name: 'batch intruder', permissions: [{ streamId: '*', level: 'manage' }] } },
          { method: 'events.delete', params: { id: b.event.id } },
          { method: 'account.update', params: { update: { email: 'batch-intruder@example.com' } } },
        ],
      });
      expect(res.status).toBe(403);
      expect(res.body.error.id).toBe('invalid-access-token');
      expect(res.body.results).toBeUndefined();
      const text = JSON.stringify(res.body);
      for (const secret of secretsOf(b)) expect(text).not.toContain(secret);
    }
    expect(await stateOf(b)).toEqual(before);
  });
});
