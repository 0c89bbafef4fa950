import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { accessIntegrity, eventIntegrity, sri } from '../../shared/domain/integrity/canonical';
import { type IntegrityReport, verifyAccountIntegrity } from '../../shared/domain/integrity/verify';
import { dynamo, table } from '../../shared/store/clients';
import { GetCommand, UpdateCommand } from '../../shared/store/commands';
import { keys } from '../../shared/store/keys';
import { partitionKeys } from '../../shared/store/query';
import { type ApiResponse, apiUrl, call, createUser, login, type TestUser, useRuntimeStore } from '../setup/api';

/**
 * Integrity of events and accesses (Pryv API reference §3.8, README "Integrity"): every write
 * path answers an `integrity` equal to the hash of the answer's canonical form, reads answer
 * the value stored, and `npm run integrity:verify` finds an item changed behind the API.
 */

const run = promisify(execFile);
const sid = (prefix = 's') => `${prefix}-${randomBytes(4).toString('hex')}`;

/** Asserts the answer's integrity is the hash of the answer itself (as a client would check it). */
function expectSealedEvent(event: Record<string, unknown>): string {
  expect(event.integrity, JSON.stringify(event)).toMatch(/^EVENT:0:sha256-[A-Za-z0-9+/]{43}=$/);
  expect(event.integrity).toBe(eventIntegrity(event));
  return event.integrity as string;
}
function expectSealedAccess(access: Record<string, unknown>): string {
  expect(access.integrity, JSON.stringify(access)).toMatch(/^ACCESS:0:sha256-[A-Za-z0-9+/]{43}=$/);
  expect(access.integrity).toBe(accessIntegrity(access));
  return access.integrity as string;
}

function as(user: TestUser, token = user.token) {
  const base = `/${user.username}`;
  const ok = async (res: Promise<ApiResponse>, status = 200) => {
    const r = await res;
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    return r.body;
  };
  return {
    get: (path: string) => ok(call('GET', base + path, { token })),
    post: (path: string, body: unknown, status = 201) => ok(call('POST', base + path, { token, body }), status),
    put: (path: string, body: unknown) => ok(call('PUT', base + path, { token, body })),
    del: (path: string) => ok(call('DELETE', base + path, { token })),
    form: async (path: string, form: FormData) => {
      const res = await fetch(`${apiUrl()}${base}${path}`, { method: 'POST', headers: { authorization: token }, body: form });
      const body = (await res.json()) as any;
      expect(res.status, JSON.stringify(body)).toBeLessThan(300);
      return body;
    },
  };
}

/** Runs `npm run integrity:verify` (its script) against the test runtime's table. */
async function verifyOutput(username: string, json: boolean): Promise<{ status: number; stdout: string }> {
  // The command as npm runs it, without npx's own start-up: node with tsx's loader.
  const args = ['--import', 'tsx', 'infra/ops/integrity-verify.ts', '--user', username, '--table', 'pryv-main'];
  args.push('--endpoint', inject('dynamodbEndpoint'));
  if (json) args.push('--json');
  const env = { ...process.env, LOG_LEVEL: 'silent' };
  try {
    const { stdout } = await run(process.execPath, args, { env, cwd: process.cwd() });
    return { status: 0, stdout };
  } catch (err) {
    const { code, stdout, stderr } = err as { code: number; stdout: string; stderr: string };
    if (code !== 1) throw new Error(`integrity:verify failed (${code}): ${stderr}`);
    return { status: code, stdout };
  }
}
async function verify(username: string): Promise<{ status: number; report: IntegrityReport }> {
  const { status, stdout } = await verifyOutput(username, true);
  return { status, report: JSON.parse(stdout) };
}

const headKey = (username: string, id: string) => keys.eventHead(username, id);

describe('events carry their integrity on every write path', () => {
  let user: TestUser;
  let api: ReturnType<typeof as>;
  const stream = sid();

  beforeAll(async () => {
    useRuntimeStore();
    user = await createUser();
    api = as(user);
    await api.post('/streams', { id: stream, name: stream });
  });

  it('create, read, update (history versions keep theirs), trash, delete for good (the tombstone keeps its own)', async () => {
    const created = (
      await api.post('/events', {
        streamIds: [stream],
        type: 'note/txt',
        content: 'first',
        clientData: { b: 1, a: { z: null, y: [1, null] } },
        duration: 0,
      })
    ).event;
    const first = expectSealedEvent(created);
    // Stored, not recomputed: reads answer the same value.
    expect((await api.get(`/events/${created.id}`)).event.integrity).toBe(first);
    expect((await api.get(`/events?streams=["${stream}"]`)).events[0].integrity).toBe(first);

    const updated = (await api.put(`/events/${created.id}`, { content: 'second', description: 'changed' })).event;
    const second = expectSealedEvent(updated);
    expect(second).not.toBe(first);
    const withHistory = await api.get(`/events/${created.id}?includeHistory=true`);
    expect(withHistory.event.integrity).toBe(second);
    expect(withHistory.history).toHaveLength(1);
    expect(withHistory.history[0].integrity).toBe(first);
    expectSealedEvent(withHistory.history[0]);

    const trashed = (await api.del(`/events/${created.id}`)).event;
    expect(trashed.trashed).toBe(true);
    expect(expectSealedEvent(trashed)).not.toBe(second);

    const deletion = await api.del(`/events/${created.id}`);
    // As Pryv in its default deletion mode: a deletion record keeps no content, and is answered without integrity.
    expect(deletion).toMatchObject({ eventDeletion: { id: created.id } });
    expect(deletion.eventDeletion.integrity).toBeUndefined();
    const tombstone = (await dynamo().send(new GetCommand({ TableName: table(), Key: headKey(user.username, created.id) }))).Item!;
    expect(tombstone.integrity).toBe(eventIntegrity({ id: created.id, deleted: tombstone.deleted }));
  });

  it('values the store could write differently (numbers, unusual characters) read back with a valid integrity', async () => {
    const content = { sum: 0.1 + 0.2, tiny: 1e-7, zero: -0, big: 123456789012345680000, s: '\u2028 😀 \u0000 é \ufeff', n: [null, true] };
    const created = (await api.post('/events', { streamIds: [stream], type: 'note/txt', content: JSON.stringify(content) })).event;
    const obj = (await api.post('/events', { streamIds: [stream], type: 'test/any', content })).event;
    for (const e of [created, obj]) {
      const read = (await api.get(`/events/${e.id}`)).event;
      expect(read.integrity).toBe(e.integrity);
      expectSealedEvent(read);
    }
  });

  it('callBatch creates and updates, and a running event', async () => {
    const res = await call('POST', `/${user.username}`, {
      token: user.token,
      body: [
        { method: 'events.create', params: { streamIds: [stream], type: 'count/generic', content: 3, duration: null } },
        { method: 'events.create', params: { streamIds: [stream], type: 'note/txt', content: 'batched', tags: ['a'] } },
      ],
    });
    expect(res.status).toBe(200);
    const [running, tagged] = res.body.results.map((r: { event: Record<string, unknown> }) => r.event);
    expect(running.duration).toBeNull();
    expectSealedEvent(running);
    expectSealedEvent(tagged);
    const stopped = (await api.put(`/events/${running.id}`, { duration: 5 })).event;
    expect(expectSealedEvent(stopped)).not.toBe(running.integrity);
  });

  it('attachments: created with files, added, deleted, and a presigned upload confirmed — the list is part of the event', async () => {
    const form = new FormData();
    form.append('event', JSON.stringify({ streamIds: [stream], type: 'picture/attached' }));
    form.append('file', new Blob([new Uint8Array(Buffer.from('one'))], { type: 'text/plain' }), 'one.txt');
    const created = (await api.form('/events', form)).event;
    expect(created.attachments[0].readToken).toBeDefined();
    const withOne = expectSealedEvent(created);
    expect(created.attachments[0].integrity).toBe(sri(Buffer.from('one')));

    const more = new FormData();
    more.append('file', new Blob([new Uint8Array(Buffer.from('two'))], { type: 'text/plain' }), 'two.txt');
    const added = (await api.form(`/events/${created.id}`, more)).event;
    expect(added.attachments).toHaveLength(2);
    const withTwo = expectSealedEvent(added);
    expect(withTwo).not.toBe(withOne);

    const data = randomBytes(2000);
    const slot = (
      await api.post(`/events/${created.id}/attachment-uploads`, { fileName: 'big.bin', type: 'application/octet-stream', size: 2000 })
    ).upload;
    const put = await fetch(slot.url, { method: slot.method, headers: slot.headers, body: new Uint8Array(data) });
    expect(put.status).toBe(200);
    const confirmed = (await api.post(`/events/${created.id}/attachment-uploads/${slot.fileId}`, { fileName: 'big.bin' }, 200)).event;
    expect(confirmed.attachments).toHaveLength(3);
    expect(confirmed.attachments[2].integrity).toBe(sri(data));
    const withThree = expectSealedEvent(confirmed);

    const removed = (await api.del(`/events/${created.id}/${created.attachments[0].id}`)).event;
    expect(removed.attachments).toHaveLength(2);
    expect(expectSealedEvent(removed)).not.toBe(withThree);
  });

  it('HF series holders, before and after points are added', async () => {
    const holder = (await api.post('/events', { streamIds: [stream], type: 'series:mass/kg' })).event;
    const sealed = expectSealedEvent(holder);
    await api.post(`/events/${holder.id}/series`, { format: 'flatJSON', fields: ['deltaTime', 'value'], points: [[0, 70.5]] }, 200);
    const read = (await api.get(`/events/${holder.id}`)).event;
    expect(read.integrity).toBe(sealed);
    expectSealedEvent(read);
  });

  it('events moved by a stream deletion (merged into the parent) are sealed again', async () => {
    const parent = sid('p');
    const child = sid('c');
    await api.post('/streams', { id: parent, name: parent });
    await api.post('/streams', { id: child, name: child, parentId: parent });
    const event = (await api.post('/events', { streamIds: [child], type: 'note/txt', content: 'moved' })).event;
    await api.del(`/streams/${child}`);
    await api.del(`/streams/${child}?mergeEventsWithParent=true`);
    const moved = (await api.get(`/events/${event.id}`)).event;
    expect(moved.streamIds).toEqual([parent]);
    expect(expectSealedEvent(moved)).not.toBe(event.integrity);
  });
});

describe('accesses carry their integrity on every write path', () => {
  let user: TestUser;
  let api: ReturnType<typeof as>;
  const stream = sid();

  beforeAll(async () => {
    useRuntimeStore();
    user = await createUser();
    api = as(user);
    await api.post('/streams', { id: stream, name: stream });
  });

  it('the personal access of registration and of a login', async () => {
    const res = await login(user);
    expect(res.status).toBe(200);
    const { accesses } = await api.get('/accesses');
    const personal = accesses.filter((a: { type: string }) => a.type === 'personal');
    expect(personal.length).toBeGreaterThanOrEqual(1);
    for (const a of accesses) expectSealedAccess(a);
  });

  it('create, use (lastUsed and calls move, the integrity stays valid), update with history, delete', async () => {
    const created = (
      await api.post('/accesses', {
        type: 'shared',
        name: sid('share'),
        permissions: [{ streamId: stream, level: 'read' }],
        clientData: { x: 1 },
      })
    ).access;
    const first = expectSealedAccess(created);
    // Using the token moves lastUsed and calls, which the hash leaves out.
    expect((await call('GET', `/${user.username}/events`, { token: created.token })).status).toBe(200);
    const listed = (await api.get('/accesses')).accesses.find((a: { token: string }) => a.token === created.token);
    expect(listed.lastUsed).toBeGreaterThan(0);
    expect(listed.integrity).toBe(first);
    expectSealedAccess(listed);

    const updated = (await api.put(`/accesses/${created.id}`, { name: sid('renamed') })).access;
    expect(updated.id).toBe(`${created.id}:1`);
    const second = expectSealedAccess(updated);
    expect(second).not.toBe(first);
    const withHistory = await api.get(`/accesses/${updated.id}?includeHistory=true`);
    expect(withHistory.access.integrity).toBe(second);
    expect(withHistory.history.map((v: { integrity: string }) => v.integrity)).toEqual([first]);
    expectSealedAccess(withHistory.history[0]);

    await api.del(`/accesses/${updated.id}`);
    const { accessDeletions } = await api.get('/accesses?includeDeletions=true');
    const record = accessDeletions.find((a: { token: string }) => a.token === created.token);
    expect(record.deleted).toBeGreaterThan(0);
    expect(expectSealedAccess(record)).not.toBe(second);
  });
});

describe('npm run integrity:verify', () => {
  let user: TestUser;
  let api: ReturnType<typeof as>;
  const stream = sid();
  let events: Array<Record<string, any>>;
  let share: Record<string, any>;

  beforeAll(async () => {
    useRuntimeStore();
    user = await createUser();
    api = as(user);
    await api.post('/streams', { id: stream, name: stream });
    events = [];
    for (const content of ['a', 'b', 'c'])
      events.push((await api.post('/events', { streamIds: [stream], type: 'note/txt', content })).event);
    await api.put(`/events/${events[0]!.id}`, { content: 'a2' }); // one previous version
    await api.del(`/events/${events[2]!.id}`);
    await api.del(`/events/${events[2]!.id}`); // one deletion record
    share = (await api.post('/accesses', { type: 'shared', name: sid('share'), permissions: [{ streamId: stream, level: 'read' }] }))
      .access;
    await api.put(`/accesses/${share.id}`, { name: sid('renamed') }); // one access version
    const gone = (await api.post('/accesses', { type: 'shared', name: sid('gone'), permissions: [{ streamId: stream, level: 'read' }] }))
      .access;
    await api.del(`/accesses/${gone.id}`); // one access deletion record
  }, 120_000);

  it('finds nothing wrong in an account written through the API', async () => {
    const { status, report } = await verify(user.username);
    expect(status).toBe(0);
    expect(report.mismatches).toEqual([]);
    expect(report.missing).toBe(0);
    // 3 events, 1 previous version, 1 of them a deletion record; the 5 account values registration writes (email,
    // language, appId, the two storage counters); the personal access, the share, its version, the deleted one.
    expect(report.checked).toEqual({ events: 9, accesses: 4 });
  }, 120_000);

  it('reports an event, a previous version and an access changed in the table, and items stored without integrity as missing', async () => {
    const u = user.username;
    const tampered = events[1]!;
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: headKey(u, tampered.id),
        UpdateExpression: 'SET content = :c',
        ExpressionAttributeValues: { ':c': 'forged' },
      }),
    );
    const shareItem = keys.accessByToken(u, share.token);
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: shareItem,
        UpdateExpression: 'SET #p = :p',
        ExpressionAttributeNames: { '#p': 'permissions' },
        ExpressionAttributeValues: { ':p': [{ streamId: '*', level: 'manage' }] },
      }),
    );
    // A previous version, changed in its history partition.
    const old = events[0]!;
    const [version] = await partitionKeys(keys.eventHistory(u, old.id));
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: version!,
        UpdateExpression: 'SET content = :c',
        ExpressionAttributeValues: { ':c': 'x' },
      }),
    );
    // A deletion record whose value was replaced by something that is not one.
    await dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: headKey(u, events[2]!.id),
        UpdateExpression: 'SET integrity = :i',
        ExpressionAttributeValues: { ':i': 0 },
      }),
    );
    // An event written before integrity existed: no value at all.
    await dynamo().send(new UpdateCommand({ TableName: table(), Key: headKey(u, old.id), UpdateExpression: 'REMOVE integrity' }));

    const { status, report } = await verify(u);
    expect(status).toBe(1);
    expect(report.mismatches.map((m) => [m.kind, m.id]).sort()).toEqual(
      [
        ['event', tampered.id],
        ['event-version', old.id],
        ['event-deletion', events[2]!.id],
        ['access', `${share.id}:1`],
      ].sort(),
    );
    const eventMismatch = report.mismatches.find((m) => m.kind === 'event')!;
    expect(eventMismatch.stored).toBe(tampered.integrity);
    expect(report.missing).toBe(1);
    expect(report.missingItems).toEqual([{ kind: 'event', id: old.id, modified: expect.any(Number) }]);

    // The next write through the API adds the missing value (the version it replaces stays without
    // one: it was written so); the forged items stay reported (checked in this process, then as text).
    await api.put(`/events/${old.id}`, { description: 'touched' });
    const after = await verifyAccountIntegrity(u);
    expect(after.missingItems).toEqual([{ kind: 'event-version', id: old.id, modified: expect.any(Number) }]);
    expect(after.mismatches).toHaveLength(4);
    const text = await verifyOutput(u, false);
    expect(text.status).toBe(1);
    expect(text.stdout).toContain(`event ${tampered.id} (written `);
    expect(text.stdout).toContain('mismatches: 4');
    expect(text.stdout).toContain('without integrity: 1');
  }, 180_000);

  it('says so for an unknown user (exit status 2)', async () => {
    await expect(verify(`nobody-${randomBytes(4).toString('hex')}`)).rejects.toThrow(/\(2\): integrity:verify: no user/);
  }, 120_000);
});

describe('account values (system streams) are sealed like other events', () => {
  it('registration, account.update and events.create on an account stream; storage counters answered with the value shown', async () => {
    useRuntimeStore();
    const user = await createUser();
    const api = as(user);
    await api.put('/account', { language: 'fr' });
    await api.post('/events', { streamIds: [':_system:language'], type: 'language/iso-639-1', content: 'de' });
    const events = (await api.get('/events?streams=[":_system:account"]&state=all&limit=100')).events as Array<Record<string, unknown>>;
    // The language's three values (en, fr, de), the storage counters; every one sealed as answered.
    expect(
      events
        .filter((e) => (e.streamIds as string[]).includes(':_system:language'))
        .map((e) => e.content)
        .sort(),
    ).toEqual(['de', 'en', 'fr']);
    expect(events.some((e) => (e.streamIds as string[]).includes(':_system:dbDocuments'))).toBe(true);
    for (const e of events) expectSealedEvent(e);
    const { status, report } = await verify(user.username);
    expect(report.mismatches).toEqual([]);
    expect(report.missing).toBe(0);
    expect(status).toBe(0);
  }, 180_000);
});
