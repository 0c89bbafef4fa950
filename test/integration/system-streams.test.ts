import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { dynamo, table } from '../../shared/store/clients';
import { UpdateCommand } from '../../shared/store/commands';
import { purgeUserEvents } from '../../shared/store/events/purge';
import { keys } from '../../shared/store/keys';
import { insertAccess } from '../setup/accesses';
import { apiUrl, call, createUser, expectError, type TestUser, useRuntimeStore } from '../setup/api';

const pryv: any = createRequire(import.meta.url)('pryv');

/** Account system streams (Pryv API reference §7), through the HTTP API of the local runtime. */

const q = (id: string) => encodeURIComponent(id);
type Ev = { id: string; streamIds: string[]; content: unknown; type: string };

function idsOf(streams: Array<{ id: string; children?: unknown[] }>): string[] {
  return streams.flatMap((s) => [s.id, ...idsOf((s.children ?? []) as Array<{ id: string; children?: unknown[] }>)]);
}

describe('account system streams', () => {
  let me: TestUser;
  const api = (method: string, path: string, body?: unknown, token = me.token) =>
    call(method, `/${me.username}${path}`, { token, ...(body === undefined ? {} : { body }) });
  const values = async (field: string, token = me.token): Promise<Ev[]> => {
    const res = await api('GET', `/events?streams=${q(field)}&state=all`, undefined, token);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.events;
  };

  beforeAll(async () => {
    useRuntimeStore();
    me = await createUser();
    expect((await api('POST', '/streams', { id: 'diary', name: 'Diary' })).status).toBe(201);
  });

  it('streams.get: the personal token sees the shown account tree, never the hidden streams', async () => {
    const res = await api('GET', '/streams');
    const account = res.body.streams.find((s: { id: string }) => s.id === ':_system:account');
    expect(account).toMatchObject({ parentId: null, name: 'Account' });
    expect(idsOf([account]).sort()).toEqual(
      [
        ':_system:account',
        ':_system:attachedFiles',
        ':_system:dbDocuments',
        ':_system:language',
        ':_system:storageUsed',
        ':system:email',
      ].sort(),
    );
    const all = JSON.stringify(res.body.streams);
    for (const hidden of [':_system:appId', ':_system:invitationToken', ':_system:referer', ':_system:helpers', ':_system:active']) {
      expect(all).not.toContain(hidden);
    }
    const children = await api('GET', `/streams?parentId=${q(':_system:storageUsed')}`);
    expect(idsOf(children.body.streams).sort()).toEqual([':_system:attachedFiles', ':_system:dbDocuments']);
    expectError(await api('GET', `/streams?parentId=${q(':_system:helpers')}`), 400, 'unknown-referenced-resource');
  });

  it('streams.get for other accesses: never through "*", only where an explicit permission reaches', async () => {
    const star = await insertAccess(me.username, 'app', { permissions: [{ streamId: '*', level: 'manage' }] });
    const starStreams = await api('GET', '/streams', undefined, star.token);
    expect(idsOf(starStreams.body.streams)).toEqual(['diary']);
    const emailOnly = await insertAccess(me.username, 'shared', { permissions: [{ streamId: ':system:email', level: 'read' }] });
    const listed = await api('GET', '/streams', undefined, emailOnly.token);
    expect(listed.body.streams).toEqual([{ id: ':system:email', name: 'Email', parentId: null, children: [] }]);
  });

  it('events.get: the current value carries the active (and unique) marks; "*" includes the shown account values for the personal token', async () => {
    const [email] = await values(':system:email');
    expect(email).toMatchObject({ content: me.email, type: 'email/string' });
    expect(email!.streamIds.sort()).toEqual([':_system:active', ':_system:unique', ':system:email']);
    const [language] = await values(':_system:language');
    expect(language).toMatchObject({ content: 'en', streamIds: [':_system:language', ':_system:active'] });

    const everything = (await api('GET', '/events?limit=1000')).body.events as Ev[];
    const fields = everything.filter((e) => e.streamIds[0]!.includes('system:')).map((e) => e.streamIds[0]);
    expect(fields.sort()).toEqual([':_system:attachedFiles', ':_system:dbDocuments', ':_system:language', ':system:email']);
    // The hidden ones never: asked for, they are forbidden; their events are in no answer.
    expect(JSON.stringify(everything)).not.toContain(':_system:appId');
    expectError(await api('GET', `/events?streams=${q(':_system:appId')}`), 403, 'forbidden');
    expectError(await api('GET', `/events?streams=${q(':_system:active')}`), 403, 'forbidden');
    expectError(await api('GET', `/events?streams=${q(':_system:nope')}`), 400, 'unknown-referenced-resource');
  });

  it('events.get / getOne for other accesses: only with an explicit permission, never via "*"', async () => {
    const [email] = await values(':system:email');
    const star = await insertAccess(me.username, 'shared', { permissions: [{ streamId: '*', level: 'read' }] });
    const seen = (await api('GET', '/events?limit=1000', undefined, star.token)).body.events as Ev[];
    expect(seen.some((e) => e.streamIds.some((s) => s.includes('system:')))).toBe(false);
    expectError(await api('GET', `/events/${email!.id}`, undefined, star.token), 403, 'forbidden');
    expectError(await api('GET', `/events?streams=${q(':system:email')}`, undefined, star.token), 403, 'forbidden');

    const account = await insertAccess(me.username, 'shared', { permissions: [{ streamId: ':_system:account', level: 'read' }] });
    expect((await api('GET', `/events/${email!.id}`, undefined, account.token)).body.event.content).toBe(me.email);
    const theirs = (await api('GET', '/events?limit=1000', undefined, account.token)).body.events as Ev[];
    expect(theirs.map((e) => e.streamIds[0]).sort()).toEqual([
      ':_system:attachedFiles',
      ':_system:dbDocuments',
      ':_system:language',
      ':system:email',
    ]);
    // An explicit grant on a hidden stream gives nothing.
    const hidden = await insertAccess(me.username, 'shared', { permissions: [{ streamId: ':_system:appId', level: 'read' }] });
    expectError(await api('GET', `/events?streams=${q(':_system:appId')}`, undefined, hidden.token), 403, 'forbidden');
  });

  it('storage counters are computed when read: attachedFiles follows an upload', async () => {
    const form = new FormData();
    form.append('event', JSON.stringify({ streamIds: ['diary'], type: 'picture/attached' }));
    form.append('file', new Blob([Buffer.alloc(1234, 7)], { type: 'image/png' }), 'p.png');
    const res = await fetch(`${(await import('../setup/api')).apiUrl()}/${me.username}/events`, {
      method: 'POST',
      headers: { Authorization: me.token },
      body: form,
    });
    expect(res.status).toBe(201);
    const [attached] = await values(':_system:attachedFiles');
    const account = (await api('GET', '/account')).body.account;
    expect(attached!.content).toBe(account.storageUsed.attachedFiles);
    expect(attached!.content).toBeGreaterThanOrEqual(1234);
  });

  it('account.update and events.create both make a new current value; account.get reads the same data', async () => {
    const u = await createUser();
    const as = (method: string, path: string, body?: unknown) => call(method, `/${u.username}${path}`, { token: u.token, body });
    const [first] = (await as('GET', `/events?streams=${q(':system:email')}`)).body.events as Ev[];
    const second = `second-${u.email}`;
    expect((await as('PUT', '/account', { email: second, language: 'fr' })).body.account).toMatchObject({ email: second, language: 'fr' });
    const afterUpdate = (await as('GET', `/events?streams=${q(':system:email')}`)).body.events as Ev[];
    expect(afterUpdate.map((e) => e.content)).toEqual([second, u.email]);
    expect(afterUpdate[0]!.streamIds).toContain(':_system:active');
    expect(afterUpdate.find((e) => e.id === first!.id)!.streamIds).toEqual([':system:email']);

    const third = `third-${u.email}`;
    const created = await as('POST', '/events', { streamIds: [':system:email'], type: 'email/string', content: third });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.event.streamIds).toContain(':_system:active');
    expect((await as('GET', '/account')).body.account).toMatchObject({ email: third, language: 'fr' });
    // The platform-wide claim moved with it: the old email is free, the new one names this user.
    expect((await call('GET', `/reg/${encodeURIComponent(third)}/username`)).body.username).toBe(u.username);
    expect((await call('GET', `/reg/${encodeURIComponent(second)}/username`)).status).toBe(404);

    // The previous value may be deleted (trashed, then for good); the current one never.
    expect((await as('DELETE', `/events/${afterUpdate[0]!.id}`)).body.event.trashed).toBe(true);
    expect((await as('DELETE', `/events/${afterUpdate[0]!.id}`)).body.eventDeletion).toEqual({ id: afterUpdate[0]!.id });
    expectError(await as('DELETE', `/events/${created.body.event.id}`), 400, 'invalid-operation');
    expectError(await as('PUT', `/events/${created.body.event.id}`, { trashed: true }), 400, 'invalid-operation');
  });

  it('write rules: editable streams only, one account stream, string/number values, no move, unique values', async () => {
    const u = await createUser();
    const other = await createUser();
    const as = (method: string, path: string, body?: unknown) => call(method, `/${u.username}${path}`, { token: u.token, body });
    expect((await as('POST', '/streams', { id: 'notes', name: 'Notes' })).status).toBe(201);
    const bad = (body: Record<string, unknown>) => as('POST', '/events', { type: 'email/string', content: 'x@example.com', ...body });
    expectError(await bad({ streamIds: [':_system:appId'], type: 'identifier/string', content: 'abcdef' }), 400, 'invalid-operation');
    expectError(await bad({ streamIds: [':_system:dbDocuments'], type: 'data-quantity/b', content: 3 }), 400, 'invalid-operation');
    expectError(await bad({ streamIds: [':system:email', 'notes'] }), 400, 'invalid-operation');
    expectError(await bad({ streamIds: [':system:email', ':_system:language'] }), 400, 'invalid-operation');
    expectError(await bad({ streamIds: [':system:email'], content: { address: 'x@example.com' } }), 400, 'invalid-operation');
    expectError(await bad({ streamIds: [':system:email', ':_system:active'] }), 400, 'invalid-operation');
    expectError(await bad({ streamIds: [':_system:nope'] }), 400, 'unknown-referenced-resource');
    expectError(await bad({ streamIds: [':system:email'], content: other.email }), 409, 'item-already-exists');
    // Nothing changed: the email is still the registered one, the other user keeps theirs.
    expect((await as('GET', '/account')).body.account.email).toBe(u.email);
    expect((await call('GET', `/reg/${encodeURIComponent(other.email)}/username`)).body.username).toBe(other.username);

    const [email] = (await as('GET', `/events?streams=${q(':system:email')}`)).body.events as Ev[];
    expectError(await as('PUT', `/events/${email!.id}`, { streamIds: [':_system:language'] }), 400, 'invalid-operation');
    expectError(await as('PUT', `/events/${email!.id}`, { streamIds: ['notes'] }), 400, 'invalid-operation');
    expectError(await as('PUT', `/events/${email!.id}`, { content: 42.5e300 }), 400, 'invalid-parameters-format');
    expectError(await as('PUT', `/events/${email!.id}`, { content: other.email }), 409, 'item-already-exists');
    const note = await as('POST', '/events', { streamIds: ['notes'], type: 'note/txt', content: 'n' });
    expectError(await as('PUT', `/events/${note.body.event.id}`, { streamIds: [':system:email'] }), 400, 'invalid-operation');
    // Updating the current value's content changes the account too.
    const fixed = `fixed-${u.email}`;
    expect((await as('PUT', `/events/${email!.id}`, { content: fixed })).status).toBe(200);
    expect((await as('GET', '/account')).body.account.email).toBe(fixed);
  });

  it('other accesses write only with an explicit contribute permission', async () => {
    const u = await createUser();
    const as = (token: string, body: unknown) => call('POST', `/${u.username}/events`, { token, body });
    const value = { streamIds: [':_system:language'], type: 'language/iso-639-1', content: 'de' };
    const star = await insertAccess(u.username, 'app', { permissions: [{ streamId: '*', level: 'manage' }] });
    expectError(await as(star.token, value), 403, 'forbidden');
    const reader = await insertAccess(u.username, 'shared', { permissions: [{ streamId: ':_system:language', level: 'read' }] });
    expectError(await as(reader.token, value), 403, 'forbidden');
    const writer = await insertAccess(u.username, 'shared', { permissions: [{ streamId: ':_system:language', level: 'contribute' }] });
    expect((await as(writer.token, value)).status).toBe(201);
    expect((await call('GET', `/${u.username}/account`, { token: u.token })).body.account.language).toBe('de');
  });

  it('accesses.create: hidden → 400, manage → 400, unknown system id → 403; read is granted', async () => {
    const create = (permissions: unknown[]) => api('POST', '/accesses', { name: `a-${Math.random()}`, permissions });
    expectError(await create([{ streamId: ':_system:appId', level: 'read' }]), 400, 'invalid-operation');
    expectError(await create([{ streamId: ':_system:active', level: 'read' }]), 400, 'invalid-operation');
    expectError(await create([{ streamId: ':_system:language', level: 'manage' }]), 400, 'invalid-operation');
    expectError(await create([{ streamId: ':_system:account', level: 'manage' }]), 400, 'invalid-operation');
    expectError(await create([{ streamId: ':_system:nope', level: 'read' }]), 403, 'forbidden');
    expectError(await create([{ streamId: ':system:nope', level: 'read' }]), 403, 'forbidden');
    const ok = await create([{ streamId: ':_system:language', level: 'read', defaultName: 'Language' }]);
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect((await values(':_system:language', ok.body.access.token)).length).toBeGreaterThan(0);
    expectError(await api('GET', `/events?streams=${q(':system:email')}`, undefined, ok.body.access.token), 403, 'forbidden');
    // No user stream was made from the defaultName.
    expect(idsOf((await api('GET', '/streams')).body.streams)).not.toContain('Language');
  });

  it('the streams API changes no system stream: 400 invalid-operation', async () => {
    expectError(await api('PUT', `/streams/${q(':_system:language')}`, { name: 'Lang' }), 400, 'invalid-operation');
    expectError(await api('DELETE', `/streams/${q(':_system:language')}`), 400, 'invalid-operation');
    expectError(await api('DELETE', `/streams/${q(':system:email')}`), 400, 'invalid-operation');
    expectError(await api('POST', '/streams', { id: ':system:phone', name: 'Phone' }), 400, 'invalid-operation');
  });

  it('an account registered before account events existed gets them from its account item on first need', async () => {
    const old = await createUser();
    // Make it look like an account of before: no account events, no mark in its data meta.
    await purgeUserEvents(old.username, [':_system:account', ':system:email', ':_system:language', ':_system:active', ':_system:unique']);
    await dynamo().send(
      new UpdateCommand({ TableName: table(), Key: keys.dataMeta(old.username), UpdateExpression: 'REMOVE accountEvents' }),
    );
    const as = (method: string, path: string, body?: unknown) => call(method, `/${old.username}${path}`, { token: old.token, body });
    expect((await as('GET', '/account')).body.account).toMatchObject({ email: old.email, language: 'en' });
    const email = (await as('GET', `/events?streams=${q(':system:email')}`)).body.events as Ev[];
    expect(email.map((e) => e.content)).toEqual([old.email]);
    // Made once: a second need finds them and adds none.
    expect((await as('GET', '/events?limit=100')).body.events.filter((e: Ev) => e.streamIds[0] === ':system:email')).toHaveLength(1);
    const changed = `changed-${old.email}`;
    expect((await as('PUT', '/account', { email: changed })).body.account.email).toBe(changed);
    expect((await call('GET', `/reg/${encodeURIComponent(old.email)}/username`)).status).toBe(404);
  });

  it('the pryv library reads and writes account values with its ordinary calls', async () => {
    const u = await createUser();
    const connection = new pryv.Connection(`${apiUrl().replace('://', `://${u.token}@`)}/${u.username}/`);
    const [got] = await connection.api([{ method: 'events.get', params: { streams: [':system:email'] } }]);
    expect(got.events.map((e: Ev) => e.content)).toEqual([u.email]);
    const [streams] = await connection.api([{ method: 'streams.get', params: { parentId: ':_system:account' } }]);
    expect(streams.streams.map((s: { id: string }) => s.id)).toContain(':_system:language');
    const [created, refused] = await connection.api([
      { method: 'events.create', params: { streamIds: [':_system:language'], type: 'language/iso-639-1', content: 'it' } },
      { method: 'streams.update', params: { id: ':_system:language', update: { name: 'L' } } },
    ]);
    expect(created.event.content).toBe('it');
    expect(refused.error.id).toBe('invalid-operation');
    const [account] = await connection.api([{ method: 'account.get', params: {} }]);
    expect(account.account.language).toBe('it');
  });
});
