import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ApiResponse, call, createUser, expectError, login, type TestUser, useRuntimeStore } from '../setup/api';

/** Accesses (spec §2.4, §3.3, §4.4–4.6), through the API only. */

const suffix = () => randomBytes(4).toString('hex');
const nowS = () => Date.now() / 1000;

async function createAccess(user: TestUser, body: Record<string, unknown>, token = user.token): Promise<ApiResponse> {
  return call('POST', `/${user.username}/accesses`, { token, body });
}

/** Creates an access and returns it (fails the test when the API refuses). */
async function made(user: TestUser, body: Record<string, unknown>, token = user.token): Promise<Record<string, any>> {
  const res = await createAccess(user, body, token);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.access;
}

async function listAccesses(user: TestUser, query = '', token = user.token): Promise<ApiResponse> {
  return call('GET', `/${user.username}/accesses${query}`, { token });
}

async function liveIds(user: TestUser): Promise<string[]> {
  const res = await listAccesses(user, '?includeExpired=true');
  expect(res.status).toBe(200);
  return res.body.accesses.map((a: { id: string }) => a.id).sort();
}

async function createStream(user: TestUser, body: Record<string, unknown>): Promise<Record<string, any>> {
  const res = await call('POST', `/${user.username}/streams`, { token: user.token, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.stream;
}

async function rootStreams(user: TestUser, query = ''): Promise<Array<Record<string, any>>> {
  const res = await call('GET', `/${user.username}/streams${query}`, { token: user.token });
  expect(res.status).toBe(200);
  return res.body.streams;
}

async function accessInfo(user: TestUser, token: string): Promise<ApiResponse> {
  return call('GET', `/${user.username}/access-info`, { token });
}

describe('accesses.create (spec §2.4, §4.4)', () => {
  let user: TestUser;
  let personalId: string;
  beforeAll(async () => {
    useRuntimeStore();
    user = await createUser();
    personalId = (await accessInfo(user, user.token)).body.id;
  });

  it('a personal access creates app and shared accesses: 201, apiEndpoint with the token, author fields', async () => {
    const before = nowS();
    const app = await made(user, {
      type: 'app',
      name: `app-${suffix()}`,
      deviceName: 'My phone',
      permissions: [{ streamId: '*', level: 'read' }],
      clientData: { 'app:setting': 1 },
    });
    expect(app).toMatchObject({
      type: 'app',
      deviceName: 'My phone',
      permissions: [{ streamId: '*', level: 'read' }],
      clientData: { 'app:setting': 1 },
      createdBy: personalId,
      modifiedBy: personalId,
    });
    expect(typeof app.id).toBe('string');
    expect(typeof app.token).toBe('string');
    expect(app.created).toBeGreaterThanOrEqual(before - 5);
    expect(app.created).toBeLessThanOrEqual(nowS() + 5);
    expect(app).not.toHaveProperty('calls');
    const endpoint = new URL(app.apiEndpoint);
    expect(endpoint.username).toBe(app.token);
    expect(endpoint.pathname).toBe(`/${user.username}/`);
    expect(app.apiEndpoint).toContain(app.token);

    const shared = await made(user, { type: 'shared', name: `shared-${suffix()}`, permissions: [{ streamId: '*', level: 'read' }] });
    expect(shared.type).toBe('shared');
    expect(new URL(shared.apiEndpoint).username).toBe(shared.token);
    expect(shared.token).not.toBe(app.token);

    // The new tokens work.
    for (const a of [app, shared]) {
      const info = await accessInfo(user, a.token);
      expect(info.status).toBe(200);
      expect(info.body).toMatchObject({ id: a.id, type: a.type, name: a.name });
    }
  });

  it('type defaults to shared', async () => {
    const a = await made(user, { name: `default-${suffix()}`, permissions: [{ streamId: '*', level: 'read' }] });
    expect(a.type).toBe('shared');
  });

  it('type personal → 403 forbidden, nothing created', async () => {
    const before = await liveIds(user);
    const res = await createAccess(user, { type: 'personal', name: `p-${suffix()}`, permissions: [] });
    expectError(res, 403, 'forbidden');
    expect(await liveIds(user)).toEqual(before);
  });

  it('missing permissions → 400 invalid-parameters-format (app and shared)', async () => {
    const before = await liveIds(user);
    for (const type of ['app', 'shared', undefined]) {
      const res = await createAccess(user, { ...(type ? { type } : {}), name: `np-${suffix()}` });
      expectError(res, 400, 'invalid-parameters-format');
    }
    expectError(await createAccess(user, { permissions: [{ streamId: '*', level: 'read' }] }), 400, 'invalid-parameters-format');
    expect(await liveIds(user)).toEqual(before);
  });

  it('a custom token is slugified and works', async () => {
    const s = suffix();
    const a = await made(user, { name: `tok-${s}`, token: `My Tôken ${s}!`, permissions: [{ streamId: '*', level: 'read' }] });
    expect(a.token).toBe(`My-Token-${s}`);
    expect(new URL(a.apiEndpoint).username).toBe(a.token);
    expect((await accessInfo(user, `My-Token-${s}`)).body.id).toBe(a.id);
  });

  it('a reserved token → 400 invalid-item-id', async () => {
    const before = await liveIds(user);
    for (const token of ['null', 'undefined', '*']) {
      const res = await createAccess(user, { name: `res-${suffix()}`, token, permissions: [{ streamId: '*', level: 'read' }] });
      expectError(res, 400, 'invalid-item-id');
    }
    expect(await liveIds(user)).toEqual(before);
  });

  it('a duplicate token → 409 item-already-exists with data {token: "(hidden)"}, the first access untouched', async () => {
    const token = `dup-token-${suffix()}`;
    const first = await made(user, { name: `first-${suffix()}`, token, permissions: [{ streamId: '*', level: 'read' }] });
    const before = await liveIds(user);
    const res = await createAccess(user, { name: `second-${suffix()}`, token, permissions: [{ streamId: '*', level: 'manage' }] });
    expectError(res, 409, 'item-already-exists');
    expect(res.body.error.data).toEqual({ token: '(hidden)' });
    expect(JSON.stringify(res.body)).not.toContain(token);
    expect(await liveIds(user)).toEqual(before);
    const info = await accessInfo(user, token);
    expect(info.body).toMatchObject({ id: first.id, name: first.name, permissions: [{ streamId: '*', level: 'read' }] });
  });

  it('a duplicate (type, name, deviceName) → 409; another deviceName or type is fine', async () => {
    const name = `same-${suffix()}`;
    const perms = [{ streamId: '*', level: 'read' }];
    await made(user, { type: 'app', name, deviceName: 'laptop', permissions: perms });
    const before = await liveIds(user);
    const dup = await createAccess(user, { type: 'app', name, deviceName: 'laptop', permissions: perms });
    expectError(dup, 409, 'item-already-exists');
    expect(dup.body.error.data).toEqual({ type: 'app', name, deviceName: 'laptop' });
    expect(await liveIds(user)).toEqual(before);

    await made(user, { type: 'app', name, deviceName: 'phone', permissions: perms });
    await made(user, { type: 'app', name, permissions: perms }); // no device name
    const dupNoDevice = await createAccess(user, { type: 'app', name, permissions: perms });
    expectError(dupNoDevice, 409, 'item-already-exists');
    await made(user, { type: 'shared', name, permissions: perms });
    const dupShared = await createAccess(user, { name, permissions: perms });
    expectError(dupShared, 409, 'item-already-exists');
    expect(dupShared.body.error.data).toMatchObject({ type: 'shared', name });
  });

  it('concurrent creations of one (type, name, deviceName) or one token: exactly one wins', async () => {
    const name = `race-${suffix()}`;
    const byName = await Promise.all(
      Array.from({ length: 5 }, () =>
        createAccess(user, { type: 'app', name, deviceName: 'd', permissions: [{ streamId: '*', level: 'read' }] }),
      ),
    );
    expect(byName.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
    const token = `race-token-${suffix()}`;
    const byToken = await Promise.all(
      Array.from({ length: 5 }, () =>
        createAccess(user, { name: `race-tok-${suffix()}`, token, permissions: [{ streamId: '*', level: 'read' }] }),
      ),
    );
    expect(byToken.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
    for (const r of byToken.filter((x) => x.status === 409)) expect(r.body.error.data).toEqual({ token: '(hidden)' });
    const winner = byToken.find((r) => r.status === 201)!.body.access;
    expect((await accessInfo(user, token)).body.id).toBe(winner.id);
  });

  it('a deleted access frees its (type, name, deviceName) and its token', async () => {
    const name = `reuse-${suffix()}`;
    const token = `reuse-token-${suffix()}`;
    const a = await made(user, { type: 'app', name, deviceName: 'd', token, permissions: [{ streamId: '*', level: 'read' }] });
    expect((await call('DELETE', `/${user.username}/accesses/${a.id}`, { token: user.token })).status).toBe(200);
    const again = await made(user, { type: 'app', name, deviceName: 'd', token, permissions: [{ streamId: '*', level: 'read' }] });
    expect(again.id).not.toBe(a.id);
    expect((await accessInfo(user, token)).body.id).toBe(again.id);
  });

  it('names and device names are compared exactly: "#" or "%" in them cause no false duplicate', async () => {
    const s = suffix();
    const perms = [{ streamId: '*', level: 'read' }];
    const pairs: Array<[string, string | undefined]> = [
      [`hash-${s}#`, 'x'],
      [`hash-${s}`, '#x'],
      [`hash-${s}#x`, undefined],
      [`pct-${s}%23`, 'y'],
      [`pct-${s}#`, 'y'],
    ];
    const created = [];
    for (const [name, deviceName] of pairs) {
      created.push(await made(user, { type: 'app', name, ...(deviceName ? { deviceName } : {}), permissions: perms }));
    }
    for (const [i, [name, deviceName]] of pairs.entries()) {
      const dup = await createAccess(user, { type: 'app', name, ...(deviceName ? { deviceName } : {}), permissions: perms });
      expectError(dup, 409, 'item-already-exists');
      // checkApp finds this very access, not one with a look-alike (name, deviceName).
      const res = await call('POST', `/${user.username}/accesses/check-app`, {
        token: user.token,
        body: { requestingAppId: name, ...(deviceName ? { deviceName } : {}), requestedPermissions: perms },
      });
      expect(res.body.matchingAccess?.id, `${name} / ${deviceName}`).toBe(created[i]!.id);
    }
  });

  it('a permission stream id with a forbidden character (spec §8) → 400 invalid-request-structure, nothing created', async () => {
    const before = await liveIds(user);
    for (const streamId of ['quote"d', "apos'd", 'back\\slash', 'new\nline', 'tab\tbed']) {
      for (const extra of [{}, { defaultName: 'Forbidden' }]) {
        const res = await createAccess(user, { name: `fc-${suffix()}`, permissions: [{ streamId, level: 'read', ...extra }] });
        expectError(res, 400, 'invalid-request-structure');
      }
    }
    expect(await liveIds(user)).toEqual(before);
  });

  it('an id in the body → 400 (ids are server-made)', async () => {
    const res = await createAccess(user, { id: 'my-own-id', name: `id-${suffix()}`, permissions: [{ streamId: '*', level: 'read' }] });
    expectError(res, 400, 'invalid-parameters-format');
  });

  it('deviceName on a shared access → 400', async () => {
    const before = await liveIds(user);
    for (const type of ['shared', undefined]) {
      const res = await createAccess(user, {
        ...(type ? { type } : {}),
        name: `dev-${suffix()}`,
        deviceName: 'phone',
        permissions: [{ streamId: '*', level: 'read' }],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(400);
    }
    expect(await liveIds(user)).toEqual(before);
    const nullDevice = await made(user, {
      name: `dev-null-${suffix()}`,
      deviceName: null,
      permissions: [{ streamId: '*', level: 'read' }],
    });
    expect(nullDevice.type).toBe('shared');
    expect(nullDevice.deviceName).toBeUndefined();
  });

  it('expireAfter sets expires = now + n; 0 expires at once; negative → 400', async () => {
    const before = nowS();
    const a = await made(user, { name: `exp-${suffix()}`, expireAfter: 3600, permissions: [{ streamId: '*', level: 'read' }] });
    expect(a.expires).toBeGreaterThanOrEqual(before + 3600 - 1);
    expect(a.expires).toBeLessThanOrEqual(nowS() + 3600 + 1);
    expect(a.expires - a.created).toBeCloseTo(3600, 3);
    expect(a).not.toHaveProperty('expireAfter');
    expect((await accessInfo(user, a.token)).status).toBe(200);

    const gone = await made(user, { name: `exp0-${suffix()}`, expireAfter: 0, permissions: [{ streamId: '*', level: 'read' }] });
    await new Promise((r) => setTimeout(r, 20));
    const res = await accessInfo(user, gone.token);
    expectError(res, 403, 'forbidden');
    expect(res.body.error.message).toBe('Access has expired.');

    const ids = await liveIds(user);
    const negative = await createAccess(user, {
      name: `neg-${suffix()}`,
      expireAfter: -1,
      permissions: [{ streamId: '*', level: 'read' }],
    });
    expectError(negative, 400, 'invalid-parameters-format');
    expect(await liveIds(user)).toEqual(ids);
  });

  it('permission defaultName (personal caller) creates the missing root stream with that name; name/defaultName are stripped', async () => {
    const id = `diary-${suffix()}`;
    const a = await made(user, {
      name: `dn-${suffix()}`,
      permissions: [{ streamId: id, level: 'contribute', defaultName: `Diary ${id}`, name: 'ignored' }],
    });
    expect(a.permissions).toEqual([{ streamId: id, level: 'contribute' }]);
    const root = (await rootStreams(user)).find((s) => s.id === id);
    expect(root).toMatchObject({ id, name: `Diary ${id}`, parentId: null });
    // The new access may use it at once.
    const ev = await call('POST', `/${user.username}/events`, {
      token: a.token,
      body: { streamIds: [id], type: 'note/txt', content: 'hi' },
    });
    expect(ev.status).toBe(201);
  });

  it('defaultName on an existing stream keeps it as it is; on a trashed one un-trashes it', async () => {
    const kept = await createStream(user, { id: `kept-${suffix()}`, name: `Kept ${suffix()}` });
    const trashed = await createStream(user, { id: `trashed-${suffix()}`, name: `Trashed ${suffix()}` });
    expect((await call('DELETE', `/${user.username}/streams/${trashed.id}`, { token: user.token })).status).toBe(200);
    await made(user, {
      name: `dn2-${suffix()}`,
      permissions: [
        { streamId: kept.id, level: 'read', defaultName: 'Another name' },
        { streamId: trashed.id, level: 'read', defaultName: 'Another name 2' },
      ],
    });
    const roots = await rootStreams(user);
    expect(roots.find((s) => s.id === kept.id)?.name).toBe(kept.name);
    const restored = roots.find((s) => s.id === trashed.id);
    expect(restored?.name).toBe(trashed.name);
    expect(restored?.trashed).toBeUndefined();
  });

  it('a defaultName stream id not matching ^[a-z0-9-]{1,100}$ → 400 invalid-request-structure, nothing created', async () => {
    const before = await liveIds(user);
    const bad = [`Upper-${suffix()}`, `under_${suffix()}`, `dot.${suffix()}`, 'x'.repeat(101)];
    for (const streamId of bad) {
      const res = await createAccess(user, {
        name: `bad-${suffix()}`,
        permissions: [{ streamId, level: 'read', defaultName: 'Bad' }],
      });
      expectError(res, 400, 'invalid-request-structure');
    }
    expect(await liveIds(user)).toEqual(before);
    const all = await rootStreams(user, '?state=all');
    for (const streamId of bad) expect(all.find((s) => s.id === streamId)).toBeUndefined();
  });

  describe('by an app access (§4.4)', () => {
    let app: Record<string, any>;
    let streams: Record<string, string>;
    beforeAll(async () => {
      const s = suffix();
      streams = { contribute: `c-${s}`, child: `c-child-${s}`, createOnly: `co-${s}`, read: `r-${s}`, other: `o-${s}`, manage: `m-${s}` };
      await createStream(user, { id: streams.contribute, name: `C ${s}` });
      await createStream(user, { id: streams.child, name: `C child ${s}`, parentId: streams.contribute });
      await createStream(user, { id: streams.createOnly, name: `CO ${s}` });
      await createStream(user, { id: streams.read, name: `R ${s}` });
      await createStream(user, { id: streams.other, name: `O ${s}` });
      await createStream(user, { id: streams.manage, name: `M ${s}` });
      app = await made(user, {
        type: 'app',
        name: `delegating-app-${s}`,
        permissions: [
          { streamId: streams.contribute, level: 'contribute' },
          { streamId: streams.createOnly, level: 'create-only' },
          { streamId: streams.read, level: 'read' },
          { streamId: streams.manage, level: 'manage' },
        ],
      });
    });

    it('creates shared accesses within its levels (inherited included)', async () => {
      const cases = [
        [{ streamId: streams.contribute, level: 'read' }],
        [{ streamId: streams.contribute, level: 'contribute' }],
        [{ streamId: streams.contribute, level: 'create-only' }],
        [{ streamId: streams.child, level: 'contribute' }],
        [{ streamId: streams.read, level: 'read' }],
        [{ streamId: streams.manage, level: 'manage' }],
        [
          { streamId: streams.manage, level: 'contribute' },
          { streamId: streams.read, level: 'read' },
        ],
      ];
      for (const permissions of cases) {
        const a = await made(user, { name: `ok-${suffix()}`, permissions }, app.token);
        expect(a).toMatchObject({ type: 'shared', permissions, createdBy: app.id });
      }
    });

    it('refuses with 403 forbidden: above its level, on a create-only stream, without a stream permission, type app', async () => {
      const before = await liveIds(user);
      const refused: Array<Record<string, unknown>> = [
        { permissions: [{ streamId: streams.contribute, level: 'manage' }] },
        { permissions: [{ streamId: streams.child, level: 'manage' }] },
        { permissions: [{ streamId: streams.read, level: 'contribute' }] },
        { permissions: [{ streamId: streams.read, level: 'create-only' }] },
        { permissions: [{ streamId: streams.createOnly, level: 'create-only' }] },
        { permissions: [{ streamId: streams.createOnly, level: 'read' }] },
        { permissions: [{ streamId: streams.other, level: 'read' }] },
        { permissions: [{ streamId: '*', level: 'read' }] },
        { permissions: [] },
        { permissions: [{ feature: 'selfRevoke', setting: 'forbidden' }] },
        {
          permissions: [
            { streamId: streams.read, level: 'read' },
            { streamId: streams.other, level: 'read' },
          ],
        },
        { type: 'app', permissions: [{ streamId: streams.read, level: 'read' }] },
        { type: 'personal', permissions: [{ streamId: streams.read, level: 'read' }] },
      ];
      for (const body of refused) {
        const res = await createAccess(user, { name: `no-${suffix()}`, ...body }, app.token);
        expect(res.status, JSON.stringify(body)).toBe(403);
        expect(res.body.error.id).toBe('forbidden');
      }
      expect(await liveIds(user)).toEqual(before);
    });

    it('cannot create streams through defaultName (only personal callers can)', async () => {
      const id = `app-dn-${suffix()}`;
      const res = await createAccess(
        user,
        { name: `dn-${suffix()}`, permissions: [{ streamId: id, level: 'read', defaultName: 'X' }] },
        app.token,
      );
      expectError(res, 403, 'forbidden');
      const all = await rootStreams(user, '?state=all');
      expect(all.find((s) => s.id === id)).toBeUndefined();
    });
  });

  it('a shared access creates nothing: 403 forbidden', async () => {
    const shared = await made(user, { name: `sh-${suffix()}`, permissions: [{ streamId: '*', level: 'manage' }] });
    const before = await liveIds(user);
    for (const type of ['shared', 'app', undefined]) {
      const res = await createAccess(
        user,
        { ...(type ? { type } : {}), name: `x-${suffix()}`, permissions: [{ streamId: '*', level: 'read' }] },
        shared.token,
      );
      expectError(res, 403, 'forbidden');
    }
    expect(await liveIds(user)).toEqual(before);
  });
});

describe('accesses.get (spec §2.4)', () => {
  let user: TestUser;
  beforeAll(async () => {
    useRuntimeStore();
    user = await createUser();
  });

  it('personal sees every access, ordered by name, with apiEndpoint and without calls', async () => {
    const s = suffix();
    const b = await made(user, { name: `b-${s}`, permissions: [{ streamId: '*', level: 'read' }] });
    const a = await made(user, { type: 'app', name: `a-${s}`, permissions: [{ streamId: '*', level: 'read' }] });
    const c = await made(user, { name: `c-${s}`, permissions: [{ streamId: '*', level: 'read' }] });
    await accessInfo(user, a.token); // gives `a` some calls
    const res = await listAccesses(user);
    expect(res.status).toBe(200);
    const list: Array<Record<string, any>> = res.body.accesses;
    const names = list.map((x) => x.name);
    expect(names).toEqual([...names].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
    const ours = list.filter((x) => x.name.endsWith(s)).map((x) => x.id);
    expect(ours).toEqual([a.id, b.id, c.id]);
    expect(list.some((x) => x.type === 'personal')).toBe(true);
    for (const x of list) {
      expect(x).not.toHaveProperty('calls');
      expect(new URL(x.apiEndpoint).username).toBe(x.token);
    }
    expect(res.body).not.toHaveProperty('accessDeletions');
  });

  it('an app sees only the accesses it created; a shared access gets 403 forbidden', async () => {
    const app = await made(user, { type: 'app', name: `lister-${suffix()}`, permissions: [{ streamId: '*', level: 'manage' }] });
    const other = await made(user, { type: 'app', name: `other-app-${suffix()}`, permissions: [{ streamId: '*', level: 'manage' }] });
    const mine = await made(user, { name: `mine-${suffix()}`, permissions: [{ streamId: '*', level: 'read' }] }, app.token);
    await made(user, { name: `not-mine-${suffix()}`, permissions: [{ streamId: '*', level: 'read' }] }, other.token);
    const res = await listAccesses(user, '', app.token);
    expect(res.status).toBe(200);
    expect(res.body.accesses.map((x: { id: string }) => x.id)).toEqual([mine.id]);
    expect(res.body.accesses[0].apiEndpoint).toContain(mine.token);

    const forbidden = await listAccesses(user, '', mine.token);
    expectError(forbidden, 403, 'forbidden');
    expect(JSON.stringify(forbidden.body)).not.toContain(app.token);
  });

  it('expired accesses are hidden unless includeExpired=true', async () => {
    const expired = await made(user, { name: `expired-${suffix()}`, expireAfter: 0, permissions: [{ streamId: '*', level: 'read' }] });
    const live = await made(user, { name: `live-${suffix()}`, expireAfter: 3600, permissions: [{ streamId: '*', level: 'read' }] });
    await new Promise((r) => setTimeout(r, 20));
    for (const query of ['', '?includeExpired=false']) {
      const ids = (await listAccesses(user, query)).body.accesses.map((x: { id: string }) => x.id);
      expect(ids).toContain(live.id);
      expect(ids).not.toContain(expired.id);
    }
    const all = (await listAccesses(user, '?includeExpired=true')).body.accesses;
    expect(all.map((x: { id: string }) => x.id)).toEqual(expect.arrayContaining([live.id, expired.id]));
    expect(all.find((x: { id: string }) => x.id === expired.id).expires).toBe(expired.expires);
  });

  it('includeDeletions lists deleted accesses (with deleted) apart from the live ones; apps only their own', async () => {
    const app = await made(user, { type: 'app', name: `del-app-${suffix()}`, permissions: [{ streamId: '*', level: 'manage' }] });
    const byApp = await made(user, { name: `del-by-app-${suffix()}`, permissions: [{ streamId: '*', level: 'read' }] }, app.token);
    const byPersonal = await made(user, { name: `del-by-personal-${suffix()}`, permissions: [{ streamId: '*', level: 'read' }] });
    const t0 = nowS();
    for (const a of [byApp, byPersonal]) {
      expect((await call('DELETE', `/${user.username}/accesses/${a.id}`, { token: user.token })).status).toBe(200);
    }
    const res = await listAccesses(user, '?includeDeletions=true');
    expect(res.status).toBe(200);
    const liveIdsNow = res.body.accesses.map((x: { id: string }) => x.id);
    expect(liveIdsNow).not.toContain(byApp.id);
    expect(liveIdsNow).not.toContain(byPersonal.id);
    const deletions: Array<Record<string, any>> = res.body.accessDeletions;
    for (const a of [byApp, byPersonal]) {
      const d = deletions.find((x) => x.id === a.id);
      expect(d).toMatchObject({ id: a.id, name: a.name });
      expect(d!.deleted).toBeGreaterThanOrEqual(t0 - 5);
    }
    const appView = await listAccesses(user, '?includeDeletions=true', app.token);
    expect(appView.body.accessDeletions.map((x: { id: string }) => x.id)).toEqual([byApp.id]);
    expect(appView.body.accesses).toEqual([]);
  });
});

describe('accesses.delete (spec §2.4, §4.5)', () => {
  let user: TestUser;
  beforeAll(async () => {
    useRuntimeStore();
    user = await createUser();
  });

  const del = (id: string, token: string) => call('DELETE', `/${user.username}/accesses/${id}`, { token });

  it('personal deletes any access; the deleted token then gets 403 invalid-access-token', async () => {
    for (const type of ['app', 'shared']) {
      const a = await made(user, { type, name: `victim-${suffix()}`, permissions: [{ streamId: '*', level: 'read' }] });
      const res = await del(a.id, user.token);
      expect(res.status).toBe(200);
      expect(res.body.accessDeletion).toEqual({ id: a.id });
      expect(res.body.relatedDeletions).toBeUndefined();
      expectError(await accessInfo(user, a.token), 403, 'invalid-access-token');
      expect(await liveIds(user)).not.toContain(a.id);
    }
  });

  it('an access deletes itself (self-revoke)', async () => {
    for (const type of ['app', 'shared']) {
      const a = await made(user, { type, name: `self-${suffix()}`, permissions: [{ streamId: '*', level: 'read' }] });
      const res = await del(a.id, a.token);
      expect(res.status).toBe(200);
      expect(res.body.accessDeletion).toEqual({ id: a.id });
      expectError(await accessInfo(user, a.token), 403, 'invalid-access-token');
    }
  });

  it('with feature selfRevoke forbidden an access cannot delete itself (403), the personal one still can', async () => {
    const a = await made(user, {
      name: `no-self-${suffix()}`,
      permissions: [
        { streamId: '*', level: 'read' },
        { feature: 'selfRevoke', setting: 'forbidden' },
      ],
    });
    expect(a.permissions).toContainEqual({ feature: 'selfRevoke', setting: 'forbidden' });
    expectError(await del(a.id, a.token), 403, 'forbidden');
    expect((await accessInfo(user, a.token)).status).toBe(200);
    expect((await del(a.id, user.token)).status).toBe(200);
  });

  it('an app deletes the accesses it created, not others (403); a shared one deletes no other access', async () => {
    const app = await made(user, { type: 'app', name: `owner-${suffix()}`, permissions: [{ streamId: '*', level: 'manage' }] });
    const mine = await made(user, { name: `owned-${suffix()}`, permissions: [{ streamId: '*', level: 'read' }] }, app.token);
    const notMine = await made(user, { name: `not-owned-${suffix()}`, permissions: [{ streamId: '*', level: 'read' }] });
    const otherApp = await made(user, { type: 'app', name: `other-${suffix()}`, permissions: [{ streamId: '*', level: 'read' }] });

    expectError(await del(notMine.id, app.token), 403, 'forbidden');
    expectError(await del(otherApp.id, app.token), 403, 'forbidden');
    expectError(await del((await accessInfo(user, user.token)).body.id, app.token), 403, 'forbidden');
    expectError(await del(notMine.id, mine.token), 403, 'forbidden');
    expectError(await del(app.id, mine.token), 403, 'forbidden');
    for (const a of [notMine, otherApp, app, mine]) expect((await accessInfo(user, a.token)).status).toBe(200);

    const res = await del(mine.id, app.token);
    expect(res.status).toBe(200);
    expect(res.body.accessDeletion).toEqual({ id: mine.id });
    expectError(await accessInfo(user, mine.token), 403, 'invalid-access-token');
  });

  it('deleting an app access also deletes the non-expired shared accesses it created (relatedDeletions)', async () => {
    const app = await made(user, { type: 'app', name: `parent-${suffix()}`, permissions: [{ streamId: '*', level: 'manage' }] });
    const child1 = await made(user, { name: `child1-${suffix()}`, permissions: [{ streamId: '*', level: 'read' }] }, app.token);
    const child2 = await made(user, { name: `child2-${suffix()}`, permissions: [{ streamId: '*', level: 'contribute' }] }, app.token);
    const expiredChild = await made(
      user,
      { name: `child-exp-${suffix()}`, expireAfter: 0, permissions: [{ streamId: '*', level: 'read' }] },
      app.token,
    );
    const unrelated = await made(user, { name: `unrelated-${suffix()}`, permissions: [{ streamId: '*', level: 'read' }] });
    await new Promise((r) => setTimeout(r, 20));

    const res = await del(app.id, user.token);
    expect(res.status).toBe(200);
    expect(res.body.accessDeletion).toEqual({ id: app.id });
    expect(res.body.relatedDeletions.map((x: { id: string }) => x.id).sort()).toEqual([child1.id, child2.id].sort());
    for (const a of [app, child1, child2]) expectError(await accessInfo(user, a.token), 403, 'invalid-access-token');
    expect((await accessInfo(user, unrelated.token)).status).toBe(200);
    // The expired one is left as it was (still listed with includeExpired, still "expired").
    expect(await liveIds(user)).toContain(expiredChild.id);
    expectError(await accessInfo(user, expiredChild.token), 403, 'forbidden');
    const deletions = (await listAccesses(user, '?includeDeletions=true')).body.accessDeletions.map((x: { id: string }) => x.id);
    expect(deletions).toEqual(expect.arrayContaining([app.id, child1.id, child2.id]));
    expect(deletions).not.toContain(expiredChild.id);
  });

  it('an app deleting itself takes its shared accesses along', async () => {
    const app = await made(user, { type: 'app', name: `self-parent-${suffix()}`, permissions: [{ streamId: '*', level: 'manage' }] });
    const child = await made(user, { name: `self-child-${suffix()}`, permissions: [{ streamId: '*', level: 'read' }] }, app.token);
    const res = await del(app.id, app.token);
    expect(res.status).toBe(200);
    expect(res.body.relatedDeletions).toEqual([{ id: child.id }]);
    expectError(await accessInfo(user, child.token), 403, 'invalid-access-token');
  });

  it('deleting a personal access leaves the accesses it created (spec §2.4: the v1 cascade is a bug fixed in v2)', async () => {
    const session = await login(user, 'other-test-app');
    expect(session.status).toBe(200);
    const personal = { token: session.body.token as string, id: (await accessInfo(user, session.body.token)).body.id as string };
    const app = await made(
      user,
      { type: 'app', name: `kept-${suffix()}`, permissions: [{ streamId: '*', level: 'read' }] },
      personal.token,
    );
    expect(app.createdBy).toBe(personal.id);
    const res = await del(personal.id, user.token);
    expect(res.status).toBe(200);
    expect(res.body.relatedDeletions).toBeUndefined();
    expectError(await accessInfo(user, personal.token), 403, 'invalid-access-token');
    expect((await accessInfo(user, app.token)).status).toBe(200);
  });

  it('an unknown or already deleted id → 404 unknown-resource', async () => {
    expectError(await del('cunknownaccessid000000000', user.token), 404, 'unknown-resource');
    const a = await made(user, { name: `twice-${suffix()}`, permissions: [{ streamId: '*', level: 'read' }] });
    expect((await del(a.id, user.token)).status).toBe(200);
    expectError(await del(a.id, user.token), 404, 'unknown-resource');
  });
});

describe('accesses.checkApp (spec §2.4)', () => {
  let user: TestUser;
  let existing: Record<string, any>;
  beforeAll(async () => {
    useRuntimeStore();
    user = await createUser();
    existing = await createStream(user, { id: `health-${suffix()}`, name: `Health ${suffix()}` });
  });

  const check = (body: Record<string, unknown>, token = user.token) =>
    call('POST', `/${user.username}/accesses/check-app`, { token, body });

  it('is personal only: app and shared → 403 forbidden', async () => {
    const app = await made(user, { type: 'app', name: `ca-app-${suffix()}`, permissions: [{ streamId: '*', level: 'manage' }] });
    const shared = await made(user, { name: `ca-shared-${suffix()}`, permissions: [{ streamId: '*', level: 'manage' }] });
    for (const token of [app.token, shared.token]) {
      expectError(
        await check({ requestingAppId: app.name, requestedPermissions: [{ streamId: '*', level: 'read' }] }, token),
        403,
        'forbidden',
      );
    }
  });

  it('matchingAccess when an app access with the same name, deviceName, permissions and clientData exists', async () => {
    const appId = `match-app-${suffix()}`;
    const streamId = `m-${suffix()}`;
    const app = await made(user, {
      type: 'app',
      name: appId,
      deviceName: 'phone',
      clientData: { 'x:y': { z: [1, 2] } },
      permissions: [
        { streamId, level: 'contribute', defaultName: 'Match stream' },
        { streamId: existing.id, level: 'read', defaultName: 'Health' },
      ],
    });
    const res = await check({
      requestingAppId: appId,
      deviceName: 'phone',
      clientData: { 'x:y': { z: [1, 2] } },
      // same set, other order
      requestedPermissions: [
        { streamId: existing.id, level: 'read', defaultName: 'Health' },
        { streamId, level: 'contribute', defaultName: 'Match stream' },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.matchingAccess).toMatchObject({ id: app.id, token: app.token, type: 'app', name: appId, deviceName: 'phone' });
    expect(res.body.matchingAccess.apiEndpoint).toContain(app.token);
    expect(res.body).not.toHaveProperty('mismatchingAccess');
    expect(res.body).not.toHaveProperty('checkedPermissions');

    // Once deleted, it matches no more.
    expect((await call('DELETE', `/${user.username}/accesses/${app.id}`, { token: user.token })).status).toBe(200);
    const after = await check({
      requestingAppId: appId,
      deviceName: 'phone',
      clientData: { 'x:y': { z: [1, 2] } },
      requestedPermissions: [
        { streamId: existing.id, level: 'read', defaultName: 'Health' },
        { streamId, level: 'contribute', defaultName: 'Match stream' },
      ],
    });
    expect(after.status).toBe(200);
    expect(after.body).not.toHaveProperty('matchingAccess');
    expect(after.body).not.toHaveProperty('mismatchingAccess');
    expect(after.body.checkedPermissions).toHaveLength(2);
  });

  it('mismatchingAccess + checkedPermissions when permissions, clientData or deviceName differ', async () => {
    const appId = `mismatch-app-${suffix()}`;
    const streamId = `mm-${suffix()}`;
    const app = await made(user, {
      type: 'app',
      name: appId,
      clientData: { a: 1 },
      permissions: [{ streamId, level: 'read', defaultName: 'MM' }],
    });
    const variants: Array<Record<string, unknown>> = [
      { clientData: { a: 1 }, requestedPermissions: [{ streamId, level: 'contribute', defaultName: 'MM' }] },
      { clientData: { a: 2 }, requestedPermissions: [{ streamId, level: 'read', defaultName: 'MM' }] },
      { requestedPermissions: [{ streamId, level: 'read', defaultName: 'MM' }] },
      {
        clientData: { a: 1 },
        requestedPermissions: [
          { streamId, level: 'read', defaultName: 'MM' },
          { streamId: existing.id, level: 'read', defaultName: 'Health' },
        ],
      },
    ];
    for (const v of variants) {
      const res = await check({ requestingAppId: appId, ...v });
      expect(res.status, JSON.stringify(v)).toBe(200);
      expect(res.body).not.toHaveProperty('matchingAccess');
      expect(res.body.mismatchingAccess?.id, JSON.stringify(v)).toBe(app.id);
      expect(res.body.checkedPermissions.length).toBe((v.requestedPermissions as unknown[]).length);
    }
    // Another device name: no such access at all.
    const other = await check({
      requestingAppId: appId,
      deviceName: 'tablet',
      clientData: { a: 1 },
      requestedPermissions: [{ streamId, level: 'read', defaultName: 'MM' }],
    });
    expect(other.status).toBe(200);
    expect(other.body).not.toHaveProperty('matchingAccess');
    expect(other.body).not.toHaveProperty('mismatchingAccess');
    expect(other.body.checkedPermissions).toBeDefined();
  });

  it('checkedPermissions: existing streams get their actual name (no defaultName), missing ones keep defaultName', async () => {
    const missing = `missing-${suffix()}`;
    const res = await check({
      requestingAppId: `fresh-app-${suffix()}`,
      requestedPermissions: [
        { streamId: existing.id, level: 'read', defaultName: 'Whatever' },
        { streamId: missing, level: 'contribute', defaultName: `Unique ${missing}` },
        { streamId: '*', level: 'read' },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.checkedPermissions).toEqual([
      { streamId: existing.id, level: 'read', name: existing.name },
      { streamId: missing, level: 'contribute', defaultName: `Unique ${missing}` },
      { streamId: '*', level: 'read' },
    ]);
    expect(res.body).not.toHaveProperty('error');
    expect(res.body).not.toHaveProperty('mismatchingAccess');
    // Checking creates nothing.
    expect((await rootStreams(user, '?state=all')).find((s) => s.id === missing)).toBeUndefined();
  });

  it('a missing defaultName on a stream permission → 400', async () => {
    const res = await check({ requestingAppId: `nodn-${suffix()}`, requestedPermissions: [{ streamId: existing.id, level: 'read' }] });
    expectError(res, 400, 'invalid-parameters-format');
    const missingAll = await check({ requestedPermissions: [] });
    expectError(missingAll, 400, 'invalid-parameters-format');
  });

  it('a root stream already named defaultName → "Name (1)", "(2)"… and an item-already-exists error', async () => {
    const name = `Taken ${suffix()}`;
    await createStream(user, { id: `taken-${suffix()}`, name });
    const res = await check({
      requestingAppId: `clash-app-${suffix()}`,
      requestedPermissions: [{ streamId: `clash-${suffix()}`, level: 'read', defaultName: name }],
    });
    expect(res.status).toBe(200);
    expect(res.body.checkedPermissions[0].defaultName).toBe(`${name} (1)`);
    expect(res.body.error).toMatchObject({ id: 'item-already-exists' });
    expect(typeof res.body.error.message).toBe('string');

    await createStream(user, { id: `taken1-${suffix()}`, name: `${name} (1)` });
    const again = await check({
      requestingAppId: `clash-app-${suffix()}`,
      requestedPermissions: [{ streamId: `clash-${suffix()}`, level: 'read', defaultName: name }],
    });
    expect(again.body.checkedPermissions[0].defaultName).toBe(`${name} (2)`);
    expect(again.body.error.id).toBe('item-already-exists');
  });

  it('an expired matching access is a mismatch', async () => {
    const appId = `expired-app-${suffix()}`;
    const permissions = [{ streamId: existing.id, level: 'read', defaultName: 'Health' }];
    const app = await made(user, { type: 'app', name: appId, expireAfter: 0, permissions });
    await new Promise((r) => setTimeout(r, 20));
    const res = await check({ requestingAppId: appId, requestedPermissions: permissions });
    expect(res.status).toBe(200);
    expect(res.body).not.toHaveProperty('matchingAccess');
    expect(res.body.mismatchingAccess?.id).toBe(app.id);
    expect(res.body.checkedPermissions).toEqual([{ streamId: existing.id, level: 'read', name: existing.name }]);
  });
});

describe('getAccessInfo for app and shared accesses (spec §2.1, §1.3)', () => {
  it('shows type, name, permissions; lastUsed and calls counters grow with use', async () => {
    useRuntimeStore();
    const user = await createUser();
    const stream = await createStream(user, { id: `info-${suffix()}`, name: 'Info' });
    const app = await made(user, {
      type: 'app',
      name: `info-app-${suffix()}`,
      deviceName: 'watch',
      permissions: [{ streamId: stream.id, level: 'contribute' }],
    });
    const shared = await made(user, { name: `info-shared-${suffix()}`, permissions: [{ streamId: stream.id, level: 'read' }] }, app.token);

    for (const a of [app, shared]) {
      const first = await accessInfo(user, a.token);
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({
        id: a.id,
        token: a.token,
        type: a.type,
        name: a.name,
        permissions: a.permissions,
        user: { username: user.username },
      });
      if (a === shared) {
        expect(first.body.calls).toEqual({});
        expect(first.body.lastUsed).toBeUndefined();
      }
    }
    expect((await accessInfo(user, app.token)).body.deviceName).toBe('watch');
    const fresh = await accessInfo(user, shared.token);
    expect(fresh.body.calls).toEqual({ getAccessInfo: 1 });

    const t0 = nowS();
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 2; i++) {
      const res = await call('GET', `/${user.username}/events?streams=${stream.id}`, { token: shared.token });
      expect(res.status).toBe(200);
    }
    expect((await call('GET', `/${user.username}/streams`, { token: shared.token })).status).toBe(200);
    // A refused call is not counted.
    expect(
      (
        await call('POST', `/${user.username}/events`, {
          token: shared.token,
          body: { streamIds: [stream.id], type: 'note/txt', content: 'x' },
        })
      ).status,
    ).toBe(403);

    const info = await accessInfo(user, shared.token);
    expect(info.body.calls).toEqual({ getAccessInfo: 2, 'events:get': 2, 'streams:get': 1 });
    expect(info.body.lastUsed).toBeGreaterThan(t0);
    const again = await accessInfo(user, shared.token);
    expect(again.body.calls).toEqual({ getAccessInfo: 3, 'events:get': 2, 'streams:get': 1 });
    expect(again.body.lastUsed).toBeGreaterThanOrEqual(info.body.lastUsed);

    // The app's counters are its own.
    const appInfo = await accessInfo(user, app.token);
    expect(appInfo.body.calls).toEqual({ getAccessInfo: 2, 'accesses:create': 1 });
    expect(appInfo.body.lastUsed).toBeLessThan(info.body.lastUsed);
  });

  it('counts concurrent calls of one access exactly once each, with an audit record for each', async () => {
    // The first call of a method creates its counter; the following ones increment it in the
    // same request as their audit record (README "Performance": what a call writes).
    useRuntimeStore();
    const user = await createUser();
    const stream = await createStream(user, { id: `count-${suffix()}`, name: 'Count' });
    const app = await made(user, { type: 'app', name: `count-${suffix()}`, permissions: [{ streamId: stream.id, level: 'contribute' }] });
    const create = (i: number) =>
      call('POST', `/${user.username}/events`, { token: app.token, body: { streamIds: [stream.id], type: 'count/generic', content: i } });
    expect((await create(0)).status).toBe(201);
    const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => create(i + 1)));
    expect(burst.map((r) => r.status)).toEqual(Array(12).fill(201));
    const reads = await Promise.all(
      Array.from({ length: 5 }, () => call('GET', `/${user.username}/events?streams=${stream.id}`, { token: app.token })),
    );
    expect(reads.map((r) => r.status)).toEqual(Array(5).fill(200));

    const info = await accessInfo(user, app.token);
    expect(info.body.calls).toEqual({ 'events:create': 13, 'events:get': 5 });
    const logs = await call('GET', `/${user.username}/audit/logs?accessId=${app.id}&limit=100`, { token: user.token });
    expect(logs.status).toBe(200);
    const actions = (logs.body.auditLogs as Array<{ action: string; status: number }>).map((l) => `${l.action} ${l.status}`);
    expect(actions.filter((a) => a === 'events.create 201')).toHaveLength(13);
    expect(actions.filter((a) => a === 'events.get 200')).toHaveLength(5);
  });
});

describe('caller ids (Authorization "{token} {callerId}")', () => {
  it('an app still owns the shared accesses it created with a caller id', async () => {
    const user = await createUser();
    await createStream(user, { id: `s-${suffix()}`, name: `S ${suffix()}` });
    const app = await made(user, { type: 'app', name: `app-${suffix()}`, permissions: [{ streamId: '*', level: 'manage' }] });
    const shared = await made(
      user,
      { name: `shared-${suffix()}`, permissions: [{ streamId: '*', level: 'read' }] },
      `${app.token} device-42`,
    );
    expect(shared.createdBy).toBe(`${app.id} device-42`);
    const listed = await listAccesses(user, '', app.token);
    expect(listed.body.accesses.map((a: { id: string }) => a.id)).toContain(shared.id);
    const deleted = await call('DELETE', `/${user.username}/accesses/${app.id}`, { token: user.token });
    expect(deleted.status).toBe(200);
    expect(deleted.body.relatedDeletions).toEqual([{ id: shared.id }]);
  });
});
