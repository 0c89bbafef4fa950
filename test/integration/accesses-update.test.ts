import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiResponse, apiUrl, call, createUser, expectError, type TestUser, useRuntimeStore } from '../setup/api';

/** [v2] accesses.getOne and accesses.update (spec §2.4, §3.3, §4.4): through the API only. */

const pryv: any = createRequire(import.meta.url)('pryv');

const suffix = () => randomBytes(4).toString('hex');
const nowS = () => Date.now() / 1000;

let user: TestUser;
let personalId: string;

async function made(body: Record<string, unknown>, token = user.token): Promise<Record<string, any>> {
  const res = await call('POST', `/${user.username}/accesses`, { token, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.access;
}

const update = (id: string, body: unknown, token = user.token): Promise<ApiResponse> =>
  call('PUT', `/${user.username}/accesses/${encodeURIComponent(id)}`, { token, body });

const getOne = (id: string, token = user.token, query = ''): Promise<ApiResponse> =>
  call('GET', `/${user.username}/accesses/${encodeURIComponent(id)}${query}`, { token });

/** An access without `lastUsed`, which moves with every call its token makes. */
const stable = ({ lastUsed: _l, ...access }: Record<string, any>) => access;

async function updated(id: string, body: unknown, token = user.token): Promise<Record<string, any>> {
  const res = await update(id, body, token);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.access;
}

/** An app access (manage on diary, contribute on work) and a shared access it created (read on diary-child). */
async function family(appExtra: Record<string, unknown> = {}) {
  const app = await made({
    type: 'app',
    name: `app-${suffix()}`,
    permissions: [
      { streamId: 'diary', level: 'manage' },
      { streamId: 'work', level: 'contribute' },
    ],
    ...appExtra,
  });
  const shared = await made({ name: `shared-${suffix()}`, permissions: [{ streamId: 'diary-child', level: 'read' }] }, app.token);
  return { app, shared };
}

beforeAll(async () => {
  useRuntimeStore();
  user = await createUser();
  personalId = (await call('GET', `/${user.username}/access-info`, { token: user.token })).body.id;
  for (const body of [
    { id: 'diary', name: 'Diary' },
    { id: 'diary-child', name: 'Diary child', parentId: 'diary' },
    { id: 'work', name: 'Work' },
  ]) {
    const res = await call('POST', `/${user.username}/streams`, { token: user.token, body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }
});

describe('versioned ids and stale versions', () => {
  it('an update answers the access with `{id}:{serial}`, the same token, new authorship, no internal fields', async () => {
    const { shared } = await family();
    const before = nowS();
    const access = await updated(shared.id, { name: 'renamed' });
    expect(access).toMatchObject({ id: `${shared.id}:1`, name: 'renamed', token: shared.token, type: 'shared', modifiedBy: personalId });
    expect(access.modified).toBeGreaterThanOrEqual(before - 5);
    expect(access.apiEndpoint).toBe(shared.apiEndpoint);
    expect(access).not.toHaveProperty('serial');
    expect(access).not.toHaveProperty('calls');
    // Every listing shows the versioned id; the token keeps working and sees its own id so.
    const list = (await call('GET', `/${user.username}/accesses`, { token: user.token })).body.accesses as any[];
    expect(list.find((a) => a.token === shared.token).id).toBe(`${shared.id}:1`);
    const info = await call('GET', `/${user.username}/access-info`, { token: shared.token });
    expect(info.body).toMatchObject({ id: `${shared.id}:1`, name: 'renamed' });

    expect((await updated(`${shared.id}:1`, { name: 'again' })).id).toBe(`${shared.id}:2`);
  });

  it('an id that is not the current version is 409 stale-resource with the current serial; nothing changes', async () => {
    const { shared } = await family();
    await updated(shared.id, { name: 'first' });
    expectError(await update(shared.id, { name: 'from a bare id' }), 409, 'stale-resource', { provided: shared.id, currentSerial: 1 });
    await updated(`${shared.id}:1`, { name: 'second' });
    expectError(await update(`${shared.id}:1`, { name: 'stale' }), 409, 'stale-resource', {
      provided: `${shared.id}:1`,
      currentSerial: 2,
    });
    expectError(await update(`${shared.id}:7`, { name: 'future' }), 409, 'stale-resource', {
      provided: `${shared.id}:7`,
      currentSerial: 2,
    });
    const fresh = await family();
    expectError(await update(`${fresh.shared.id}:1`, { name: 'never updated' }), 409, 'stale-resource', {
      provided: `${fresh.shared.id}:1`,
      currentSerial: null,
    });
    expect((await getOne(shared.id)).body.access).toMatchObject({ id: `${shared.id}:2`, name: 'second' });
  });

  it('of concurrent updates from one version exactly one wins; the others are stale and leave no version', async () => {
    const { shared } = await family();
    const answers = await Promise.all([1, 2, 3, 4, 5].map((n) => update(shared.id, { name: `racer-${n}` })));
    const won = answers.filter((r) => r.status === 200);
    expect(won).toHaveLength(1);
    for (const lost of answers.filter((r) => r.status !== 200)) {
      expectError(lost, 409, 'stale-resource', { provided: shared.id, currentSerial: 1 });
    }
    const read = await getOne(shared.id, user.token, '?includeHistory=true');
    expect(read.body.access).toMatchObject({ id: `${shared.id}:1`, name: won[0]!.body.access.name });
    expect(read.body.history.map((v: any) => v.name)).toEqual([shared.name]);
  });

  it('accesses.delete takes the current versioned id; a bare id after an update is stale', async () => {
    const { shared } = await family();
    await updated(shared.id, { name: 'to delete' });
    expectError(await call('DELETE', `/${user.username}/accesses/${shared.id}`, { token: user.token }), 409, 'stale-resource', {
      provided: shared.id,
      currentSerial: 1,
    });
    const res = await call('DELETE', `/${user.username}/accesses/${shared.id}:1`, { token: user.token });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.accessDeletion).toEqual({ id: `${shared.id}:1` });
    expectError(await getOne(`${shared.id}:1`), 404, 'unknown-resource');
    expectError(await update(`${shared.id}:1`, { name: 'ghost' }), 404, 'unknown-resource');
  });
});

describe('accesses.getOne (spec §2.4 [v2])', () => {
  it('answers the current access, an older version with `current`, and the history oldest first', async () => {
    const { shared } = await family();
    expect((await getOne(shared.id)).body).toEqual({ access: shared, meta: expect.any(Object) });
    await updated(shared.id, { name: 'rev-1', clientData: { note: 1 } });
    await updated(`${shared.id}:1`, { name: 'rev-2' });

    const current = await getOne(shared.id);
    expect(current.status).toBe(200);
    expect(current.body.access).toMatchObject({ id: `${shared.id}:2`, name: 'rev-2', clientData: { note: 1 } });
    expect(current.body).not.toHaveProperty('current');
    expect(current.body).not.toHaveProperty('history');
    expect((await getOne(`${shared.id}:2`)).body.access.name).toBe('rev-2');

    const old = await getOne(`${shared.id}:1`);
    expect(old.status).toBe(200);
    expect(old.body.access).toMatchObject({ id: `${shared.id}:1`, name: 'rev-1', token: shared.token });
    expect(old.body.current).toBe(`${shared.id}:2`);

    const withHistory = await getOne(`${shared.id}:2`, user.token, '?includeHistory=true');
    expect(withHistory.body.access.id).toBe(`${shared.id}:2`);
    expect(withHistory.body.history.map((v: any) => [v.id, v.name])).toEqual([
      [shared.id, shared.name],
      [`${shared.id}:1`, 'rev-1'],
    ]);
    expect(withHistory.body.history[0]).toEqual(shared);
    expect(withHistory.body.history[0]).not.toHaveProperty('calls');
  });

  it('an unknown id or a serial that never was is 404 unknown-resource', async () => {
    const { shared } = await family();
    expectError(await getOne('no-such-access'), 404, 'unknown-resource');
    expectError(await getOne(`${shared.id}:3`), 404, 'unknown-resource');
  });

  it('personal reads any access; an app itself and what it created; others are 403; shared tokens are refused', async () => {
    const { app, shared } = await family();
    const other = await family();
    const byPersonal = await made({ name: `p-shared-${suffix()}`, permissions: [{ streamId: 'work', level: 'read' }] });
    for (const id of [app.id, shared.id, byPersonal.id, personalId]) expect((await getOne(id)).status).toBe(200);
    expect((await getOne(app.id, app.token)).body.access.id).toBe(app.id);
    expect((await getOne(shared.id, app.token)).body.access.id).toBe(shared.id);
    for (const id of [other.app.id, other.shared.id, byPersonal.id, personalId]) {
      expectError(await getOne(id, app.token), 403, 'forbidden');
    }
    for (const id of [shared.id, app.id]) expectError(await getOne(id, shared.token), 403, 'forbidden');
  });
});

describe('who may update what (spec §2.4 method table)', () => {
  it('personal accesses are immutable, even for themselves', async () => {
    expectError(await update(personalId, { name: 'not mine to rename' }), 403, 'forbidden');
  });

  it('an app updates the shared accesses it created, not itself, another app or what others created', async () => {
    const { app, shared } = await family();
    const other = await family();
    const byPersonal = await made({ name: `p-shared-${suffix()}`, permissions: [{ streamId: 'work', level: 'read' }] });
    expect((await updated(shared.id, { name: `by-app-${suffix()}` }, app.token)).modifiedBy).toBe(app.id);
    for (const id of [app.id, other.app.id, other.shared.id, byPersonal.id, personalId]) {
      expectError(await update(id, { name: `nope-${suffix()}` }, app.token), 403, 'forbidden');
    }
  });

  it('a shared access updates nothing, not even itself', async () => {
    const { shared } = await family();
    expectError(await update(shared.id, { name: 'self' }, shared.token), 403, 'forbidden');
  });

  it('a personal access updates app and shared accesses', async () => {
    const { app, shared } = await family();
    expect((await updated(app.id, { name: `app-${suffix()}` })).id).toBe(`${app.id}:1`);
    expect((await updated(shared.id, { name: `sh-${suffix()}` })).id).toBe(`${shared.id}:1`);
  });
});

describe('alterable fields', () => {
  it('refuses every other field, a numeric `expires`, a negative expireAfter, both expiry forms, a device name on shared: 400, nothing changed', async () => {
    const { app, shared } = await family();
    for (const body of [
      { token: 'new-token' },
      { type: 'app' },
      { id: 'other-id' },
      { created: 1 },
      { modifiedBy: 'me' },
      { apiEndpoint: 'https://x' },
      { expires: nowS() + 60 },
      { name: '' },
      { permissions: [{ streamId: 'diary', level: 'owner' }] },
    ]) {
      const res = await update(shared.id, body);
      expectError(res, 400, 'invalid-parameters-format');
      expect(Array.isArray(res.body.error.data), JSON.stringify(res.body)).toBe(true);
    }
    expectError(await update(shared.id, { expireAfter: -1 }), 400, 'invalid-parameters-format');
    expectError(await update(shared.id, { expireAfter: 60, expires: null }), 400, 'invalid-parameters-format');
    expectError(await update(shared.id, { deviceName: 'phone' }), 400, 'invalid-parameters-format');
    expectError(await update(shared.id, { permissions: [{ streamId: 'bad"id', level: 'read' }] }), 400, 'invalid-request-structure');
    expect((await getOne(shared.id)).body.access).toEqual(shared);
    expect(stable((await getOne(app.id)).body.access)).toEqual(stable(app));
  });

  it('changes name, deviceName, clientData (merged per key), permissions and expiry', async () => {
    const { app } = await family({ clientData: { keep: 1, drop: 2 } });
    const before = nowS();
    let access = await updated(app.id, { deviceName: 'Phone', clientData: { drop: null, added: 'x' }, expireAfter: 3600 });
    expect(access).toMatchObject({ deviceName: 'Phone', clientData: { keep: 1, added: 'x' } });
    expect(access.expires).toBeGreaterThanOrEqual(before + 3600 - 5);
    expect(access.expires).toBeLessThanOrEqual(nowS() + 3600 + 5);
    access = await updated(access.id, { deviceName: null, expires: null, clientData: null });
    expect(access).not.toHaveProperty('deviceName');
    expect(access).not.toHaveProperty('expires');
    expect(access).not.toHaveProperty('clientData');
    expect(stable((await getOne(app.id)).body.access)).toEqual(stable(access));
  });

  it('permissions as checkApp gives them (name, defaultName) are accepted and stripped; a personal caller gets the missing stream created', async () => {
    const { app } = await family();
    const streamId = `new-${suffix()}`;
    const access = await updated(app.id, {
      permissions: [
        { streamId: 'diary', level: 'manage', name: 'Diary' },
        { streamId, level: 'read', defaultName: 'New stream' },
      ],
    });
    expect(access.permissions).toEqual([
      { streamId: 'diary', level: 'manage' },
      { streamId, level: 'read' },
    ]);
    const streams = (await call('GET', `/${user.username}/streams`, { token: user.token })).body.streams as any[];
    expect(streams.find((s) => s.id === streamId)).toMatchObject({ name: 'New stream', parentId: null });
  });

  it('renaming onto an existing (type, name, deviceName) is 409; the old name is free afterwards', async () => {
    const first = await family();
    const second = await family();
    expectError(await update(second.app.id, { name: first.app.name }), 409, 'item-already-exists', {
      type: 'app',
      name: first.app.name,
      deviceName: null,
    });
    const oldName = second.app.name;
    await updated(second.app.id, { name: `moved-${suffix()}` });
    await made({ type: 'app', name: oldName, permissions: [{ streamId: 'work', level: 'read' }] });
  });
});

describe('chain rules between an app access and the shared accesses it manages', () => {
  it('a shared access cannot get permissions its app does not have: 400 invalid-operation, from the app or from personal', async () => {
    const { app, shared } = await family();
    for (const token of [app.token, user.token]) {
      expectError(await update(shared.id, { permissions: [{ streamId: 'work', level: 'manage' }] }, token), 400, 'invalid-operation', {
        managingAccessId: app.id,
      });
    }
    // Within the app's rights it is fine.
    expect((await updated(shared.id, { permissions: [{ streamId: 'work', level: 'contribute' }] }, app.token)).permissions).toEqual([
      { streamId: 'work', level: 'contribute' },
    ]);
  });

  it('narrowing an app below a live shared access it manages is 400 with offendingChildren; narrowing around it is fine', async () => {
    const { app, shared } = await family();
    const fine = await made({ name: `fine-${suffix()}`, permissions: [{ streamId: 'work', level: 'read' }] }, app.token);
    expectError(await update(app.id, { permissions: [{ streamId: 'work', level: 'contribute' }] }), 400, 'invalid-operation', {
      offendingChildren: [shared.id],
    });
    expectError(await update(app.id, { permissions: [{ streamId: 'diary', level: 'read' }] }), 400, 'invalid-operation', {
      offendingChildren: [fine.id],
    });
    const narrowed = await updated(app.id, {
      permissions: [
        { streamId: 'diary-child', level: 'read' },
        { streamId: 'work', level: 'read' },
      ],
    });
    expect(narrowed.id).toBe(`${app.id}:1`);
  });

  it('a shared access cannot expire after its app (nor never, when the app expires): 400 with both dates', async () => {
    const { app, shared } = await family();
    // The app gets an expiry; its shared access without one is not judged by that.
    const appExpires = (await updated(app.id, { expireAfter: 3600 })).expires as number;
    const late = await update(shared.id, { expireAfter: 7200 }, app.token);
    expectError(late, 400, 'invalid-operation');
    expect(late.body.error.data.parentExpires).toBe(appExpires);
    expect(late.body.error.data.requestedExpires).toBeGreaterThan(appExpires);
    expectError(await update(shared.id, { expires: null }), 400, 'invalid-operation', {
      parentExpires: appExpires,
      requestedExpires: null,
    });
    const within = await updated(shared.id, { expireAfter: 60 });
    expect(within.expires).toBeLessThanOrEqual(appExpires);
    // The app cannot now be cut shorter than its shared access.
    expectError(await update(`${app.id}:1`, { expireAfter: 10 }), 400, 'invalid-operation', { offendingChildren: [within.id] });
  });

  it('accesses.create applies the same expiry rule to what an expiring app creates', async () => {
    const { app } = await family({ expireAfter: 3600 });
    const res = await call('POST', `/${user.username}/accesses`, {
      token: app.token,
      body: { name: `late-${suffix()}`, permissions: [{ streamId: 'work', level: 'read' }], expireAfter: 7200 },
    });
    expectError(res, 400, 'invalid-operation');
    expect(res.body.error.data.parentExpires).toBe(app.expires);
    await made({ name: `in-time-${suffix()}`, permissions: [{ streamId: 'work', level: 'read' }], expireAfter: 60 }, app.token);
  });
});

describe('effects of an update', () => {
  it("the updated token's next call honours the new permissions and expiry", async () => {
    const { app, shared } = await family();
    const ev = await call('POST', `/${user.username}/events`, {
      token: user.token,
      body: { streamIds: ['diary-child'], type: 'note/txt', content: 'private' },
    });
    expect(ev.status).toBe(201);
    const eventId = ev.body.event.id as string;
    const read = (token: string) => call('GET', `/${user.username}/events?streams=diary-child`, { token });
    expect((await read(shared.token)).body.events.map((e: any) => e.id)).toEqual([eventId]);

    const narrowed = await updated(shared.id, { permissions: [{ streamId: 'work', level: 'read' }] }, app.token);
    expectError(await read(shared.token), 403, 'forbidden');
    expectError(await call('GET', `/${user.username}/events/${eventId}`, { token: shared.token }), 403, 'forbidden');
    const all = await call('GET', `/${user.username}/events`, { token: shared.token });
    expect(all.status).toBe(200);
    expect(all.body.events.map((e: any) => e.id)).not.toContain(eventId);

    await updated(narrowed.id, { expireAfter: 0 }, app.token);
    expectError(await call('GET', `/${user.username}/access-info`, { token: shared.token }), 403, 'forbidden');
  });

  it('is recorded in the audit log like other access writes; the audit of an updated access is read by either id', async () => {
    const { shared } = await family();
    await updated(shared.id, { name: `audited-${suffix()}` });
    const logs = (await call('GET', `/${user.username}/audit/logs?limit=1000`, { token: user.token })).body.auditLogs as any[];
    const record = logs.find((l) => l.action === 'accesses.update' && l.query?.id === shared.id);
    expect(record).toMatchObject({ accessId: personalId, status: 200 });
    // The updated access's own records are found by the id it now shows, as by the one it was created with.
    expect((await call('GET', `/${user.username}/access-info`, { token: shared.token })).status).toBe(200);
    for (const id of [`${shared.id}:1`, shared.id]) {
      const own = (await call('GET', `/${user.username}/audit/logs?accessId=${id}`, { token: user.token })).body.auditLogs as any[];
      expect(own.map((l) => [l.accessId, l.action])).toEqual([[shared.id, 'getAccessInfo']]);
    }
  });

  it('works in a batch and over a socket with {id, update}', async () => {
    const { shared } = await family();
    const batch = await call('POST', `/${user.username}`, {
      token: user.token,
      body: [
        { method: 'accesses.update', params: { id: shared.id, update: { name: `batched-${suffix()}` } } },
        { method: 'accesses.getOne', params: { id: shared.id, includeHistory: true } },
      ],
    });
    expect(batch.status).toBe(200);
    expect(batch.body.results[0].access.id).toBe(`${shared.id}:1`);
    expect(batch.body.results[1].access.id).toBe(`${shared.id}:1`);
    expect(batch.body.results[1].history).toHaveLength(1);
  });
});

describe('with the pryv library', () => {
  it('Connection.apiOne() updates an access and reads it back with its history; a stale id rejects with the PryvError', async () => {
    const { shared } = await family();
    const endpoint = new URL(apiUrl());
    endpoint.username = user.token;
    endpoint.pathname = `/${user.username}/`;
    const connection = new pryv.Connection(endpoint.toString());
    const access = await connection.apiOne('accesses.update', { id: shared.id, update: { name: `lib-${suffix()}` } }, 'access');
    expect(access.id).toBe(`${shared.id}:1`);
    const [read] = await connection.api([{ method: 'accesses.getOne', params: { id: access.id, includeHistory: true } }]);
    expect(read.access.name).toBe(access.name);
    expect(read.history.map((v: any) => v.id)).toEqual([shared.id]);
    let err: any;
    try {
      await connection.apiOne('accesses.update', { id: shared.id, update: { name: 'stale' } }, 'access');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(pryv.PryvError);
    expect(err.innerObject).toMatchObject({ id: 'stale-resource', data: { provided: shared.id, currentSerial: 1 } });
  });
});

describe('notifications', () => {
  const sockets: Socket[] = [];
  afterAll(() => {
    for (const s of sockets) s.close();
  });

  it('an update reaches a socket of the user as accessesChanged and accessUpdated, and an update over the socket answers', async () => {
    const { shared } = await family();
    const socket = io(`${apiUrl()}/${user.username}/${user.username}?auth=${encodeURIComponent(user.token)}`, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
    });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    const changed = new Promise<void>((resolve) => socket.once('accessesChanged', () => resolve()));
    const accessUpdated = new Promise<unknown>((resolve) => socket.once('accessUpdated', resolve));
    await updated(shared.id, { name: `notified-${suffix()}` });
    await changed;
    expect(await accessUpdated).toEqual({ type: 'access-updated', accessId: `${shared.id}:1`, serial: 1 });

    const [err, res] = await new Promise<[any, any]>((resolve) =>
      socket.emit('accesses.update', { id: `${shared.id}:1`, update: { name: `by-socket-${suffix()}` } }, (e: any, r: any) =>
        resolve([e, r]),
      ),
    );
    expect(err).toBeNull();
    expect(res.access.id).toBe(`${shared.id}:2`);
  });
});
