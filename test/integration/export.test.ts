import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { extract, pack } from 'tar-stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { eventIntegrity } from '../../shared/domain/integrity/canonical';
import { verifyAccountIntegrity } from '../../shared/domain/integrity/verify';
import { apiUrl, call, createUser, expectError, type TestUser, useRuntimeStore } from '../setup/api';

/** Export of a whole account as a tar.gz in S3, and its import into a new account. */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FILE_BYTES = Buffer.from([...Array(3000).keys()].map((i) => (i * 7919) % 256)); // binary, every byte value

async function untilDone(path: string, token: string, field: 'export' | 'import'): Promise<any> {
  const deadline = Date.now() + 25_000;
  for (;;) {
    const res = await call('GET', path, { token });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const job = res.body[field];
    if (job.status === 'done' || job.status === 'failed') return job;
    if (Date.now() > deadline) throw new Error(`${field} still ${job.status}`);
    await sleep(150);
  }
}

async function untar(archive: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const ex = extract();
  const reading = (async () => {
    for await (const entry of ex) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      files.set(entry.header.name, Buffer.concat(chunks));
    }
  })();
  Readable.from([gunzipSync(archive)]).pipe(ex);
  await reading;
  return files;
}

const jsonl = (b: Buffer | undefined) =>
  (b ?? Buffer.alloc(0))
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

/** events.get answers without the per-access read tokens (they derive from the reading token). */
const withoutReadTokens = (events: any[]) =>
  events.map((e) => (e.attachments ? { ...e, attachments: e.attachments.map(({ readToken: _r, ...a }: any) => a) } : e));

async function populate(user: TestUser): Promise<{ secrets: string[]; fileEvent: any; updated: string; holder: string }> {
  const t = user.token;
  const u = user.username;
  const post = async (path: string, body: unknown) => {
    const res = await call('POST', `/${u}${path}`, { token: t, body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  };
  await post('/streams', { id: 'health', name: 'Health', clientData: { color: 'red' } });
  await post('/streams', { id: 'heart', name: 'Heart', parentId: 'health' });
  await post('/streams', { id: 'bin', name: 'Bin' });
  await post('/streams', { id: 'gone', name: 'Gone' });
  await call('DELETE', `/${u}/streams/bin`, { token: t });
  await call('DELETE', `/${u}/streams/gone`, { token: t });
  await call('DELETE', `/${u}/streams/gone`, { token: t });
  const e1 = (await post('/events', { streamIds: ['heart'], type: 'mass/kg', content: 70, time: 1_700_000_000, tags: ['a'] })).event;
  await call('PUT', `/${u}/events/${e1.id}`, { token: t, body: { content: 71 } });
  await post('/events', { streamIds: ['health', 'heart'], type: 'activity/plain', duration: null });
  await post('/events', { streamIds: ['health'], type: 'note/txt', content: 'period', duration: 3600, time: 1_600_000_000 });
  const trashed = (await post('/events', { streamIds: ['health'], type: 'note/txt', content: 'trash me' })).event;
  await call('DELETE', `/${u}/events/${trashed.id}`, { token: t });
  const deleted = (await post('/events', { streamIds: ['health'], type: 'note/txt', content: 'delete me' })).event;
  await call('DELETE', `/${u}/events/${deleted.id}`, { token: t });
  await call('DELETE', `/${u}/events/${deleted.id}`, { token: t });
  const form = new FormData();
  form.append('event', JSON.stringify({ streamIds: ['heart'], type: 'picture/attached' }));
  form.append('file', new Blob([FILE_BYTES]), 'scan.bin');
  const upload = await fetch(`${apiUrl()}/${u}/events`, { method: 'POST', headers: { authorization: t }, body: form });
  expect(upload.status).toBe(201);
  const fileEvent = ((await upload.json()) as any).event;
  // An HF series holder with points in two chunks' worth.
  const holder = (await post('/events', { streamIds: ['heart'], type: 'series:mass/kg', time: 1_700_000_000 })).event;
  const points = Array.from({ length: 1500 }, (_, i) => [i, 60 + (i % 7)]);
  const added = await call('POST', `/${u}/events/${holder.id}/series`, {
    token: t,
    body: { format: 'flatJSON', fields: ['deltaTime', 'value'], points },
  });
  expect(added.status, JSON.stringify(added.body)).toBe(200);
  const shared = (await post('/accesses', { name: 'doctor', permissions: [{ streamId: 'health', level: 'read' }] })).access;
  const app = (await post('/accesses', { type: 'app', name: 'export-app', permissions: [{ streamId: '*', level: 'manage' }] })).access;
  const hook = await call('POST', `/${u}/webhooks`, { token: app.token, body: { url: 'http://127.0.0.1:9/export-hook' } });
  expect(hook.status, JSON.stringify(hook.body)).toBe(201);
  await post('/followed-slices', { name: 'Mum', url: 'https://mum.example.com/', accessToken: 'mums-shared-token' });
  expect((await call('PUT', `/${u}/profile/private`, { token: t, body: { language: 'fr', theme: { dark: true } } })).status).toBe(200);
  return { secrets: [t, shared.token, app.token, user.password], fileEvent, updated: e1.id, holder: holder.id };
}

describe('account export and import', () => {
  let source: TestUser;
  let populated: Awaited<ReturnType<typeof populate>>;
  let exportJob: any;
  let archive: Buffer;

  beforeAll(async () => {
    useRuntimeStore();
    source = await createUser();
    populated = await populate(source);
  });

  it('an export requested twice runs once, and completes with a presigned link', async () => {
    const first = await call('POST', `/${source.username}/account/export`, { token: source.token });
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    expect(first.body.export).toMatchObject({ status: 'pending' });
    const second = await call('POST', `/${source.username}/account/export`, { token: source.token });
    expect(second.status).toBe(202);
    expect(second.body.export.id).toBe(first.body.export.id);

    exportJob = await untilDone(`/${source.username}/account/export/${first.body.export.id}`, source.token, 'export');
    expect(exportJob.status, JSON.stringify(exportJob)).toBe('done');
    expect(exportJob.url).toMatch(/^http/);
    const download = await fetch(exportJob.url);
    expect(download.status).toBe(200);
    archive = Buffer.from(await download.arrayBuffer());
    expect(archive.length).toBe(exportJob.size);
    expect(createHash('sha256').update(archive).digest('hex')).toBe(exportJob.sha256);

    // Once done, a new request is a new export.
    const third = await call('POST', `/${source.username}/account/export`, { token: source.token });
    expect(third.body.export.id).not.toBe(first.body.export.id);
    await untilDone(`/${source.username}/account/export/${third.body.export.id}`, source.token, 'export');
  });

  it('the archive holds everything, checked by its manifest, and no token or secret', async () => {
    const files = await untar(archive);
    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8'));
    expect(manifest).toMatchObject({ format: 'pryv-serverless-export', version: 1, username: source.username });
    for (const f of manifest.files) {
      const data = files.get(f.path)!;
      expect(data, f.path).toBeDefined();
      expect({ path: f.path, size: data.length, sha256: createHash('sha256').update(data).digest('hex') }).toEqual(f);
    }
    expect([...files.keys()].sort()).toEqual([...manifest.files.map((f: any) => f.path), 'manifest.json'].sort());

    expect(jsonl(files.get('account.json'))[0]).toMatchObject({ username: source.username, email: source.email });
    expect(
      jsonl(files.get('streams.jsonl'))
        .map((s) => s.id)
        .sort(),
    ).toEqual(['bin', 'health', 'heart']);
    expect(jsonl(files.get('stream-deletions.jsonl')).map((s) => s.id)).toEqual(['gone']);
    const exported = jsonl(files.get('events.jsonl'));
    expect(ownEvents(exported)).toHaveLength(6);
    // The account's shown values come along (Pryv API reference §7); hidden ones (its appId) do not.
    expect(
      exported
        .filter((e) => isAccountEvent(e))
        .map((e) => e.streamIds[0])
        .sort(),
    ).toEqual([':_system:attachedFiles', ':_system:dbDocuments', ':_system:language', ':system:email']);
    expect(exported.find((e) => e.streamIds[0] === ':system:email')?.content).toBe(source.email);
    const series = jsonl(files.get('series.jsonl'));
    expect(series.every((c) => c.eventId === populated.holder)).toBe(true);
    expect(series.flatMap((c) => c.deltaTimes)).toEqual(Array.from({ length: 1500 }, (_, i) => i));
    // Previous versions: of the updated event, and of the trashed one (trashing is an update).
    const history = jsonl(files.get('event-history.jsonl')).map((v) => [v.headId, v.content]);
    expect(history).toHaveLength(2);
    expect(history).toContainEqual([populated.updated, 70]);
    expect(history.map((h) => h[1])).toContain('trash me');
    expect(jsonl(files.get('event-deletions.jsonl'))).toHaveLength(1);
    const accesses = jsonl(files.get('accesses.jsonl'));
    expect(accesses.map((a) => a.name).sort()).toEqual(['doctor', 'export-app', 'test-app-id']);
    expect(accesses.every((a) => a.token === undefined)).toBe(true);
    const webhooks = jsonl(files.get('webhooks.jsonl'));
    expect(webhooks).toHaveLength(1);
    expect(webhooks[0].secret).toBeUndefined();
    const fileId = populated.fileEvent.attachments[0].id;
    expect(files.get(`attachments/${populated.fileEvent.id}/${fileId}`)!.equals(FILE_BYTES)).toBe(true);

    const everything = Buffer.concat([...files.values()]).toString('latin1');
    for (const secret of populated.secrets) expect(everything).not.toContain(secret);
    expect(everything).not.toMatch(/\$2[aby]\$|scrypt/); // no password hash
    // nor the request ids items keep for the operator's logs (writer of each change, webhook retries)
    expect(everything).not.toMatch(/"rq"\s*:|"pendingCauses"\s*:/);
  });

  it('another user, an app access or a shared access can neither export nor read the export', async () => {
    const other = await createUser();
    const id = exportJob.id;
    expectError(await call('POST', `/${source.username}/account/export`, { token: other.token }), 403, 'invalid-access-token');
    expectError(await call('GET', `/${source.username}/account/export/${id}`, { token: other.token }), 403, 'invalid-access-token');
    expectError(await call('GET', `/${other.username}/account/export/${id}`, { token: other.token }), 404, 'unknown-resource');
    const app = await call('POST', `/${source.username}/accesses`, {
      token: source.token,
      body: { type: 'app', name: 'nosy-app', permissions: [{ streamId: '*', level: 'manage' }] },
    });
    expectError(await call('POST', `/${source.username}/account/export`, { token: app.body.access.token }), 403, 'forbidden');
    expectError(await call('GET', `/${source.username}/account/export/${id}`, { token: app.body.access.token }), 403, 'forbidden');
    expectError(await call('GET', `/${source.username}/account/export/not-an-id`, { token: source.token }), 404, 'unknown-resource');
    expectError(
      await call('GET', `/${source.username}/account/export/${encodeURIComponent('../x')}`, { token: source.token }),
      400,
      'invalid-parameters-format',
    );
  });

  it('imports into a new account: identical streams.get and events.get answers, byte-identical attachments', async () => {
    const target = await createUser();
    const slot = await call('POST', `/${target.username}/account/import`, { token: target.token, body: { size: archive.length } });
    expect(slot.status, JSON.stringify(slot.body)).toBe(201);
    const { id, upload } = slot.body.import;
    const put = await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: archive });
    expect(put.status).toBe(200);
    const started = await call('POST', `/${target.username}/account/import/${id}`, { token: target.token });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const job = await untilDone(`/${target.username}/account/import/${id}`, target.token, 'import');
    expect(job.status, JSON.stringify(job)).toBe('done');
    expect(job.counts).toMatchObject({ streams: 3, events: 6, seriesPoints: 1500 });

    const same = async (path: string, pick: (body: any) => unknown) => {
      const a = await call('GET', `/${source.username}${path}`, { token: source.token });
      const b = await call('GET', `/${target.username}${path}`, { token: target.token });
      expect(a.status).toBe(200);
      expect(b.status).toBe(200);
      expect(pick(b.body)).toEqual(pick(a.body));
      return pick(a.body);
    };
    const streams = (await same('/streams?state=all', (b) => b.streams)) as any[];
    expect(streams.filter((s) => !s.id.startsWith(':')).length).toBe(2);
    // The target keeps its own account values (its email), the archive's are not imported.
    const targetEmail = await call('GET', `/${target.username}/events?streams=${encodeURIComponent(':system:email')}`, {
      token: target.token,
    });
    expect(targetEmail.body.events.map((e: any) => e.content)).toEqual([target.email]);
    const events = (await same('/events?state=all&limit=1000', (b) => withoutReadTokens(ownEvents(b.events)))) as any[];
    expect(events).toHaveLength(6);
    // Integrity is computed again as the import writes (the same values, as the content is the same), versions and deletion records included.
    for (const e of events) expect(e.integrity).toBe(eventIntegrity(e));
    const report = await verifyAccountIntegrity(target.username);
    expect(report.mismatches).toEqual([]);
    expect(report.missing).toBe(0);
    // 6 events, 1 deletion record, 2 previous versions (an update, a trash), and the target account's own 5
    // account values written at its registration (email, language, appId, two storage counters; the archive's are skipped).
    expect(report.checked.events).toBe(14);
    expect(await same(`/events/${populated.holder}/series?toDeltaTime=2000`, (b) => [b.fields, b.points])).toEqual([
      ['deltaTime', 'value'],
      Array.from({ length: 1500 }, (_, i) => [i, 60 + (i % 7)]),
    ]);
    await same('/events?streams=health&limit=1000', (b) => withoutReadTokens(b.events));
    await same('/events?running=true', (b) => b.events);
    await same('/events?fromTime=1599999000&toTime=1600000100', (b) => b.events);
    await same('/events?modifiedSince=0&includeDeletions=true&state=all&limit=1000', (b) => ({
      events: withoutReadTokens(ownEvents(b.events)),
      eventDeletions: b.eventDeletions,
    }));
    await same(`/events/${populated.updated}?includeHistory=true`, (b) => ({ event: b.event, history: b.history }));
    await same('/streams?includeDeletionsSince=0', (b) => b.streamDeletions);
    expect(await same('/followed-slices', (b) => b.followedSlices)).toHaveLength(1);
    expect(await same('/profile/private', (b) => b.profile)).toEqual({ language: 'fr', theme: { dark: true } });

    const fileId = populated.fileEvent.attachments[0].id;
    const bytes = await call('GET', `/${target.username}/events/${populated.fileEvent.id}/${fileId}`, { token: target.token });
    expect(bytes.status).toBe(200);
    const raw = await fetch(`${apiUrl()}/${target.username}/events/${populated.fileEvent.id}/${fileId}`, {
      headers: { authorization: target.token },
    });
    expect(Buffer.from(await raw.arrayBuffer()).equals(FILE_BYTES)).toBe(true);
    expect((await call('GET', `/${target.username}/account`, { token: target.token })).body.account.storageUsed.attachedFiles).toBe(
      FILE_BYTES.length,
    );

    // Only into an empty account: a second import is refused.
    expectError(
      await call('POST', `/${target.username}/account/import`, { token: target.token, body: { size: 10 } }),
      400,
      'invalid-operation',
    );
  });

  /** Account value events (Pryv API reference §7), which every account has from its registration. */
  const isAccountEvent = (e: { streamIds: string[] }) => e.streamIds.some((id) => id.startsWith(':_system:') || id.startsWith(':system:'));
  /** The events the test wrote itself. */
  const ownEvents = <T extends { streamIds: string[] }>(events: T[]): T[] => events.filter((e) => !isAccountEvent(e));

  /** The exported archive packed again, each file as `change` gives it. */
  async function repack(change: (name: string, data: Buffer) => Buffer): Promise<Buffer> {
    const files = await untar(archive);
    const p = pack();
    const chunks: Buffer[] = [];
    p.on('data', (c: unknown) => {
      chunks.push(c as Buffer);
    });
    const ended = new Promise<void>((r) => p.on('end', () => r()));
    for (const [name, data] of files) p.entry({ name }, change(name, data));
    p.finalize();
    await ended;
    return gzipSync(Buffer.concat(chunks));
  }

  async function importInto(target: TestUser, tarball: Buffer): Promise<any> {
    const slot = await call('POST', `/${target.username}/account/import`, { token: target.token, body: { size: tarball.length } });
    const { id, upload } = slot.body.import;
    expect((await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: tarball })).status).toBe(200);
    expect((await call('POST', `/${target.username}/account/import/${id}`, { token: target.token })).status).toBe(202);
    return untilDone(`/${target.username}/account/import/${id}`, target.token, 'import');
  }

  it('refuses an altered archive without writing anything', async () => {
    const target = await createUser();
    // Re-packed with one event changed but the manifest as it was.
    const altered = await repack((name, data) =>
      name === 'events.jsonl' ? Buffer.from(data.toString('utf8').replace('"content":71', '"content":99')) : data,
    );
    const job = await importInto(target, altered);
    expect(job).toMatchObject({ status: 'failed', error: '"events.jsonl" does not match the manifest' });
    const streamsLeft = (await call('GET', `/${target.username}/streams?state=all`, { token: target.token })).body.streams;
    expect(streamsLeft.filter((s: any) => !s.id.startsWith(':'))).toEqual([]);
    expect(ownEvents((await call('GET', `/${target.username}/events?state=all`, { token: target.token })).body.events)).toEqual([]);
    // Nothing was uploaded under this id: 404.
    expectError(
      await call('POST', `/${target.username}/account/import/c${'0'.repeat(24)}`, { token: target.token }),
      404,
      'unknown-resource',
    );
  });

  it('an import that stops after writing its events still lets a range read find their periods', async () => {
    // series.jsonl made invalid (its line names an event that is not a series holder) and the
    // manifest made to match: the import fails in its series step, after every event is written.
    const target = await createUser();
    const original = await untar(archive);
    const series = Buffer.from(original.get('series.jsonl')!.toString('utf8').replaceAll(populated.holder, populated.updated));
    const manifest = JSON.parse(original.get('manifest.json')!.toString('utf8'));
    const listed = manifest.files.find((f: { path: string }) => f.path === 'series.jsonl');
    Object.assign(listed, { size: series.length, sha256: createHash('sha256').update(series).digest('hex') });
    const changed: Record<string, Buffer> = { 'series.jsonl': series, 'manifest.json': Buffer.from(JSON.stringify(manifest)) };
    const job = await importInto(target, await repack((name, data) => changed[name] ?? data));
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/^series\.jsonl: a line for /);
    // The archive's period (1 hour from 1,600,000,000): a range inside it, after its start.
    const inside = await call('GET', `/${target.username}/events?fromTime=1600001000&toTime=1600002000`, { token: target.token });
    expect(inside.status).toBe(200);
    expect(inside.body.events.map((e: any) => e.content)).toEqual(['period']);
  });
});
