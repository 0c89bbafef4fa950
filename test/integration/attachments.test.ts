import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import pryv from 'pryv';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type LocalGateway, startGateway } from '../../infra/local/gateway';
import { resetConfig } from '../../shared/config';
import { type ApiResponse, apiUrl, call, createUser, expectError, type TestUser, useRuntimeStore } from '../setup/api';

/**
 * Attachments (spec §1.4 multipart, §2.2.6, §3.1): real multipart bodies over
 * HTTP, files checked byte for byte and counted in the S3 emulator's bucket.
 */

const BUCKET = 'pryv-attachments';
const MB = 1024 * 1024;
const DIRECT_TRANSFER_MAX_BYTES = 4 * MB; // the default: larger downloads are redirected to S3
const UPLOAD_MAX_BYTES = 50 * MB; // the default size limit of one file
const run = promisify(execFile);

let s3: S3Client;
let workDir: string;

beforeAll(() => {
  useRuntimeStore();
  s3 = new S3Client({
    endpoint: inject('s3Endpoint'),
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  workDir = mkdtempSync(join(tmpdir(), 'pryv-attachments-test-'));
});

afterAll(() => {
  s3?.destroy();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------
// helpers

async function listKeys(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

/** Objects of a user in the bucket: attached files and unconfirmed presigned uploads. */
async function bucketObjects(username: string): Promise<{ files: string[]; pending: string[] }> {
  return { files: await listKeys(`files/${username}/`), pending: await listKeys(`pending/${username}/`) };
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('base64');
const sid = (prefix = 's') => `${prefix}-${randomBytes(4).toString('hex')}`;
/** A valid client-chosen event id (v1 cuid shape). */
const cuid = () => `c${[...randomBytes(24)].map((b) => (b % 36).toString(36)).join('')}`;
/** Binary content with every byte value, so encodings that mangle bytes show. */
const binary = (size: number) => {
  const data = randomBytes(size);
  for (let i = 0; i < Math.min(256, size); i++) data[i] = i;
  return data;
};
const blob = (data: Buffer, type?: string) => new Blob([new Uint8Array(data)], type ? { type } : {});

async function parseBody(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

async function postForm(path: string, form: FormData, token?: string, base = apiUrl()): Promise<ApiResponse> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: token ? { authorization: token } : {}, body: form });
  return { status: res.status, headers: res.headers, body: await parseBody(res) };
}

/** A hand-made multipart body, for shapes FormData cannot produce. */
function rawMultipart(parts: Array<{ headers: string[]; body: Buffer | string }>): { body: Buffer; contentType: string } {
  const boundary = `----test-boundary-${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\n${part.headers.join('\r\n')}\r\n\r\n`));
    chunks.push(Buffer.isBuffer(part.body) ? part.body : Buffer.from(part.body));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

async function postRaw(path: string, body: Buffer, contentType: string, token: string, base = apiUrl()): Promise<ApiResponse> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: token, 'content-type': contentType },
    body: new Uint8Array(body),
  });
  return { status: res.status, headers: res.headers, body: await parseBody(res) };
}

interface Download {
  status: number;
  headers: Headers;
  data: Buffer;
  /** The Pryv error, when the answer is one. */
  error?: { id: string; message: string };
}

async function download(path: string, options: { token?: string; range?: string } = {}): Promise<Download> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = options.token;
  if (options.range) headers.range = options.range;
  const res = await fetch(`${apiUrl()}${path}`, { headers, redirect: 'manual' });
  const data = Buffer.from(await res.arrayBuffer());
  let error: Download['error'];
  if (res.status >= 400) {
    try {
      error = JSON.parse(data.toString('utf8')).error;
    } catch {
      /* not a Pryv error */
    }
  }
  return { status: res.status, headers: res.headers, data, error };
}

/** Calls of one user with one token. */
function as(username: string, token: string) {
  const base = `/${username}`;
  return {
    username,
    token,
    get: (path: string) => call('GET', base + path, { token }),
    post: (path: string, body: unknown) => call('POST', base + path, { token, body }),
    del: (path: string) => call('DELETE', base + path, { token }),
    form: (path: string, form: FormData) => postForm(base + path, form, token),
    raw: (path: string, body: Buffer, contentType: string) => postRaw(base + path, body, contentType, token),
    file: (eventId: string, fileId: string, options: { range?: string; suffix?: string; token?: string | null } = {}) =>
      download(`${base}/events/${eventId}/${fileId}${options.suffix ?? ''}`, {
        token: options.token === null ? undefined : (options.token ?? token),
        range: options.range,
      }),
  };
}
type Client = ReturnType<typeof as>;

async function newClient(): Promise<{ user: TestUser; api: Client }> {
  const user = await createUser();
  return { user, api: as(user.username, user.token) };
}

async function mkStream(api: Client, id: string, parentId: string | null = null): Promise<void> {
  const res = await api.post('/streams', { id, name: id, parentId });
  if (res.status !== 201) throw new Error(`stream not created: ${res.status} ${JSON.stringify(res.body)}`);
}

async function mkEvent(api: Client, streamIds: string[], extra: Record<string, unknown> = {}) {
  const res = await api.post('/events', { streamIds, type: 'note/txt', content: 'hello', ...extra });
  if (res.status !== 201) throw new Error(`event not created: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.event;
}

/** Creates an event with files through multipart (event part first). */
async function mkEventWithFiles(api: Client, streamIds: string[], files: Array<{ name: string; data: Buffer; type?: string }>) {
  const form = new FormData();
  form.append('event', JSON.stringify({ streamIds, type: 'file/attached' }));
  for (const f of files) form.append('file', blob(f.data, f.type ?? 'application/octet-stream'), f.name);
  const res = await api.form('/events', form);
  if (res.status !== 201) throw new Error(`event not created: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.event;
}

/** What the S3 object itself says (type and size as stored). */
async function stored(key: string): Promise<{ type?: string; size?: number }> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
  return { type: head.ContentType, size: head.ContentLength };
}

// ---------------------------------------------------------------------------------------

describe('events.create with multipart/form-data (spec §1.4, §2.2.6)', () => {
  let api: Client;
  const stream = 'docs';
  beforeAll(async () => {
    ({ api } = await newClient());
    await mkStream(api, stream);
  });

  it('event part first, several files: 201, each attachment has id, fileName, type, size, readToken; bytes round-trip', async () => {
    const png = binary(70_000);
    const text = Buffer.from('plain text ✓\n');
    const before = await bucketObjects(api.username);
    const form = new FormData();
    form.append('event', JSON.stringify({ streamIds: [stream], type: 'picture/attached', description: 'two files' }));
    form.append('photo', blob(png, 'image/png'), 'photo.png');
    form.append('notes', blob(text, 'text/plain'), 'notes.txt');
    const res = await api.form('/events', form);
    expect(res.status).toBe(201);
    const event = res.body.event;
    expect(event).toMatchObject({ streamIds: [stream], type: 'picture/attached', description: 'two files' });
    expect(event.attachments).toEqual([
      {
        id: expect.any(String),
        fileName: 'photo.png',
        type: 'image/png',
        size: png.length,
        readToken: expect.any(String),
        integrity: `sha256-${sha256(png)}`,
      },
      {
        id: expect.any(String),
        fileName: 'notes.txt',
        type: 'text/plain',
        size: text.length,
        readToken: expect.any(String),
        integrity: `sha256-${sha256(text)}`,
      },
    ]);
    const [a, b] = event.attachments;
    expect(a.id).not.toBe(b.id);
    // Read back as stored: the same attachments (with this reader's read tokens).
    expect((await api.get(`/events/${event.id}`)).body.event.attachments).toEqual(event.attachments);
    // Byte for byte, with the headers of the stored file.
    const one = await api.file(event.id, a.id);
    expect(one.status).toBe(200);
    expect(one.data.equals(png)).toBe(true);
    expect(one.headers.get('content-type')).toBe('image/png');
    expect(one.headers.get('content-length')).toBe(String(png.length));
    expect(one.headers.get('content-disposition')).toBe("attachment; filename*=UTF-8''photo.png");
    expect(one.headers.get('digest')).toBe(`SHA-256=${sha256(png)}`);
    const two = await api.file(event.id, b.id);
    expect(two.data.equals(text)).toBe(true);
    expect(two.headers.get('content-type')).toBe('text/plain');
    // Exactly these two objects were written, under the event's prefix.
    const after = await bucketObjects(api.username);
    expect(after.files).toEqual(
      [...before.files, `files/${api.username}/${event.id}/${a.id}`, `files/${api.username}/${event.id}/${b.id}`].sort(),
    );
    expect(after.pending).toEqual(before.pending);
  });

  it('event part after the files (and a custom id): same result; type and size are those of the stored object', async () => {
    const id = cuid();
    const files = [
      { name: 'a.bin', data: binary(1024), type: 'application/octet-stream' },
      { name: 'b.pdf', data: binary(33_333), type: 'application/pdf' },
      { name: 'empty.txt', data: Buffer.alloc(0), type: 'text/plain' },
    ];
    const form = new FormData();
    for (const f of files) form.append(f.name, blob(f.data, f.type), f.name);
    form.append('whatever-name', JSON.stringify({ id, streamIds: [stream], type: 'file/attached-multiple' }));
    const res = await api.form('/events', form);
    expect(res.status).toBe(201);
    expect(res.body.event.id).toBe(id);
    const attachments = res.body.event.attachments;
    expect(attachments.map((a: { fileName: string; type: string; size: number }) => [a.fileName, a.type, a.size])).toEqual(
      files.map((f) => [f.name, f.type, f.data.length]),
    );
    for (const [i, f] of files.entries()) {
      const att = attachments[i];
      expect(await stored(`files/${api.username}/${id}/${att.id}`)).toEqual({ type: att.type, size: att.size });
      const got = await api.file(id, att.id);
      expect(got.status).toBe(200);
      expect(got.data.equals(f.data)).toBe(true);
      expect(got.headers.get('content-length')).toBe(String(f.data.length));
    }
  });

  it('a part without Content-Type is recorded with the type it was stored with', async () => {
    const data = binary(500);
    const { body, contentType } = rawMultipart([
      { headers: ['Content-Disposition: form-data; name="event"'], body: JSON.stringify({ streamIds: [stream], type: 'file/attached' }) },
      { headers: ['Content-Disposition: form-data; name="file"; filename="raw.dat"'], body: data },
    ]);
    const res = await api.raw('/events', body, contentType);
    expect(res.status).toBe(201);
    const [att] = res.body.event.attachments;
    expect(att).toMatchObject({ fileName: 'raw.dat', size: data.length });
    expect(await stored(`files/${api.username}/${res.body.event.id}/${att.id}`)).toEqual({ type: att.type, size: data.length });
    const got = await api.file(res.body.event.id, att.id);
    expect(got.headers.get('content-type')).toBe(att.type);
    expect(got.data.equals(data)).toBe(true);
  });

  it('an event part with no file is a plain events.create', async () => {
    const form = new FormData();
    form.append('event', JSON.stringify({ streamIds: [stream], type: 'note/txt', content: 'no files' }));
    const res = await api.form('/events', form);
    expect(res.status).toBe(201);
    expect(res.body.event).toMatchObject({ content: 'no files' });
    expect(res.body.event.attachments).toBeUndefined();
  });
});

describe('events.addAttachment: POST /events/{id} multipart (spec §2.2.6)', () => {
  let api: Client;
  const stream = 'album';
  beforeAll(async () => {
    ({ api } = await newClient());
    await mkStream(api, stream);
  });

  it('adds files to an existing event, keeps the ones it had: 200 {event}', async () => {
    const first = binary(2000);
    const event = await mkEventWithFiles(api, [stream], [{ name: 'first.jpg', data: first, type: 'image/jpeg' }]);
    const more = [binary(4096), binary(10)];
    const form = new FormData();
    form.append('one', blob(more[0]!, 'image/gif'), 'second.gif');
    form.append('two', blob(more[1]!, 'application/x-thing'), 'third.thing');
    const res = await api.form(`/events/${event.id}`, form);
    expect(res.status).toBe(200);
    const attachments = res.body.event.attachments;
    expect(attachments.map((a: { fileName: string }) => a.fileName)).toEqual(['first.jpg', 'second.gif', 'third.thing']);
    expect(attachments[0]).toEqual(event.attachments[0]);
    expect(attachments[1]).toMatchObject({ type: 'image/gif', size: 4096, readToken: expect.any(String) });
    expect(res.body.event.modified).toBeGreaterThanOrEqual(event.modified);
    expect((await api.file(event.id, attachments[0].id)).data.equals(first)).toBe(true);
    expect((await api.file(event.id, attachments[1].id)).data.equals(more[0]!)).toBe(true);
    expect((await api.file(event.id, attachments[2].id)).data.equals(more[1]!)).toBe(true);
    expect((await bucketObjects(api.username)).files.filter((k) => k.includes(`/${event.id}/`))).toHaveLength(3);
  });

  it('to an event without attachments; works on an event created by JSON', async () => {
    const event = await mkEvent(api, [stream]);
    const data = binary(300);
    const form = new FormData();
    form.append('file', blob(data, 'audio/ogg'), 'sound.ogg');
    const res = await api.form(`/events/${event.id}`, form);
    expect(res.status).toBe(200);
    expect(res.body.event).toMatchObject({ content: 'hello', attachments: [{ fileName: 'sound.ogg', type: 'audio/ogg', size: 300 }] });
  });

  it('concurrent additions and a deletion on one event: none is lost, S3 matches the event', async () => {
    const event = await mkEventWithFiles(api, [stream], [{ name: 'old.bin', data: binary(10) }]);
    const datas = [binary(111), binary(222), binary(333), binary(444)];
    const results = await Promise.all([
      ...datas.map((d, i) => {
        const form = new FormData();
        form.append('file', blob(d), `parallel-${i}.bin`);
        return api.form(`/events/${event.id}`, form);
      }),
      api.del(`/events/${event.id}/${event.attachments[0].id}`),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const attachments = (await api.get(`/events/${event.id}`)).body.event.attachments as Array<{ id: string; fileName: string }>;
    expect(attachments.map((a) => a.fileName).sort()).toEqual(['parallel-0.bin', 'parallel-1.bin', 'parallel-2.bin', 'parallel-3.bin']);
    expect(await listKeys(`files/${api.username}/${event.id}/`)).toEqual(
      attachments.map((a) => `files/${api.username}/${event.id}/${a.id}`).sort(),
    );
    for (const a of attachments) {
      const i = Number(a.fileName.slice('parallel-'.length, -'.bin'.length));
      expect((await api.file(event.id, a.id)).data.equals(datas[i]!)).toBe(true);
    }
  });

  it('unknown event → 404 unknown-resource, no files → 400 invalid-request-structure; nothing written', async () => {
    const before = await bucketObjects(api.username);
    const form = new FormData();
    form.append('file', blob(binary(100)), 'x.bin');
    expectError(await api.form(`/events/${cuid()}`, form), 404, 'unknown-resource');
    const event = await mkEvent(api, [stream]);
    const onlyJson = new FormData();
    onlyJson.append('event', JSON.stringify({ content: 'x' }));
    expectError(await api.form(`/events/${event.id}`, onlyJson), 400, 'invalid-request-structure');
    expectError(await api.post(`/events/${event.id}`, { content: 'x' }), 400, 'invalid-request-structure');
    expect(await bucketObjects(api.username)).toEqual(before);
  });
});

describe('events.getAttachment (spec §2.2.6)', () => {
  let user: TestUser;
  let api: Client;
  const stream = 'health';
  const other = 'private';
  let event: any;
  let data: Buffer;
  beforeAll(async () => {
    ({ user, api } = await newClient());
    await mkStream(api, stream);
    await mkStream(api, other);
    data = binary(10_000);
    event = await mkEventWithFiles(
      api,
      [stream],
      [
        { name: 'scan.bin', data, type: 'application/octet-stream' },
        { name: 'second.txt', data: Buffer.from('second'), type: 'text/plain' },
      ],
    );
  });

  it('with the Authorization header (raw, Bearer or Basic), any file name suffix', async () => {
    const att = event.attachments[0];
    for (const token of [user.token, `Bearer ${user.token}`, `Basic ${Buffer.from(`${user.token}:`).toString('base64')}`]) {
      const res = await api.file(event.id, att.id, { token });
      expect(res.status).toBe(200);
      expect(res.data.equals(data)).toBe(true);
    }
    const named = await api.file(event.id, att.id, { suffix: '/scan.bin' });
    expect(named.status).toBe(200);
    expect(named.data.equals(data)).toBe(true);
    const misnamed = await api.file(event.id, att.id, { suffix: '/anything-else.jpg' });
    expect(misnamed.status).toBe(200);
    expect(misnamed.headers.get('content-disposition')).toBe("attachment; filename*=UTF-8''scan.bin");
  });

  it('with ?readToken= and no Authorization; the token is per file', async () => {
    const [a, b] = event.attachments;
    const res = await api.file(event.id, a.id, { token: null, suffix: `/scan.bin?readToken=${encodeURIComponent(a.readToken)}` });
    expect(res.status).toBe(200);
    expect(res.data.equals(data)).toBe(true);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-length')).toBe(String(data.length));
    // a's token does not open b.
    const wrongFile = await api.file(event.id, b.id, { token: null, suffix: `?readToken=${encodeURIComponent(a.readToken)}` });
    expect(wrongFile.status).toBe(401);
    expect(wrongFile.error).toMatchObject({ id: 'invalid-access-token', message: 'Invalid read token.' });
  });

  it('wrong, malformed or tampered read tokens → 401 invalid-access-token', async () => {
    const att = event.attachments[0];
    const [accessId, hmac] = [att.readToken.slice(0, att.readToken.indexOf('-')), att.readToken.slice(att.readToken.indexOf('-') + 1)];
    const tampered = `${accessId}-${hmac.slice(0, -2)}${hmac.endsWith('AA') ? 'BB' : 'AA'}`;
    for (const token of ['nonsense', 'no-such-access-abc', tampered, `${cuid()}-${hmac}`, '']) {
      const res = await api.file(event.id, att.id, { token: null, suffix: `?readToken=${encodeURIComponent(token)}` });
      expect({ token, status: res.status, id: res.error?.id }).toEqual({ token, status: 401, id: 'invalid-access-token' });
    }
  });

  it('?auth= is refused (401 invalid-access-token), as is no credential at all (401)', async () => {
    const att = event.attachments[0];
    const viaAuth = await api.file(event.id, att.id, { token: null, suffix: `?auth=${user.token}` });
    expect(viaAuth.status).toBe(401);
    expect(viaAuth.error?.id).toBe('invalid-access-token');
    expect(viaAuth.data.equals(data)).toBe(false);
    const none = await api.file(event.id, att.id, { token: null });
    expect(none.status).toBe(401);
    expect(none.error?.id).toBe('invalid-access-token');
    const unknownToken = await api.file(event.id, att.id, { token: 'not-a-token' });
    expect(unknownToken.status).toBe(403);
    expect(unknownToken.error?.id).toBe('invalid-access-token');
  });

  it('unknown fileId, event or user → 404 unknown-resource', async () => {
    const att = event.attachments[0];
    for (const res of [
      await api.file(event.id, cuid()),
      await api.file(cuid(), att.id),
      // A valid read token for this file id, on an event that does not exist.
      await api.file(cuid(), att.id, { token: null, suffix: `?readToken=${encodeURIComponent(att.readToken)}` }),
      await download(`/no-such-user-${randomBytes(3).toString('hex')}/events/${event.id}/${att.id}`, { token: user.token }),
    ]) {
      expect({ status: res.status, id: res.error?.id }).toEqual({ status: 404, id: 'unknown-resource' });
    }
    // Another event's file id is unknown for this event.
    const elsewhere = await mkEventWithFiles(api, [stream], [{ name: 'z.txt', data: Buffer.from('z') }]);
    expect((await api.file(event.id, elsewhere.attachments[0].id)).status).toBe(404);
  });

  it("Content-Disposition encodes a non-ASCII file name as filename*=UTF-8''…", async () => {
    const name = "résumé d'été 📄 (v2).txt";
    const content = Buffer.from('ünïcödé');
    const e = await mkEventWithFiles(api, [stream], [{ name, data: content, type: 'text/plain' }]);
    expect(e.attachments[0].fileName).toBe(name);
    const res = await api.file(e.id, e.attachments[0].id);
    expect(res.status).toBe(200);
    const disposition = res.headers.get('content-disposition')!;
    expect(disposition).toBe("attachment; filename*=UTF-8''r%C3%A9sum%C3%A9%20d%27%C3%A9t%C3%A9%20%F0%9F%93%84%20%28v2%29.txt");
    expect(decodeURIComponent(disposition.split("''")[1]!)).toBe(name);
    expect(res.data.equals(content)).toBe(true);
  });

  it('range requests: 206 with Content-Range and exactly the bytes asked for', async () => {
    const att = event.attachments[0];
    const size = data.length;
    const cases: Array<[string, number, number]> = [
      ['bytes=0-9', 0, 9],
      ['bytes=100-', 100, size - 1],
      ['bytes=-16', size - 16, size - 1],
      ['bytes=5000-5000', 5000, 5000],
    ];
    for (const [range, start, end] of cases) {
      const res = await api.file(event.id, att.id, { range });
      expect({ range, status: res.status }).toEqual({ range, status: 206 });
      expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${size}`);
      expect(res.headers.get('content-length')).toBe(String(end - start + 1));
      expect(res.data.equals(data.subarray(start, end + 1))).toBe(true);
    }
    // Also with a read token.
    const viaToken = await download(`/${user.username}/events/${event.id}/${att.id}?readToken=${encodeURIComponent(att.readToken)}`, {
      range: 'bytes=1-3',
    });
    expect(viaToken.status).toBe(206);
    expect(viaToken.data.equals(data.subarray(1, 4))).toBe(true);
    expect((await api.file(event.id, att.id)).headers.get('accept-ranges')).toBe('bytes');
  });

  it('a range starting past the end → 416, not a server error; an end past the file is clipped; a malformed range is ignored', async () => {
    const att = event.attachments[0];
    for (const range of [`bytes=${data.length}-`, `bytes=${data.length + 10}-${data.length + 20}`, 'bytes=-0']) {
      const res = await api.file(event.id, att.id, { range });
      expect({ range, status: res.status, id: res.error?.id }).toEqual({ range, status: 416, id: 'invalid-request-structure' });
    }
    const clipped = await api.file(event.id, att.id, { range: `bytes=${data.length - 3}-${data.length + 1000}` });
    expect(clipped.status).toBe(206);
    expect(clipped.headers.get('content-range')).toBe(`bytes ${data.length - 3}-${data.length - 1}/${data.length}`);
    expect(clipped.data.equals(data.subarray(data.length - 3))).toBe(true);
    const bigSuffix = await api.file(event.id, att.id, { range: `bytes=-${data.length + 5}` });
    expect(bigSuffix.status).toBe(206);
    expect(bigSuffix.data.equals(data)).toBe(true);
    for (const range of ['bytes=9-3', 'items=0-5', 'bytes=0-1,5-6']) {
      const res = await api.file(event.id, att.id, { range });
      expect({ range, status: res.status }).toEqual({ range, status: 200 });
      expect(res.data.equals(data)).toBe(true);
    }
  });

  it("honours permissions: no read right on the event's streams → 403 forbidden", async () => {
    const privateEvent = await mkEventWithFiles(api, [other], [{ name: 'secret.txt', data: Buffer.from('secret') }]);
    const created = await api.post('/accesses', { name: sid('health-only'), permissions: [{ streamId: stream, level: 'read' }] });
    expect(created.status).toBe(201);
    const reader = created.body.access;
    const denied = await api.file(privateEvent.id, privateEvent.attachments[0].id, { token: reader.token });
    expect(denied.status).toBe(403);
    expect(denied.error?.id).toBe('forbidden');
    expect(denied.data.toString()).not.toContain('secret"');
    const allowed = await api.file(event.id, event.attachments[0].id, { token: reader.token });
    expect(allowed.status).toBe(200);
  });
});

describe('read tokens are bound to the access that read the event', () => {
  it("a shared access's read token works until accesses.delete, then 401; the personal one keeps working", async () => {
    const { api } = await newClient();
    await mkStream(api, 'shared-stuff');
    const data = binary(1234);
    const event = await mkEventWithFiles(api, ['shared-stuff'], [{ name: 'doc.bin', data }]);
    const created = await api.post('/accesses', { name: 'for my doctor', permissions: [{ streamId: 'shared-stuff', level: 'read' }] });
    expect(created.status).toBe(201);
    const shared = created.body.access;
    const seen = await as(api.username, shared.token).get(`/events/${event.id}`);
    expect(seen.status).toBe(200);
    const sharedReadToken = seen.body.event.attachments[0].readToken as string;
    const personalReadToken = event.attachments[0].readToken as string;
    expect(sharedReadToken.startsWith(`${shared.id}-`)).toBe(true);
    expect(sharedReadToken).not.toBe(personalReadToken);
    const path = (t: string) => `/${api.username}/events/${event.id}/${event.attachments[0].id}?readToken=${encodeURIComponent(t)}`;
    const before = await download(path(sharedReadToken));
    expect(before.status).toBe(200);
    expect(before.data.equals(data)).toBe(true);

    expect((await api.del(`/accesses/${shared.id}`)).status).toBe(200);
    const after = await download(path(sharedReadToken));
    expect(after.status).toBe(401);
    expect(after.error).toMatchObject({ id: 'invalid-access-token', message: 'Invalid read token.' });
    const personal = await download(path(personalReadToken));
    expect(personal.status).toBe(200);
    expect(personal.data.equals(data)).toBe(true);
  });
});

describe('a read-only shared access', () => {
  it('downloads, but cannot delete (403) nor add files (403); nothing changes in S3', async () => {
    const { api } = await newClient();
    await mkStream(api, 'ro');
    const data = binary(777);
    const event = await mkEventWithFiles(api, ['ro'], [{ name: 'keep.bin', data }]);
    const created = await api.post('/accesses', { name: sid('ro'), type: 'shared', permissions: [{ streamId: 'ro', level: 'read' }] });
    expect(created.status).toBe(201);
    const reader = as(api.username, created.body.access.token);
    const before = await bucketObjects(api.username);

    const got = await reader.file(event.id, event.attachments[0].id);
    expect(got.status).toBe(200);
    expect(got.data.equals(data)).toBe(true);
    const own = (await reader.get(`/events/${event.id}`)).body.event.attachments[0].readToken;
    expect(
      (await reader.file(event.id, event.attachments[0].id, { token: null, suffix: `?readToken=${encodeURIComponent(own)}` })).status,
    ).toBe(200);

    expectError(await reader.del(`/events/${event.id}/${event.attachments[0].id}`), 403, 'forbidden');
    const form = new FormData();
    form.append('file', blob(binary(64)), 'intruder.bin');
    expectError(await reader.form(`/events/${event.id}`, form), 403, 'forbidden');
    expectError(
      await reader.post(`/events/${event.id}/attachment-uploads`, { fileName: 'big.bin', type: 'application/octet-stream', size: 10 }),
      403,
      'forbidden',
    );
    const createForm = new FormData();
    createForm.append('event', JSON.stringify({ streamIds: ['ro'], type: 'file/attached' }));
    createForm.append('file', blob(binary(64)), 'new.bin');
    expectError(await reader.form('/events', createForm), 403, 'forbidden');

    expect(await bucketObjects(api.username)).toEqual(before);
    expect((await api.get(`/events/${event.id}`)).body.event.attachments).toEqual(event.attachments);
    expect((await api.file(event.id, event.attachments[0].id)).data.equals(data)).toBe(true);
  });

  it('a contribute access may add and delete attachments', async () => {
    const { api } = await newClient();
    await mkStream(api, 'co');
    const event = await mkEvent(api, ['co']);
    const created = await api.post('/accesses', { name: sid('co'), permissions: [{ streamId: 'co', level: 'contribute' }] });
    const contributor = as(api.username, created.body.access.token);
    const form = new FormData();
    form.append('file', blob(binary(64), 'image/png'), 'added.png');
    const added = await contributor.form(`/events/${event.id}`, form);
    expect(added.status).toBe(200);
    const fileId = added.body.event.attachments[0].id;
    const removed = await contributor.del(`/events/${event.id}/${fileId}`);
    expect(removed.status).toBe(200);
    expect(removed.body.event.attachments).toBeUndefined();
    expect((await bucketObjects(api.username)).files).toEqual([]);
  });
});

describe('events.deleteAttachment (spec §2.2.6)', () => {
  it('removes the attachment and its S3 object, keeps the others; then 404 for that file', async () => {
    const { api } = await newClient();
    await mkStream(api, 'd');
    const keep = binary(100);
    const event = await mkEventWithFiles(
      api,
      ['d'],
      [
        { name: 'keep.bin', data: keep },
        { name: 'drop.bin', data: binary(200) },
      ],
    );
    const [kept, dropped] = event.attachments;
    const res = await api.del(`/events/${event.id}/${dropped.id}`);
    expect(res.status).toBe(200);
    expect(res.body.event.attachments).toEqual([kept]);
    expect((await api.get(`/events/${event.id}`)).body.event.attachments).toEqual([kept]);
    expect(await listKeys(`files/${api.username}/${event.id}/`)).toEqual([`files/${api.username}/${event.id}/${kept.id}`]);
    const gone = await api.file(event.id, dropped.id);
    expect(gone.status).toBe(404);
    expect(gone.error?.id).toBe('unknown-resource');
    const goneByToken = await api.file(event.id, dropped.id, {
      token: null,
      suffix: `?readToken=${encodeURIComponent(dropped.readToken)}`,
    });
    expect(goneByToken.status).toBe(404);
    expect((await api.file(event.id, kept.id)).data.equals(keep)).toBe(true);
    expectError(await api.del(`/events/${event.id}/${dropped.id}`), 404, 'unknown-resource');
    expectError(await api.del(`/events/${event.id}/${cuid()}`), 404, 'unknown-resource');
    expectError(await api.del(`/events/${cuid()}/${kept.id}`), 404, 'unknown-resource');
    // The last one: the event has no attachments any more.
    const last = await api.del(`/events/${event.id}/${kept.id}`);
    expect(last.status).toBe(200);
    expect(last.body.event.attachments).toBeUndefined();
    expect(await listKeys(`files/${api.username}/${event.id}/`)).toEqual([]);
  });
});

describe('deleting events and streams removes their files from S3', () => {
  let api: Client;
  beforeAll(async () => {
    ({ api } = await newClient());
  });

  it('trashing keeps the files; deleting the event for good leaves zero objects under its prefix', async () => {
    await mkStream(api, 'ev');
    const data = binary(5000);
    const event = await mkEventWithFiles(
      api,
      ['ev'],
      [
        { name: 'a.bin', data },
        { name: 'b.bin', data: binary(10) },
      ],
    );
    const prefix = `files/${api.username}/${event.id}/`;
    expect(await listKeys(prefix)).toHaveLength(2);
    const trashed = await api.del(`/events/${event.id}`);
    expect(trashed.status).toBe(200);
    expect(trashed.body.event.trashed).toBe(true);
    expect(await listKeys(prefix)).toHaveLength(2);
    expect((await api.file(event.id, event.attachments[0].id)).data.equals(data)).toBe(true);

    const deleted = await api.del(`/events/${event.id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body.eventDeletion).toEqual({ id: event.id });
    expect(await listKeys(prefix)).toEqual([]);
    expect((await api.file(event.id, event.attachments[0].id)).status).toBe(404);
  });

  it('streams.delete with mergeEventsWithParent=false: deleted events lose their files, events kept elsewhere keep theirs', async () => {
    await mkStream(api, 'doomed');
    await mkStream(api, 'doomed-child', 'doomed');
    await mkStream(api, 'survivor');
    const only = await mkEventWithFiles(api, ['doomed'], [{ name: 'x.bin', data: binary(100) }]);
    const inChild = await mkEventWithFiles(api, ['doomed-child'], [{ name: 'y.bin', data: binary(100) }]);
    const keptData = binary(100);
    const both = await mkEventWithFiles(api, ['doomed', 'survivor'], [{ name: 'z.bin', data: keptData }]);
    expect((await api.del('/streams/doomed')).status).toBe(200);
    const res = await api.del('/streams/doomed?mergeEventsWithParent=false');
    expect(res.status).toBe(200);
    expect(res.body.updatedEvents).toEqual(
      expect.arrayContaining([
        { id: only.id, action: 'deleted' },
        { id: inChild.id, action: 'deleted' },
        { id: both.id, action: 'updatedStreamIds' },
      ]),
    );
    expect(await listKeys(`files/${api.username}/${only.id}/`)).toEqual([]);
    expect(await listKeys(`files/${api.username}/${inChild.id}/`)).toEqual([]);
    expect(await listKeys(`files/${api.username}/${both.id}/`)).toHaveLength(1);
    expect((await api.file(both.id, both.attachments[0].id)).data.equals(keptData)).toBe(true);
  });

  it('streams.delete with mergeEventsWithParent=true keeps the files of the merged events', async () => {
    await mkStream(api, 'parent');
    await mkStream(api, 'merged', 'parent');
    const data = binary(100);
    const event = await mkEventWithFiles(api, ['merged'], [{ name: 'm.bin', data }]);
    expect((await api.del('/streams/merged')).status).toBe(200);
    expect((await api.del('/streams/merged?mergeEventsWithParent=true')).status).toBe(200);
    expect((await api.get(`/events/${event.id}`)).body.event.streamIds).toEqual(['parent']);
    expect((await api.file(event.id, event.attachments[0].id)).data.equals(data)).toBe(true);
  });
});

describe("bad input: the spec's 4xx, no half-written event, no orphan S3 object", () => {
  let api: Client;
  const stream = 'inbox';
  beforeAll(async () => {
    ({ api } = await newClient());
    await mkStream(api, stream);
  });

  /** Sends a bad upload and checks that neither the bucket nor the event list changed. */
  async function expectNothingWritten(send: () => Promise<ApiResponse>, status: number, id: string): Promise<void> {
    const objects = await bucketObjects(api.username);
    const events = (await api.get('/events?state=all&limit=1000')).body.events;
    const res = await send();
    expectError(res, status, id);
    expect(await bucketObjects(api.username)).toEqual(objects);
    expect((await api.get('/events?state=all&limit=1000')).body.events).toEqual(events);
  }

  const event = (extra: Record<string, unknown> = {}) => JSON.stringify({ streamIds: [stream], type: 'file/attached', ...extra });
  const fileParts = () => {
    const form = new FormData();
    form.append('f1', blob(binary(2048), 'image/png'), 'one.png');
    form.append('f2', blob(binary(4096), 'image/png'), 'two.png');
    return form;
  };

  it('missing event part (files only) → 400 invalid-request-structure', async () => {
    await expectNothingWritten(() => api.form('/events', fileParts()), 400, 'invalid-request-structure');
  });

  it('event JSON sent as a file part (so no non-file part) → 400 invalid-request-structure', async () => {
    const form = fileParts();
    form.append('event', blob(Buffer.from(event()), 'application/json'), 'event.json');
    await expectNothingWritten(() => api.form('/events', form), 400, 'invalid-request-structure');
  });

  it('malformed event JSON, before or after the files → 400 invalid-request-structure', async () => {
    const after = fileParts();
    after.append('event', '{"streamIds": ["inbox"], "type": ');
    await expectNothingWritten(() => api.form('/events', after), 400, 'invalid-request-structure');
    const first = new FormData();
    first.append('event', 'not json at all');
    first.append('file', blob(binary(10)), 'x.bin');
    await expectNothingWritten(() => api.form('/events', first), 400, 'invalid-request-structure');
  });

  it('two non-file parts → 400 invalid-request-structure', async () => {
    const form = fileParts();
    form.append('event', event());
    form.append('extra', event());
    await expectNothingWritten(() => api.form('/events', form), 400, 'invalid-request-structure');
  });

  it('an event that fails validation, references an unknown stream or sends attachments → 400, nothing stored', async () => {
    const noType = fileParts();
    noType.append('event', JSON.stringify({ streamIds: [stream] }));
    await expectNothingWritten(() => api.form('/events', noType), 400, 'invalid-parameters-format');
    const unknownStream = fileParts();
    unknownStream.append('event', event({ streamIds: ['nowhere'] }));
    await expectNothingWritten(() => api.form('/events', unknownStream), 400, 'unknown-referenced-resource');
    const withAttachments = fileParts();
    withAttachments.append('event', event({ attachments: [{ id: 'x', fileName: 'y', type: 'a/b', size: 1 }] }));
    await expectNothingWritten(() => api.form('/events', withAttachments), 400, 'invalid-parameters-format');
    const badContent = fileParts();
    badContent.append('event', event({ type: 'mass/kg', content: 'heavy' }));
    await expectNothingWritten(() => api.form('/events', badContent), 400, 'invalid-parameters-format');
    const notAnObject = fileParts();
    notAnObject.append('event', '[1, 2]');
    const res = await api.form('/events', notAnObject);
    expect(res.status).toBe(400);
    expect(await listKeys(`files/${api.username}/`)).toEqual([]);
  });

  it('a file part with no name (FormData or hand-made, empty or absent filename) → 400 invalid-request-structure', async () => {
    const emptyName = new FormData();
    emptyName.append('event', event());
    emptyName.append('good', blob(binary(100)), 'good.bin');
    emptyName.append('file', new File([new Uint8Array(binary(100))], '', { type: 'image/png' }));
    await expectNothingWritten(() => api.form('/events', emptyName), 400, 'invalid-request-structure');
    for (const disposition of ['form-data; name="file"; filename=""', 'form-data; name="file"']) {
      const { body, contentType } = rawMultipart([
        { headers: ['Content-Disposition: form-data; name="event"'], body: event() },
        {
          headers: ['Content-Disposition: form-data; name="ok"; filename="ok.bin"', 'Content-Type: application/octet-stream'],
          body: binary(50),
        },
        { headers: [`Content-Disposition: ${disposition}`, 'Content-Type: application/octet-stream'], body: binary(50) },
      ]);
      await expectNothingWritten(() => api.raw('/events', body, contentType), 400, 'invalid-request-structure');
    }
  });

  it('a malformed multipart body (no boundary, truncated) → 400 invalid-request-structure', async () => {
    const { body, contentType } = rawMultipart([
      { headers: ['Content-Disposition: form-data; name="event"'], body: event() },
      { headers: ['Content-Disposition: form-data; name="file"; filename="f.bin"'], body: binary(1000) },
    ]);
    await expectNothingWritten(() => api.raw('/events', body, 'multipart/form-data'), 400, 'invalid-request-structure');
    await expectNothingWritten(
      () => api.raw('/events', body.subarray(0, body.length - 600), contentType),
      400,
      'invalid-request-structure',
    );
  });

  it('an event id already taken → 409 item-already-exists; the files sent are removed, the existing event keeps its own', async () => {
    const existing = await mkEventWithFiles(api, [stream], [{ name: 'original.bin', data: binary(10) }]);
    const form = fileParts();
    form.append('event', event({ id: existing.id }));
    await expectNothingWritten(() => api.form('/events', form), 409, 'item-already-exists');
    expect(await listKeys(`files/${api.username}/${existing.id}/`)).toEqual([
      `files/${api.username}/${existing.id}/${existing.attachments[0].id}`,
    ]);
    expect((await api.get(`/events/${existing.id}`)).body.event.attachments).toEqual(existing.attachments);
  });

  it('no token, or a token without create right → 401 / 403, nothing stored', async () => {
    const noToken = fileParts();
    noToken.append('event', event());
    await expectNothingWritten(() => postForm(`/${api.username}/events`, noToken), 401, 'invalid-access-token');
    const reader = (await api.post('/accesses', { name: sid('r'), permissions: [{ streamId: stream, level: 'read' }] })).body.access;
    const denied = fileParts();
    denied.append('event', event());
    await expectNothingWritten(() => postForm(`/${api.username}/events`, denied, reader.token), 403, 'forbidden');
  });

  it('a body over the Lambda payload cap is refused by the gateway (413) before any code runs', async () => {
    const objects = await bucketObjects(api.username);
    const form = new FormData();
    form.append('event', event());
    form.append('file', blob(randomBytes(7 * MB)), 'too-big-for-lambda.bin');
    const res = await api.form('/events', form);
    expect(res.status).toBe(413);
    expect(await bucketObjects(api.username)).toEqual(objects);
  });
});

describe('large files: presigned S3 transfers above the direct limit', () => {
  let api: Client;
  let user: TestUser;
  const stream = 'big';
  beforeAll(async () => {
    ({ user, api } = await newClient());
    await mkStream(api, stream);
  });

  it('create the slot, PUT to S3, confirm; the download redirects to a presigned URL; bytes round-trip', async () => {
    const event = await mkEvent(api, [stream], { type: 'file/attached', content: null });
    const data = binary(DIRECT_TRANSFER_MAX_BYTES + MB + 123);
    const slot = await api.post(`/events/${event.id}/attachment-uploads`, {
      fileName: 'big video.mp4',
      type: 'video/mp4',
      size: data.length,
    });
    expect(slot.status).toBe(201);
    const upload = slot.body.upload;
    expect(upload).toMatchObject({
      fileId: expect.any(String),
      url: expect.stringContaining(`pending/${user.username}/${event.id}/${upload.fileId}`),
      method: 'PUT',
      headers: { 'Content-Type': 'video/mp4', 'Content-Length': String(data.length) },
      confirm: `${apiUrl()}/${user.username}/events/${event.id}/attachment-uploads/${upload.fileId}`,
    });
    const put = await fetch(upload.url, { method: upload.method, headers: upload.headers, body: new Uint8Array(data) });
    expect(put.status).toBe(200);
    // The pending file, and what its slot was given for (checked at confirm).
    expect((await listKeys(`pending/${user.username}/`)).sort()).toEqual(
      [`pending/${user.username}/${event.id}/${upload.fileId}`, `pending/${user.username}/${event.id}/${upload.fileId}.slot`].sort(),
    );

    const confirmRes = await call('POST', new URL(upload.confirm).pathname, { token: user.token, body: { fileName: 'big video.mp4' } });
    expect(confirmRes.status).toBe(200);
    const [att] = confirmRes.body.event.attachments;
    expect(att).toEqual({
      id: upload.fileId,
      fileName: 'big video.mp4',
      type: 'video/mp4',
      size: data.length,
      integrity: `sha256-${createHash('sha256').update(data).digest('base64')}`,
      readToken: expect.any(String),
    });
    expect(await listKeys(`pending/${user.username}/`)).toEqual([]);
    expect(await listKeys(`files/${user.username}/${event.id}/`)).toEqual([`files/${user.username}/${event.id}/${att.id}`]);
    // Confirming twice does not attach it twice.
    expectError(
      await call('POST', new URL(upload.confirm).pathname, { token: user.token, body: { fileName: 'again.mp4' } }),
      404,
      'unknown-resource',
    );

    // Download: 302 to a short-lived presigned S3 URL, with the token or the read token.
    for (const res of [
      await api.file(event.id, att.id),
      await api.file(event.id, att.id, { token: null, suffix: `?readToken=${encodeURIComponent(att.readToken)}` }),
    ]) {
      expect(res.status).toBe(302);
      const location = res.headers.get('location')!;
      expect(location.startsWith(inject('s3Endpoint'))).toBe(true);
      const url = new URL(location);
      expect(url.searchParams.get('X-Amz-Expires')).toBe('300');
      expect(url.searchParams.get('response-content-disposition')).toBe("attachment; filename*=UTF-8''big%20video.mp4");
      const fromS3 = await fetch(location);
      expect(fromS3.status).toBe(200);
      expect(fromS3.headers.get('content-type')).toBe('video/mp4');
      expect(Buffer.from(await fromS3.arrayBuffer()).equals(data)).toBe(true);
    }
    // Ranges of a large file are served directly.
    const part = await api.file(event.id, att.id, { range: `bytes=${DIRECT_TRANSFER_MAX_BYTES}-${DIRECT_TRANSFER_MAX_BYTES + 99}` });
    expect(part.status).toBe(206);
    expect(part.data.equals(data.subarray(DIRECT_TRANSFER_MAX_BYTES, DIRECT_TRANSFER_MAX_BYTES + 100))).toBe(true);
    const tooMuch = await api.file(event.id, att.id, { range: 'bytes=0-' });
    expect(tooMuch.status).toBe(416);

    // Deleting the event for good removes the large file too.
    await api.del(`/events/${event.id}`);
    await api.del(`/events/${event.id}`);
    expect(await listKeys(`files/${user.username}/${event.id}/`)).toEqual([]);
  });

  it('an object that differs from its slot (size or type, as the S3 emulator lets through) → 400 at confirm, deleted, nothing attached', async () => {
    const event = await mkEvent(api, [stream]);
    const cases = [
      { what: 'bigger', body: binary(3000), type: 'image/png' },
      { what: 'smaller', body: binary(10), type: 'image/png' },
      { what: 'other type', body: binary(1000), type: 'image/jpeg' },
      { what: 'no type', body: binary(1000), type: undefined },
    ];
    for (const c of cases) {
      const slot = (await api.post(`/events/${event.id}/attachment-uploads`, { fileName: 'f.png', type: 'image/png', size: 1000 })).body
        .upload;
      // Straight to the pending key (what any S3 tool, or the emulator ignoring signed headers, allows).
      const key = `pending/${user.username}/${event.id}/${slot.fileId}`;
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: c.body, ...(c.type ? { ContentType: c.type } : {}) }));
      const res = await call('POST', `/${user.username}/events/${event.id}/attachment-uploads/${slot.fileId}`, {
        token: user.token,
        body: { fileName: 'f.png' },
      });
      expect({ what: c.what, status: res.status, id: res.body.error?.id }).toEqual({
        what: c.what,
        status: 400,
        id: 'invalid-parameters-format',
      });
      expect(res.body.error.message).toContain('does not match its upload slot');
      expect(await listKeys(`pending/${user.username}/${event.id}/`)).toEqual([]);
      // The slot is gone with it: confirming again finds nothing.
      expectError(
        await call('POST', `/${user.username}/events/${event.id}/attachment-uploads/${slot.fileId}`, {
          token: user.token,
          body: { fileName: 'f.png' },
        }),
        404,
        'unknown-resource',
      );
    }
    expect(await listKeys(`files/${user.username}/${event.id}/`)).toEqual([]);
    expect((await api.get(`/events/${event.id}`)).body.event.attachments).toBeUndefined();

    // The object the slot was given for is attached, with the integrity a direct upload gets.
    const slot = (await api.post(`/events/${event.id}/attachment-uploads`, { fileName: 'f.png', type: 'image/png', size: 1000 })).body
      .upload;
    const data = binary(1000);
    const put = await fetch(slot.url, { method: 'PUT', headers: slot.headers, body: new Uint8Array(data) });
    expect(put.status).toBe(200);
    const res = await call('POST', `/${user.username}/events/${event.id}/attachment-uploads/${slot.fileId}`, {
      token: user.token,
      body: { fileName: 'f.png' },
    });
    expect(res.status).toBe(200);
    expect(res.body.event.attachments[0]).toMatchObject({
      fileName: 'f.png',
      type: 'image/png',
      size: 1000,
      integrity: `sha256-${createHash('sha256').update(data).digest('base64')}`,
    });
  });

  it('a multipart upload between the direct limit and the Lambda cap is stored, and downloaded through a redirect', async () => {
    const data = binary(DIRECT_TRANSFER_MAX_BYTES + 100_000);
    const event = await mkEventWithFiles(api, [stream], [{ name: 'medium.bin', data }]);
    expect(event.attachments[0].size).toBe(data.length);
    const res = await api.file(event.id, event.attachments[0].id);
    expect(res.status).toBe(302);
    const fromS3 = await fetch(res.headers.get('location')!);
    expect(Buffer.from(await fromS3.arrayBuffer()).equals(data)).toBe(true);
  });

  it('the default limit is 50 MB: a slot over it → 413 invalid-request-structure; at it → 201', async () => {
    const event = await mkEvent(api, [stream]);
    const over = await api.post(`/events/${event.id}/attachment-uploads`, {
      fileName: 'huge.bin',
      type: 'application/octet-stream',
      size: UPLOAD_MAX_BYTES + 1,
    });
    expectError(over, 413, 'invalid-request-structure');
    const at = await api.post(`/events/${event.id}/attachment-uploads`, {
      fileName: 'max.bin',
      type: 'application/octet-stream',
      size: UPLOAD_MAX_BYTES,
    });
    expect(at.status).toBe(201);
  });

  it('bad slots and confirmations: 400 / 404, nothing attached', async () => {
    const event = await mkEvent(api, [stream]);
    const path = `/events/${event.id}/attachment-uploads`;
    expectError(await api.post(path, { fileName: 'x', type: 'not a type', size: 1 }), 400, 'invalid-parameters-format');
    expectError(await api.post(path, { fileName: 'x', type: 'a/b' }), 400, 'invalid-parameters-format');
    expectError(await api.post(path, { fileName: '', type: 'a/b', size: 1 }), 400, 'invalid-parameters-format');
    expectError(await api.post(`/events/${cuid()}/attachment-uploads`, { fileName: 'x', type: 'a/b', size: 1 }), 404, 'unknown-resource');
    // Confirming a slot whose file never arrived, or an unknown file id.
    const slot = (await api.post(path, { fileName: 'x.bin', type: 'a/b', size: 1 })).body.upload;
    expectError(await api.post(`${path}/${slot.fileId}`, { fileName: 'x.bin' }), 404, 'unknown-resource');
    expectError(await api.post(`${path}/${cuid()}`, { fileName: 'x.bin' }), 404, 'unknown-resource');
    expectError(await api.post(`${path}/${slot.fileId}`, {}), 400, 'invalid-parameters-format');
    expect((await api.get(`/events/${event.id}`)).body.event.attachments).toBeUndefined();
  });
});

describe('the size limit is a setting (UPLOAD_MAX_BYTES)', () => {
  // A second gateway with the same handlers, DynamoDB and bucket, configured with a small
  // limit: what a deployment with `UPLOAD_MAX_BYTES` set sees.
  const LIMIT = 64 * 1024;
  let gateway: LocalGateway;
  let api: Client;
  beforeAll(async () => {
    ({ api } = await newClient());
    await mkStream(api, 'limited');
    process.env.UPLOAD_MAX_BYTES = String(LIMIT);
    process.env.FILES_READ_TOKEN_SECRET ??= randomBytes(16).toString('hex');
    resetConfig();
    gateway = await startGateway({ port: 0 });
  });
  afterAll(async () => {
    await gateway?.stop();
    delete process.env.UPLOAD_MAX_BYTES;
    resetConfig();
  });

  it('a multipart file over the limit → 413 invalid-request-structure, nothing written; at the limit → 201', async () => {
    const before = await bucketObjects(api.username);
    for (const order of ['event-first', 'event-last']) {
      const form = new FormData();
      if (order === 'event-first') form.append('event', JSON.stringify({ streamIds: ['limited'], type: 'file/attached' }));
      form.append('small', blob(binary(100)), 'small.bin');
      form.append('big', blob(binary(LIMIT + 1)), 'big.bin');
      if (order === 'event-last') form.append('event', JSON.stringify({ streamIds: ['limited'], type: 'file/attached' }));
      const res = await postForm(`/${api.username}/events`, form, api.token, gateway.url);
      expect({ order, status: res.status, id: res.body?.error?.id }).toEqual({ order, status: 413, id: 'invalid-request-structure' });
    }
    const event = await mkEvent(api, ['limited']);
    const add = new FormData();
    add.append('big', blob(binary(LIMIT + 1)), 'big.bin');
    expectError(await postForm(`/${api.username}/events/${event.id}`, add, api.token, gateway.url), 413, 'invalid-request-structure');
    expect(await bucketObjects(api.username)).toEqual(before);

    const atLimit = new FormData();
    atLimit.append('event', JSON.stringify({ streamIds: ['limited'], type: 'file/attached' }));
    atLimit.append('file', blob(binary(LIMIT)), 'exactly.bin');
    const ok = await postForm(`/${api.username}/events`, atLimit, api.token, gateway.url);
    expect(ok.status).toBe(201);
    expect(ok.body.event.attachments[0].size).toBe(LIMIT);
  });

  it('presigned flow: a slot over the limit → 413; a confirmed upload over it → 413 and the pending object is removed', async () => {
    const event = await mkEvent(api, ['limited']);
    const slots = (body: unknown) =>
      fetch(`${gateway.url}/${api.username}/events/${event.id}/attachment-uploads`, {
        method: 'POST',
        headers: { authorization: api.token, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const over = await slots({ fileName: 'big.bin', type: 'application/octet-stream', size: LIMIT + 1 });
    expect(over.status).toBe(413);
    expect(((await parseBody(over)) as any).error.id).toBe('invalid-request-structure');
    // A client that announces a small file and sends a bigger one.
    const slot = ((await parseBody(await slots({ fileName: 'liar.bin', type: 'application/octet-stream', size: 10 }))) as any).upload;
    const pending = `pending/${api.username}/${event.id}/${slot.fileId}`;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: pending, Body: binary(LIMIT + 1), ContentType: 'application/octet-stream' }));
    const confirm = await fetch(`${gateway.url}/${api.username}/events/${event.id}/attachment-uploads/${slot.fileId}`, {
      method: 'POST',
      headers: { authorization: api.token, 'content-type': 'application/json' },
      body: JSON.stringify({ fileName: 'liar.bin' }),
    });
    expect(confirm.status).toBe(413);
    expect(await listKeys(`pending/${api.username}/`)).toEqual([]);
    expect(await listKeys(`files/${api.username}/${event.id}/`)).toEqual([]);
    expect((await api.get(`/events/${event.id}`)).body.event.attachments).toBeUndefined();
  });
});

describe('the official pryv client (npm `pryv` v3)', () => {
  let user: TestUser;
  let api: Client;
  let connection: InstanceType<typeof pryv.Connection>;
  beforeAll(async () => {
    ({ user, api } = await newClient());
    await mkStream(api, 'from-lib');
    const url = new URL(apiUrl());
    connection = new pryv.Connection(`${url.protocol}//${user.token}@${url.host}/${user.username}/`);
  });

  it('createEventWithFile(event, filePath): event part first, type from the extension', async () => {
    const data = binary(20_000);
    const path = join(workDir, 'lib-photo.png');
    writeFileSync(path, data);
    const result: any = await connection.createEventWithFile({ streamIds: ['from-lib'], type: 'picture/attached' }, path);
    expect(result.error).toBeUndefined();
    const event = result.event;
    expect(event.attachments).toEqual([
      expect.objectContaining({ fileName: 'lib-photo.png', type: 'image/png', size: data.length, readToken: expect.any(String) }),
    ]);
    const got = await api.file(event.id, event.attachments[0].id);
    expect(got.data.equals(data)).toBe(true);
  });

  it('createEventWithFormData(event, formData): the library appends the event part after the files', async () => {
    const one = binary(1000);
    const two = Buffer.from('{"json": "file"}');
    const form = new FormData();
    form.append('file', blob(one, 'application/pdf'), 'report.pdf');
    form.append('file', blob(two, 'application/json'), 'data.json');
    const result: any = await connection.createEventWithFormData({ streamIds: ['from-lib'], type: 'file/attached-multiple' }, form);
    expect(result.error).toBeUndefined();
    const event = result.event;
    expect(event.attachments.map((a: { fileName: string; type: string }) => [a.fileName, a.type])).toEqual([
      ['report.pdf', 'application/pdf'],
      ['data.json', 'application/json'],
    ]);
    expect((await api.file(event.id, event.attachments[0].id)).data.equals(one)).toBe(true);
    expect((await api.file(event.id, event.attachments[1].id)).data.equals(two)).toBe(true);
  });

  it('createEventWithFileFromBuffer(event, buffer, fileName)', async () => {
    const data = binary(3000);
    const result: any = await connection.createEventWithFileFromBuffer(
      { streamIds: ['from-lib'], type: 'file/attached' },
      data,
      'buffer.txt',
    );
    expect(result.event.attachments[0]).toMatchObject({ fileName: 'buffer.txt', type: 'text/plain', size: data.length });
    expect((await api.file(result.event.id, result.event.attachments[0].id)).data.equals(data)).toBe(true);
  });
});

describe('curl, as in the README', () => {
  let user: TestUser;
  let api: Client;
  beforeAll(async () => {
    ({ user, api } = await newClient());
    await mkStream(api, 'health');
  });

  const curl = async (args: string[]) =>
    (await run('curl', ['-s', '--fail-with-body', ...args], { encoding: 'utf8', maxBuffer: 20 * MB })).stdout;

  it('curl -F upload, download with the readToken, presigned upload flow', async () => {
    const API = apiUrl();
    const photo = join(workDir, 'photo.jpg');
    const photoData = binary(50_000);
    writeFileSync(photo, photoData);
    // curl -s -X POST $API/alice-demo/events -H "Authorization: $TOKEN" \
    //   -F 'event={"streamIds":["health"],"type":"picture/attached"}' -F 'file=@photo.jpg'
    const created = JSON.parse(
      await curl([
        '-X',
        'POST',
        `${API}/${user.username}/events`,
        '-H',
        `Authorization: ${user.token}`,
        '-F',
        'event={"streamIds":["health"],"type":"picture/attached"}',
        '-F',
        `file=@${photo}`,
      ]),
    );
    const event = created.event;
    const [att] = event.attachments;
    expect(att).toMatchObject({ fileName: 'photo.jpg', type: 'image/jpeg', size: photoData.length });

    // curl -s -L -o photo.jpg "$API/alice-demo/events/$EVENT/$FILE/photo.jpg?readToken=$READ_TOKEN"
    const copy = join(workDir, 'photo-copy.jpg');
    await curl([
      '-L',
      '-o',
      copy,
      `${API}/${user.username}/events/${event.id}/${att.id}/photo.jpg?readToken=${encodeURIComponent(att.readToken)}`,
    ]);
    expect(readFileSync(copy).equals(photoData)).toBe(true);
    // curl -s -o photo.jpg $API/alice-demo/events/$EVENT/$FILE -H "Authorization: $TOKEN"
    await curl(['-o', copy, '-H', `Authorization: ${user.token}`, `${API}/${user.username}/events/${event.id}/${att.id}`]);
    expect(readFileSync(copy).equals(photoData)).toBe(true);

    // Presigned: slot, PUT to S3, confirm.
    const scan = join(workDir, 'scan.tiff');
    const scanData = binary(DIRECT_TRANSFER_MAX_BYTES + 1000);
    writeFileSync(scan, scanData);
    const slot = JSON.parse(
      await curl([
        '-X',
        'POST',
        `${API}/${user.username}/events/${event.id}/attachment-uploads`,
        '-H',
        `Authorization: ${user.token}`,
        '-H',
        'Content-Type: application/json',
        '-d',
        JSON.stringify({ fileName: 'scan.tiff', type: 'image/tiff', size: scanData.length }),
      ]),
    ).upload;
    await curl(['-X', 'PUT', '-H', 'Content-Type: image/tiff', '--upload-file', scan, slot.url]);
    const confirmed = JSON.parse(
      await curl([
        '-X',
        'POST',
        slot.confirm,
        '-H',
        `Authorization: ${user.token}`,
        '-H',
        'Content-Type: application/json',
        '-d',
        '{"fileName":"scan.tiff"}',
      ]),
    );
    const big = confirmed.event.attachments[1];
    expect(big).toMatchObject({ fileName: 'scan.tiff', type: 'image/tiff', size: scanData.length });
    expect(await listKeys(`pending/${user.username}/`)).toEqual([]);
    // curl -L follows the redirect to S3.
    const bigCopy = join(workDir, 'scan-copy.tiff');
    await curl([
      '-L',
      '-o',
      bigCopy,
      `${API}/${user.username}/events/${event.id}/${big.id}?readToken=${encodeURIComponent(big.readToken)}`,
    ]);
    expect(readFileSync(bigCopy).equals(scanData)).toBe(true);
  });
});
