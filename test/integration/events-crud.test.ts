import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Permission } from '../../shared/model/accesses';
import { insertAccess } from '../setup/accesses';
import { call, createUser, expectError, type TestUser, useRuntimeStore } from '../setup/api';

/** Calls of one user with one token. */
function as(username: string, token: string) {
  const base = `/${username}`;
  return {
    get: (path: string) => call('GET', base + path, { token }),
    post: (path: string, body: unknown) => call('POST', base + path, { token, body }),
    put: (path: string, body: unknown) => call('PUT', base + path, { token, body }),
    del: (path: string) => call('DELETE', base + path, { token }),
  };
}
type Client = ReturnType<typeof as>;

const sid = (prefix = 's') => `${prefix}-${randomBytes(4).toString('hex')}`;
/** A valid client-chosen event id (v1 cuid shape: `c` + 24 chars). */
const cuid = () => `c${[...randomBytes(24)].map((b) => (b % 36).toString(36)).join('')}`;

async function mkStream(api: Client, id: string, parentId: string | null = null) {
  const res = await api.post('/streams', { id, name: id, parentId });
  if (res.status !== 201) throw new Error(`stream not created: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.stream;
}

async function mkEvent(api: Client, streamIds: string[], extra: Record<string, unknown> = {}) {
  const res = await api.post('/events', { streamIds, type: 'note/txt', content: 'hello', ...extra });
  if (res.status !== 201) throw new Error(`event not created: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.event;
}

let user: TestUser;
let me: Client;
let personalAccessId: string;
/** Streams of the shared user: `diary` (with child `diary-sub`), `notes`, and the trashed `bin`. */
const S = { diary: 'diary', sub: 'diary-sub', notes: 'notes', bin: 'bin' };

beforeAll(async () => {
  useRuntimeStore();
  user = await createUser();
  me = as(user.username, user.token);
  personalAccessId = (await me.get('/access-info')).headers.get('pryv-access-id')!;
  await mkStream(me, S.diary);
  await mkStream(me, S.sub, S.diary);
  await mkStream(me, S.notes);
  await mkStream(me, S.bin);
  expect((await me.del(`/streams/${S.bin}`)).status).toBe(200);
});

describe('events.create (spec §2.2.3)', () => {
  it('201 {event} with the full read shape: streamId = streamIds[0], tags [], authorship = the access id', async () => {
    const res = await me.post('/events', {
      streamIds: [S.diary, S.notes],
      type: 'mass/kg',
      content: 72.5,
      time: 1700000000.5,
      description: 'morning',
      clientData: { 'app:k': 'v' },
    });
    expect(res.status).toBe(201);
    const e = res.body.event;
    expect(e).toEqual({
      id: expect.stringMatching(/^c[a-z0-9]{24}$/),
      streamIds: [S.diary, S.notes],
      streamId: S.diary,
      time: 1700000000.5,
      type: 'mass/kg',
      content: 72.5,
      description: 'morning',
      clientData: { 'app:k': 'v' },
      tags: [],
      created: expect.any(Number),
      createdBy: personalAccessId,
      modified: e.created,
      modifiedBy: personalAccessId,
      integrity: expect.stringMatching(/^EVENT:0:sha256-/),
    });
    expect(Math.abs(e.created - res.body.meta.serverTime)).toBeLessThan(5);
    const one = await me.get(`/events/${e.id}`);
    expect(one.status).toBe(200);
    expect(one.body.event).toEqual(e);
  });

  it('time defaults to now; server fields given in the body are overwritten', async () => {
    const res = await me.post('/events', {
      streamIds: [S.notes],
      type: 'note/txt',
      content: 'x',
      created: 1,
      createdBy: 'someone',
      modified: 2,
      modifiedBy: 'someone-else',
    });
    expect(res.status).toBe(201);
    const e = res.body.event;
    expect(Math.abs(e.time - res.body.meta.serverTime)).toBeLessThan(5);
    expect(e.created).toBeGreaterThan(1_600_000_000);
    expect(e.modified).toBe(e.created);
    expect(e.createdBy).toBe(personalAccessId);
    expect(e.modifiedBy).toBe(personalAccessId);
    expect(e).not.toHaveProperty('duration');
    expect(e).not.toHaveProperty('trashed');
  });

  it('streamIds are required; v1 streamId is accepted; both → 400 invalid-operation', async () => {
    expectError(await me.post('/events', { type: 'note/txt', content: 'x' }), 400, 'invalid-parameters-format');
    expectError(await me.post('/events', { streamIds: [], type: 'note/txt', content: 'x' }), 400, 'invalid-parameters-format');
    const v1 = await me.post('/events', { streamId: S.notes, type: 'note/txt', content: 'v1' });
    expect(v1.status).toBe(201);
    expect(v1.body.event).toMatchObject({ streamIds: [S.notes], streamId: S.notes });
    expectError(
      await me.post('/events', { streamId: S.notes, streamIds: [S.notes], type: 'note/txt', content: 'x' }),
      400,
      'invalid-operation',
    );
  });

  it('removes duplicate streamIds', async () => {
    const res = await me.post('/events', { streamIds: [S.notes, S.diary, S.notes, S.diary], type: 'note/txt', content: 'dup' });
    expect(res.status).toBe(201);
    expect(res.body.event.streamIds).toEqual([S.notes, S.diary]);
  });

  it('unknown streams → 400 unknown-referenced-resource {streamIds: [unknown ones]}; trashed stream → 400 invalid-operation', async () => {
    const ghost = sid('ghost');
    expectError(
      await me.post('/events', { streamIds: [S.notes, ghost], type: 'note/txt', content: 'x' }),
      400,
      'unknown-referenced-resource',
      { streamIds: [ghost] },
    );
    const trashed = await me.post('/events', { streamIds: [S.notes, S.bin], type: 'note/txt', content: 'x' });
    expectError(trashed, 400, 'invalid-operation');
    expect(trashed.body.error.data).toMatchObject({ trashedReference: 'streamIds' });
    // Below a trashed stream counts as trashed too.
    const binKid = sid('bin-kid');
    const u = await createUser();
    const api = as(u.username, u.token);
    await mkStream(api, 'p');
    await mkStream(api, binKid, 'p');
    await api.del('/streams/p');
    expectError(await api.post('/events', { streamIds: [binKid], type: 'note/txt', content: 'x' }), 400, 'invalid-operation');
  });

  it('accepts a custom cuid id; the same id again → 409 {id}; a malformed id → 400', async () => {
    const id = cuid();
    const res = await me.post('/events', { id, streamIds: [S.notes], type: 'note/txt', content: 'custom' });
    expect(res.status).toBe(201);
    expect(res.body.event.id).toBe(id);
    expectError(await me.post('/events', { id, streamIds: [S.diary], type: 'note/txt', content: 'again' }), 409, 'item-already-exists', {
      id,
    });
    expect((await me.get(`/events/${id}`)).body.event).toMatchObject({ streamIds: [S.notes], content: 'custom' });
    for (const bad of ['not-a-cuid', `C${'a'.repeat(24)}`, `c${'a'.repeat(30)}`, '']) {
      const r = await me.post('/events', { id: bad, streamIds: [S.notes], type: 'note/txt', content: 'bad id' });
      expect(r.status).toBe(400);
    }
  });

  it('of concurrent creations with one custom id exactly one wins, the others get 409 {id}', async () => {
    const id = cuid();
    const results = await Promise.all(
      [0, 1, 2, 3].map((i) => me.post('/events', { id, streamIds: [S.notes], type: 'note/txt', content: `racer ${i}` })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409]);
    for (const r of results.filter((x) => x.status === 409))
      expect(r.body.error).toMatchObject({ id: 'item-already-exists', data: { id } });
    const winner = results.find((r) => r.status === 201)!.body.event;
    expect((await me.get(`/events/${id}`)).body.event).toEqual(winner);
  });

  it('validates content against known types; unknown types accept anything', async () => {
    const bad = await me.post('/events', { streamIds: [S.notes], type: 'mass/kg', content: 'heavy' });
    expectError(bad, 400, 'invalid-parameters-format');
    expectError(await me.post('/events', { streamIds: [S.notes], type: 'mass/kg' }), 400, 'invalid-parameters-format');
    expectError(await me.post('/events', { streamIds: [S.notes], type: 'note/txt', content: 12 }), 400, 'invalid-parameters-format');
    expect((await me.post('/events', { streamIds: [S.notes], type: 'mass/kg', content: 80 })).status).toBe(201);
    for (const content of [{ any: ['thing'] }, 'text', 3, null, undefined]) {
      const res = await me.post('/events', { streamIds: [S.notes], type: 'my-own/format-x', content });
      expect(res.status).toBe(201);
      if (content === null || content === undefined) expect(res.body.event).not.toHaveProperty('content');
      else expect(res.body.event.content).toEqual(content);
    }
    expectError(await me.post('/events', { streamIds: [S.notes], type: 'Mass/KG', content: 1 }), 400, 'invalid-parameters-format');
    expectError(await me.post('/events', { streamIds: [S.notes], type: 'mass', content: 1 }), 400, 'invalid-parameters-format');
  });

  it('series types: content given → 400 invalid-parameters-format; unknown leaf type → 400 invalid-event-type', async () => {
    expectError(await me.post('/events', { streamIds: [S.notes], type: 'series:mass/kg', content: 5 }), 400, 'invalid-parameters-format');
    expectError(await me.post('/events', { streamIds: [S.notes], type: 'series:my-own/thing' }), 400, 'invalid-event-type', {
      type: 'series:my-own/thing',
    });
  });

  it('unknown fields and attachments in the body → 400 invalid-parameters-format', async () => {
    expectError(
      await me.post('/events', { streamIds: [S.notes], type: 'note/txt', content: 'x', color: 'red' }),
      400,
      'invalid-parameters-format',
    );
    expectError(
      await me.post('/events', { streamIds: [S.notes], type: 'note/txt', content: 'x', attachments: [] }),
      400,
      'invalid-parameters-format',
    );
  });

  it('a period event keeps its duration; duration 0 is a point event (no duration shown)', async () => {
    const period = await mkEvent(me, [S.notes], { time: 1700000000, duration: 3600 });
    expect(period.duration).toBe(3600);
    const point = await mkEvent(me, [S.notes], { duration: 0 });
    expect(point).not.toHaveProperty('duration');
  });

  it('a running event (duration: null) is shown with duration: null', async () => {
    const res = await me.post('/events', { streamIds: [S.notes], type: 'activity/plain', duration: null });
    expect(res.status).toBe(201);
    expect(res.body.event).toHaveProperty('duration', null);
    const one = await me.get(`/events/${res.body.event.id}`);
    expect(one.status).toBe(200);
    expect(one.body.event).toHaveProperty('duration', null);
    const running = await me.get('/events?running=true');
    expect(running.body.events.map((e: { id: string }) => e.id)).toContain(res.body.event.id);
  });

  it('stores very large times and durations (any JSON number DynamoDB can hold), never a 500', async () => {
    const far = await me.post('/events', { streamIds: [S.notes], type: 'note/txt', content: 'far', time: 1e20 });
    expect(far.status).toBe(201);
    expect((await me.get(`/events/${far.body.event.id}`)).body.event.time).toBe(1e20);
    const long = await me.post('/events', { streamIds: [S.notes], type: 'note/txt', content: 'long', time: 1700000000, duration: 1e17 });
    expect(long.status).toBe(201);
    expect((await me.get(`/events/${long.body.event.id}`)).body.event.duration).toBe(1e17);
  });
});

describe('events.getOne (spec §2.2.2)', () => {
  it('unknown event → 404 unknown-resource', async () => {
    expectError(await me.get(`/events/${cuid()}`), 404, 'unknown-resource');
  });

  it('includeHistory=true returns the previous versions, oldest first, each with id = the event id', async () => {
    const e = await mkEvent(me, [S.notes], { content: 'v1' });
    const u1 = await me.put(`/events/${e.id}`, { content: 'v2' });
    expect(u1.status).toBe(200);
    const u2 = await me.put(`/events/${e.id}`, { content: 'v3', description: 'third' });
    expect(u2.status).toBe(200);
    const res = await me.get(`/events/${e.id}?includeHistory=true`);
    expect(res.status).toBe(200);
    expect(res.body.event).toMatchObject({ id: e.id, content: 'v3', description: 'third' });
    expect(res.body.history).toHaveLength(2);
    expect(res.body.history.map((v: { content: string }) => v.content)).toEqual(['v1', 'v2']);
    for (const v of res.body.history) expect(v.id).toBe(e.id);
    expect(res.body.history[0].modified).toBe(e.modified);
    expect(res.body.history[1].modified).toBe(u1.body.event.modified);
    expect(res.body.history[0]).not.toHaveProperty('description');
    const without = await me.get(`/events/${e.id}`);
    expect(without.body).not.toHaveProperty('history');
  });
});

describe('events.update (spec §2.2.4)', () => {
  it('merges the given fields only; modified/modifiedBy change; created stays', async () => {
    const e = await mkEvent(me, [S.notes], { time: 1700000000, description: 'desc', content: 'c1' });
    const res = await me.put(`/events/${e.id}`, { content: 'c2' });
    expect(res.status).toBe(200);
    expect(res.body.event).toEqual({
      ...e,
      content: 'c2',
      modified: expect.any(Number),
      modifiedBy: personalAccessId,
      integrity: expect.any(String),
    });
    expect(res.body.event.modified).toBeGreaterThan(e.modified);
    expect(res.body.event.integrity).not.toBe(e.integrity);
    const t = await me.put(`/events/${e.id}`, { time: 1700000100, duration: 60, description: null });
    expect(t.body.event).toMatchObject({ time: 1700000100, duration: 60, content: 'c2' });
    expect(t.body.event).not.toHaveProperty('description');
    expect((await me.get(`/events/${e.id}`)).body.event).toEqual(t.body.event);
  });

  it('merges clientData key-wise (null deletes a key)', async () => {
    const e = await mkEvent(me, [S.notes], { clientData: { a: 1, b: 2, c: { x: 1 } } });
    const res = await me.put(`/events/${e.id}`, { clientData: { b: null, c: { y: 2 }, d: 'new' } });
    expect(res.status).toBe(200);
    expect(res.body.event.clientData).toEqual({ a: 1, c: { y: 2 }, d: 'new' });
    const other = await me.put(`/events/${e.id}`, { description: 'no clientData change' });
    expect(other.body.event.clientData).toEqual({ a: 1, c: { y: 2 }, d: 'new' });
  });

  it('changes streamIds (v1 streamId too); unknown stream → 400 {streamIds}; trashed stream → 400 invalid-operation', async () => {
    const e = await mkEvent(me, [S.notes]);
    const res = await me.put(`/events/${e.id}`, { streamIds: [S.sub, S.notes, S.sub] });
    expect(res.status).toBe(200);
    expect(res.body.event).toMatchObject({ streamIds: [S.sub, S.notes], streamId: S.sub });
    const diary = await me.get(`/events?streams=${encodeURIComponent(JSON.stringify([S.diary]))}&limit=1000`);
    expect(diary.body.events.map((x: { id: string }) => x.id)).toContain(e.id);
    const v1 = await me.put(`/events/${e.id}`, { streamId: S.diary });
    expect(v1.body.event).toMatchObject({ streamIds: [S.diary], streamId: S.diary });
    const ghost = sid('ghost');
    expectError(await me.put(`/events/${e.id}`, { streamIds: [ghost] }), 400, 'unknown-referenced-resource', { streamIds: [ghost] });
    expectError(await me.put(`/events/${e.id}`, { streamIds: [S.bin] }), 400, 'invalid-operation');
    expectError(await me.put(`/events/${e.id}`, { streamIds: [] }), 400, 'invalid-parameters-format');
    expect((await me.get(`/events/${e.id}`)).body.event.streamIds).toEqual([S.diary]);
  });

  it('protected fields (attachments, created, id, modifiedBy) → 403 forbidden; unknown fields → 400; nothing changes', async () => {
    const e = await mkEvent(me, [S.notes], { content: 'orig' });
    for (const field of [{ attachments: [] }, { created: 1 }, { id: cuid() }, { createdBy: 'x' }, { modified: 3 }, { modifiedBy: 'x' }]) {
      expectError(await me.put(`/events/${e.id}`, { content: 'changed', ...field }), 403, 'forbidden');
    }
    expectError(await me.put(`/events/${e.id}`, { content: 'changed', color: 'red' }), 400, 'invalid-parameters-format');
    expectError(await me.put(`/events/${e.id}`, { time: 'noon' }), 400, 'invalid-parameters-format');
    expect((await me.get(`/events/${e.id}`)).body.event).toEqual(e);
  });

  it('type change between normal and series → 400 invalid-operation', async () => {
    const normal = await mkEvent(me, [S.notes], { type: 'mass/kg', content: 1 });
    expectError(await me.put(`/events/${normal.id}`, { type: 'series:mass/kg' }), 400, 'invalid-operation');
    const series = await me.post('/events', { streamIds: [S.notes], type: 'series:mass/kg' });
    expect(series.status).toBe(201);
    expectError(await me.put(`/events/${series.body.event.id}`, { type: 'mass/kg', content: 3 }), 400, 'invalid-operation');
    expect((await me.get(`/events/${normal.id}`)).body.event.type).toBe('mass/kg');
  });

  it('content re-validated for the (new) type: invalid → 400 and nothing changed', async () => {
    const e = await mkEvent(me, [S.notes], { type: 'note/txt', content: 'text' });
    expectError(await me.put(`/events/${e.id}`, { type: 'mass/kg' }), 400, 'invalid-parameters-format');
    expectError(
      await me.put(`/events/${e.id}`, { type: 'mass/kg', content: 'still text', description: 'd' }),
      400,
      'invalid-parameters-format',
    );
    expectError(await me.put(`/events/${e.id}`, { content: 42 }), 400, 'invalid-parameters-format');
    expect((await me.get(`/events/${e.id}`)).body.event).toEqual(e);
    const ok = await me.put(`/events/${e.id}`, { type: 'mass/kg', content: 64 });
    expect(ok.status).toBe(200);
    expect(ok.body.event).toMatchObject({ type: 'mass/kg', content: 64 });
  });

  it('unknown event → 404 unknown-resource', async () => {
    expectError(await me.put(`/events/${cuid()}`, { content: 'x' }), 404, 'unknown-resource');
  });

  it('10 concurrent updates of distinct clientData keys: none is lost', async () => {
    const e = await mkEvent(me, [S.notes], { clientData: { base: true } });
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    const results = await Promise.all(keys.map((k, i) => me.put(`/events/${e.id}`, { clientData: { [k]: i } })));
    expect(results.map((r) => (r.status === 200 ? 200 : JSON.stringify(r.body.error)))).toEqual(keys.map(() => 200));
    const final = await me.get(`/events/${e.id}`);
    expect(final.body.event.clientData).toEqual({ base: true, ...Object.fromEntries(keys.map((k, i) => [k, i])) });
  });
});

describe('events.delete (spec §2.2.5)', () => {
  it('trashes first, deletes second ({eventDeletion:{id}}), then getOne → {event:{id, deleted}}; a third call → 404', async () => {
    const e = await mkEvent(me, [S.notes]);
    const first = await me.del(`/events/${e.id}`);
    expect(first.status).toBe(200);
    expect(first.body.event).toMatchObject({ id: e.id, trashed: true, content: 'hello' });
    expect(first.body.event.modified).toBeGreaterThan(e.modified);
    expect((await me.get(`/events/${e.id}`)).body.event.trashed).toBe(true);
    const second = await me.del(`/events/${e.id}`);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ eventDeletion: { id: e.id } });
    expect(second.body).not.toHaveProperty('event');
    const after = await me.get(`/events/${e.id}`);
    expect(after.status).toBe(200);
    expect(after.body.event).toEqual({ id: e.id, deleted: expect.any(Number) });
    expect(Math.abs(after.body.event.deleted - second.body.meta.serverTime)).toBeLessThan(5);
    expectError(await me.del(`/events/${e.id}`), 404, 'unknown-resource');
    expectError(await me.put(`/events/${e.id}`, { content: 'x' }), 404, 'unknown-resource');
  });

  it('untrashing through events.update (trashed: false)', async () => {
    const e = await mkEvent(me, [S.notes]);
    await me.del(`/events/${e.id}`);
    const res = await me.put(`/events/${e.id}`, { trashed: false });
    expect(res.status).toBe(200);
    expect(res.body.event).not.toHaveProperty('trashed');
  });

  it('unknown event → 404 unknown-resource', async () => {
    expectError(await me.del(`/events/${cuid()}`), 404, 'unknown-resource');
  });
});

describe('events permissions (spec §4)', () => {
  let owner: TestUser;
  let api: Client;
  beforeAll(async () => {
    owner = await createUser();
    api = as(owner.username, owner.token);
    await mkStream(api, 'health');
    await mkStream(api, 'health-weight', 'health');
    await mkStream(api, 'health-private', 'health');
    await mkStream(api, 'work');
  });
  const withAccess = async (permissions: Permission[], type: 'shared' | 'app' = 'shared') => {
    const access = await insertAccess(owner.username, type, { permissions });
    return { access, api: as(owner.username, access.token) };
  };

  it('read: reads, but cannot create/update/delete events (403 forbidden, nothing changed)', async () => {
    const e = await mkEvent(api, ['health-weight'], { content: 'w' });
    const { api: reader } = await withAccess([{ streamId: 'health', level: 'read' }]);
    const read = await reader.get(`/events/${e.id}`);
    expect(read.status).toBe(200);
    expect(read.body.event.id).toBe(e.id);
    expectError(await reader.post('/events', { streamIds: ['health'], type: 'note/txt', content: 'x' }), 403, 'forbidden');
    expectError(await reader.put(`/events/${e.id}`, { content: 'changed' }), 403, 'forbidden');
    expectError(await reader.del(`/events/${e.id}`), 403, 'forbidden');
    expect((await api.get(`/events/${e.id}`)).body.event).toEqual(e);
    // Outside its streams: not readable.
    const w = await mkEvent(api, ['work']);
    expectError(await reader.get(`/events/${w.id}`), 403, 'forbidden');
  });

  it('contribute: creates, updates and deletes events (authorship = its access id), but no streams', async () => {
    const { access, api: contributor } = await withAccess([{ streamId: 'health', level: 'contribute' }]);
    const created = await contributor.post('/events', { streamIds: ['health-weight'], type: 'mass/kg', content: 70 });
    expect(created.status).toBe(201);
    expect(created.body.event).toMatchObject({ createdBy: access.id, modifiedBy: access.id });
    const mine = await mkEvent(api, ['health']);
    const updated = await contributor.put(`/events/${mine.id}`, { content: 'by contributor' });
    expect(updated.status).toBe(200);
    expect(updated.body.event).toMatchObject({ createdBy: mine.createdBy, modifiedBy: access.id });
    expect((await contributor.del(`/events/${mine.id}`)).body.event.trashed).toBe(true);
    expect((await contributor.del(`/events/${mine.id}`)).body.eventDeletion).toEqual({ id: mine.id });
    expectError(await contributor.post('/streams', { name: sid(), parentId: 'health' }), 403, 'forbidden');
    // Not in a stream it cannot write to, nor into one of those alongside.
    expectError(await contributor.post('/events', { streamIds: ['work'], type: 'note/txt', content: 'x' }), 403, 'forbidden');
    expectError(await contributor.post('/events', { streamIds: ['health', 'work'], type: 'note/txt', content: 'x' }), 403, 'forbidden');
    // Moving an event to a stream without update right is forbidden.
    const e = await mkEvent(api, ['health']);
    expectError(await contributor.put(`/events/${e.id}`, { streamIds: ['work'] }), 403, 'forbidden');
    expectError(await contributor.put(`/events/${e.id}`, { streamIds: ['health', 'work'] }), 403, 'forbidden');
    expect((await api.get(`/events/${e.id}`)).body.event.streamIds).toEqual(['health']);
  });

  it('create-only: creates events but cannot read them back (403), nor update or delete them', async () => {
    const { access, api: dropbox } = await withAccess([{ streamId: 'health', level: 'create-only' }]);
    const created = await dropbox.post('/events', { streamIds: ['health-weight'], type: 'mass/kg', content: 71 });
    expect(created.status).toBe(201);
    expect(created.body.event).toMatchObject({ content: 71, createdBy: access.id });
    const id = created.body.event.id;
    expectError(await dropbox.get(`/events/${id}`), 403, 'forbidden');
    expectError(await dropbox.put(`/events/${id}`, { content: 72 }), 403, 'forbidden');
    expectError(await dropbox.del(`/events/${id}`), 403, 'forbidden');
    expect((await api.get(`/events/${id}`)).body.event.content).toBe(71);
  });

  it('a lower explicit permission on a child overrides its parent (and a higher one too)', async () => {
    const { api: mixed } = await withAccess([
      { streamId: 'health', level: 'contribute' },
      { streamId: 'health-private', level: 'read' },
    ]);
    expect((await mixed.post('/events', { streamIds: ['health-weight'], type: 'note/txt', content: 'ok' })).status).toBe(201);
    expectError(await mixed.post('/events', { streamIds: ['health-private'], type: 'note/txt', content: 'no' }), 403, 'forbidden');
    const priv = await mkEvent(api, ['health-private']);
    expect((await mixed.get(`/events/${priv.id}`)).status).toBe(200);
    expectError(await mixed.put(`/events/${priv.id}`, { content: 'no' }), 403, 'forbidden');

    const { api: hidden } = await withAccess([
      { streamId: 'health', level: 'read' },
      { streamId: 'health-private', level: 'none' },
    ]);
    expectError(await hidden.get(`/events/${priv.id}`), 403, 'forbidden');

    const { api: raised } = await withAccess([
      { streamId: 'health', level: 'read' },
      { streamId: 'health-weight', level: 'contribute' },
    ]);
    expect((await raised.post('/events', { streamIds: ['health-weight'], type: 'note/txt', content: 'ok' })).status).toBe(201);
    expectError(await raised.post('/events', { streamIds: ['health'], type: 'note/txt', content: 'no' }), 403, 'forbidden');
  });

  it('an event readable through one of its streams is readable; updating it needs update right on a current stream', async () => {
    const e = await mkEvent(api, ['work', 'health-weight']);
    const { api: reader } = await withAccess([
      { streamId: 'work', level: 'read' },
      { streamId: 'health-weight', level: 'contribute' },
    ]);
    expect((await reader.get(`/events/${e.id}`)).status).toBe(200);
    // Update right on health-weight, the other stream unchanged: allowed.
    expect((await reader.put(`/events/${e.id}`, { content: 'edited' })).status).toBe(200);
    // Removing `work` (read only) from it: forbidden.
    expectError(await reader.put(`/events/${e.id}`, { streamIds: ['health-weight'] }), 403, 'forbidden');
  });
});
