import { beforeAll, describe, expect, it } from 'vitest';
import { adminKey, call, createUser, TEST_APP_ID, type TestUser, TRUSTED_ORIGIN } from '../setup/api';

/**
 * Input limits (README "Input limits", shared/limits.ts): values the store cannot hold get
 * Pryv's usual answers before any lookup or write, and nothing in the account changes.
 */
const MB = 'x'.repeat(1024 * 1024);
const long = (n: number, c = 'x') => c.repeat(n);
const deep = (levels: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
};
/** JSON text written by hand: JSON.stringify cannot write 1e309 or a 10,000-level value, nor an own `__proto__` key. */
const deepText = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

let u: TestUser;
let eventId: string;

/** What a user's account holds, as the API shows it (delivery and usage stats left out). */
async function accountState(user: TestUser): Promise<string> {
  const get = async (path: string) => (await call('GET', `/${user.username}${path}`, { token: user.token })).body;
  const strip = (x: any) => {
    const { meta: _m, ...rest } = x;
    return rest;
  };
  const accesses = (await get('/accesses?includeDeletions=true')).accesses.map(({ lastUsed: _l, calls: _c, expires: _e, ...a }: any) => a);
  return JSON.stringify({
    streams: strip(await get('/streams?state=all&includeDeletionsSince=0')),
    events: strip(await get('/events?state=all&includeDeletions=true&modifiedSince=0&limit=1000')),
    accesses,
    slices: strip(await get('/followed-slices')),
    profile: [strip(await get('/profile/private')), strip(await get('/profile/public'))],
    webhooks: (await get('/webhooks')).webhooks?.map((w: any) => w.id),
  });
}

async function unchanged(action: () => Promise<void>): Promise<void> {
  const before = await accountState(u);
  await action();
  expect(await accountState(u)).toBe(before);
}

function expectRefused(res: { status: number; body: any }, status: number, id: string): void {
  expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(status);
  expect(res.body.error?.id ?? res.body.id).toBe(id);
  expect(typeof (res.body.error?.message ?? res.body.message)).toBe('string');
}

beforeAll(async () => {
  u = await createUser();
  await call('POST', `/${u.username}/streams`, { token: u.token, body: { id: 'lim', name: 'Limits' } });
  const ev = await call('POST', `/${u.username}/events`, { token: u.token, body: { streamIds: ['lim'], type: 'note/txt', content: 'x' } });
  eventId = ev.body.event.id;
});

describe('input limits: identifiers and tokens that cannot exist', () => {
  it('an Authorization header over 2 KB (raw, Bearer, Basic) → 403 invalid-access-token, without a lookup', async () => {
    const t = long(2100, 'c');
    for (const header of [t, `Bearer ${t}`, `Basic ${Buffer.from(`${t}:`).toString('base64')}`]) {
      expectRefused(await call('GET', `/${u.username}/events`, { headers: { authorization: header } }), 403, 'invalid-access-token');
      expectRefused(await call('GET', `/${u.username}/access-info`, { headers: { authorization: header } }), 403, 'invalid-access-token');
    }
    // A token no lookup would find cannot be chosen either.
    expectRefused(
      await call('POST', `/${u.username}/accesses`, {
        token: u.token,
        body: { name: 'long-token', permissions: [{ streamId: '*', level: 'read' }], token: long(257, 't') },
      }),
      400,
      'invalid-parameters-format',
    );
    // The same long token on an unknown user is still the unknown user.
    expectRefused(await call('GET', `/nobody-${Date.now()}/events`, { token: t }), 404, 'unknown-resource');
  });

  it('a path username no account can have → 404 unknown-resource on token, login, admin and download routes', async () => {
    const name = long(5000);
    expectRefused(await call('GET', `/${name}/events`, { token: u.token }), 404, 'unknown-resource');
    expectRefused(
      await call('POST', `/${name}/auth/login`, {
        headers: { origin: TRUSTED_ORIGIN },
        body: { username: 'x', password: 'y', appId: TEST_APP_ID },
      }),
      404,
      'unknown-resource',
    );
    expectRefused(await call('DELETE', `/users/${name}`, { token: adminKey() }), 404, 'unknown-resource');
    expectRefused(await call('GET', `/system/user-info/${name}`, { token: adminKey() }), 404, 'unknown-resource');
    expectRefused(await call('GET', `/${name}/events/${eventId}/file1?readToken=abc`), 404, 'unknown-resource');
    // The message does not echo 5,000 characters back.
    const res = await call('GET', `/${name}/events`, { token: u.token });
    expect(res.body.error.message.length).toBeLessThan(200);
  });

  it('an email over 300 characters: /reg/{email}/username and /uid are unknown, check_email is a 400', async () => {
    const email = `${long(5000, 'e')}@example.com`;
    for (const path of ['username', 'uid']) {
      const res = await call('GET', `/reg/${email}/${path}`);
      expect(res.status).toBe(404);
      expect(res.body.id ?? res.body.error?.id).toBe('UNKNOWN_EMAIL');
    }
    expectRefused(await call('GET', `/reg/${email}/check_email`), 400, 'invalid-parameters-format');
  });

  it('an event id over 2 KB in the path → 404 on GET, PUT, DELETE and the attachment routes; nothing changes', async () => {
    const id = long(2100, 'i');
    await unchanged(async () => {
      expectRefused(await call('GET', `/${u.username}/events/${id}`, { token: u.token }), 404, 'unknown-resource');
      expectRefused(await call('PUT', `/${u.username}/events/${id}`, { token: u.token, body: { content: 'y' } }), 404, 'unknown-resource');
      expectRefused(await call('DELETE', `/${u.username}/events/${id}`, { token: u.token }), 404, 'unknown-resource');
      expectRefused(await call('GET', `/${u.username}/events/${eventId}/${id}`, { token: u.token }), 404, 'unknown-resource');
      expectRefused(await call('DELETE', `/${u.username}/events/${eventId}/${id}`, { token: u.token }), 404, 'unknown-resource');
      // An upload slot id longer than any S3 key (F12).
      expectRefused(
        await call('POST', `/${u.username}/events/${eventId}/attachment-uploads/${long(5000, 'y')}`, {
          token: u.token,
          body: { fileName: 'a' },
        }),
        404,
        'unknown-resource',
      );
    });
  });

  it('ids in params that make keys over DynamoDB sizes → 400, never a 500; nothing changes', async () => {
    await unchanged(async () => {
      // An unknown stream in a query is Pryv's unknown-referenced-resource, long or not.
      expectRefused(
        await call('GET', `/${u.username}/events?streams=${long(2100, 's')}`, { token: u.token }),
        400,
        'unknown-referenced-resource',
      );
      expectRefused(
        await call('GET', `/${u.username}/streams?parentId=${long(2100, 's')}`, { token: u.token }),
        400,
        'unknown-referenced-resource',
      );
      expectRefused(
        await call('POST', `/${u.username}/streams`, { token: u.token, body: { id: long(2100, 's'), name: 'long id' } }),
        400,
        'invalid-parameters-format',
      );
      expectRefused(
        await call('POST', `/${u.username}/streams`, { token: u.token, body: { name: long(1500, '\u00e9') } }),
        400,
        'invalid-parameters-format',
      );
    });
  });
});

describe('input limits: sizes, depth, numbers, property names', () => {
  it('a 1 MB string (stream name, event content, appId on a right login, followed slice id) → 400 naming the field; nothing stored', async () => {
    await unchanged(async () => {
      const stream = await call('POST', `/${u.username}/streams`, { token: u.token, body: { name: MB } });
      expectRefused(stream, 400, 'invalid-parameters-format');
      expect(stream.body.error.message).toContain('"name" is too large');
      expect(stream.body.error.data[0].path).toBe('#/name');
      const event = await call('POST', `/${u.username}/events`, {
        token: u.token,
        body: { streamIds: ['lim'], type: 'note/txt', content: MB },
      });
      expectRefused(event, 400, 'invalid-parameters-format');
      expect(event.body.error.message).toContain('"content" is too large');
      const login = await call('POST', `/${u.username}/auth/login`, {
        headers: { origin: TRUSTED_ORIGIN },
        body: { username: u.username, password: u.password, appId: MB },
      });
      expectRefused(login, 400, 'invalid-parameters-format');
      const slice = await call('POST', `/${u.username}/followed-slices`, {
        token: u.token,
        body: { id: MB, name: 'big', url: 'https://x.example.com/y/', accessToken: 't' },
      });
      expectRefused(slice, 400, 'invalid-parameters-format');
      const access = await call('POST', `/${u.username}/accesses`, {
        token: u.token,
        body: { name: 'big-default', permissions: [{ streamId: 'new-one', level: 'read', defaultName: MB }] },
      });
      expectRefused(access, 400, 'invalid-parameters-format');
    });
  });

  it('an event whose copies together exceed one transaction (4 MB) → 400 naming the field; a smaller one is stored', async () => {
    // A chain of 12 streams: an event in the deepest has 15 copies (head, own stream, 11 ancestors, all events, sync).
    let parentId = 'lim';
    for (let i = 0; i < 12; i++) {
      const id = `lim-chain-${i}`;
      await call('POST', `/${u.username}/streams`, { token: u.token, body: { id, name: id, parentId } });
      parentId = id;
    }
    const content = 'c'.repeat(340 * 1024);
    await unchanged(async () => {
      const res = await call('POST', `/${u.username}/events`, {
        token: u.token,
        body: { streamIds: [parentId], type: 'note/txt', content },
      });
      expectRefused(res, 400, 'invalid-parameters-format');
      expect(res.body.error.message).toContain('"content" is too large for an event in these streams');
    });
    const ok = await call('POST', `/${u.username}/events`, { token: u.token, body: { streamIds: ['lim'], type: 'note/txt', content } });
    expect(ok.status).toBe(201);
    await call('DELETE', `/${u.username}/events/${ok.body.event.id}`, { token: u.token });
    await call('DELETE', `/${u.username}/events/${ok.body.event.id}`, { token: u.token });
  });

  it('nesting over the limit (40 and 10,000 levels) in clientData or profile values → 400 naming the path; nothing stored', async () => {
    await unchanged(async () => {
      const create = await call('POST', `/${u.username}/events`, {
        token: u.token,
        body: { streamIds: ['lim'], type: 'note/txt', content: 'x', clientData: deep(40) },
      });
      expectRefused(create, 400, 'invalid-parameters-format');
      expect(create.body.error.message).toContain('/clientData/a');
      for (const text of [`{"name":"d","clientData":${deepText(40)}}`, `{"clientData":${deepText(10_000)}}`]) {
        const res = await call('PUT', `/${u.username}/streams/lim`, {
          token: u.token,
          rawBody: text,
          headers: { 'content-type': 'application/json' },
        });
        expectRefused(res, 400, 'invalid-parameters-format');
      }
      expectRefused(
        await call('PUT', `/${u.username}/profile/private`, {
          token: u.token,
          rawBody: `{"k":${deepText(10_000)}}`,
          headers: { 'content-type': 'application/json' },
        }),
        400,
        'invalid-parameters-format',
      );
    });
    // 20 levels are fine.
    const ok = await call('POST', `/${u.username}/events`, {
      token: u.token,
      body: { streamIds: ['lim'], type: 'note/txt', content: 'x', clientData: deep(20) },
    });
    expect(ok.status).toBe(201);
    await call('DELETE', `/${u.username}/events/${ok.body.event.id}`, { token: u.token });
    await call('DELETE', `/${u.username}/events/${ok.body.event.id}`, { token: u.token });
  });

  it('numbers DynamoDB cannot store (1e309, 1e126, 1e-131) → 400 invalid-parameters-format naming the field; nothing stored', async () => {
    const json = { 'content-type': 'application/json' };
    await unchanged(async () => {
      for (const n of ['1e309', '-1e309', '1e126', '1e-131']) {
        const event = await call('POST', `/${u.username}/events`, {
          token: u.token,
          headers: json,
          rawBody: `{"streamIds":["lim"],"type":"count/generic","content":${n}}`,
        });
        expectRefused(event, 400, 'invalid-parameters-format');
        expect(event.body.error.data[0].path).toBe('#/content');
        const profile = await call('PUT', `/${u.username}/profile/public`, { token: u.token, headers: json, rawBody: `{"k":${n}}` });
        expectRefused(profile, 400, 'invalid-parameters-format');
        expect(profile.body.error.data[0].path).toBe('#/update/k'); // profile params are {update}
      }
      const time = await call('POST', `/${u.username}/events`, {
        token: u.token,
        headers: json,
        rawBody: '{"streamIds":["lim"],"type":"note/txt","content":"t","time":1e200}',
      });
      expectRefused(time, 400, 'invalid-parameters-format');
    });
  });

  it('query time bounds out of range are clamped, not refused: the @pryv/monitor query and includeDeletionsSince=1e309 answer 200', async () => {
    const monitor = await call('GET', `/${u.username}/events?fromTime=-1.7976931348623157e308&toTime=1.7976931348623157e308`, {
      token: u.token,
    });
    expect(monitor.status).toBe(200);
    expect(monitor.body.events.map((e: any) => e.id)).toContain(eventId);
    const streams = await call('GET', `/${u.username}/streams?includeDeletionsSince=1e309`, { token: u.token });
    expect(streams.status).toBe(200);
    const since = await call('GET', `/${u.username}/events?modifiedSince=-1e309`, { token: u.token });
    expect(since.status).toBe(200);
    expect(since.body.events.map((e: any) => e.id)).toContain(eventId);
    // The monitor's query is audited with the bounds it ran with (storable numbers).
    const logs = (await call('GET', `/${u.username}/audit/logs?limit=1000`, { token: u.token })).body.auditLogs as any[];
    const audited = logs.find((l) => l.action === 'events.get' && l.query?.fromTime !== undefined && l.query.fromTime < -1e100);
    expect(audited?.query).toMatchObject({ fromTime: -9.99e125, toTime: 9.99e125 });
  });

  it('`__proto__`, `constructor`, `prototype` and empty property names → 400 naming them; nothing stored', async () => {
    const json = { 'content-type': 'application/json' };
    await unchanged(async () => {
      for (const clientData of ['{"__proto__":{"p":true}}', '{"constructor":{"prototype":{}}}', '{"a":{"prototype":1}}', '{"":1}']) {
        const event = await call('POST', `/${u.username}/events`, {
          token: u.token,
          headers: json,
          rawBody: `{"streamIds":["lim"],"type":"note/txt","content":"x","clientData":${clientData}}`,
        });
        expectRefused(event, 400, 'invalid-parameters-format');
        expect(event.body.error.data[0].code).toBe('RESERVED_KEY');
        expectRefused(
          await call('PUT', `/${u.username}/streams/lim`, { token: u.token, headers: json, rawBody: `{"clientData":${clientData}}` }),
          400,
          'invalid-parameters-format',
        );
      }
      expectRefused(await call('GET', `/${u.username}/events?__proto__[]=x`, { token: u.token }), 400, 'invalid-parameters-format');
    });
    // Other odd names are plain keys, stored and read back as they are.
    const odd = { hasOwnProperty: 1, toString: 'two', 'a.b': 3 };
    const res = await call('PUT', `/${u.username}/streams/lim`, { token: u.token, body: { clientData: odd } });
    expect(res.status).toBe(200);
    expect(res.body.stream.clientData).toEqual(odd);
  });

  it('inside callBatch the same limits answer the same 400 for that call only; the other calls run', async () => {
    const res = await call('POST', `/${u.username}/`, {
      token: u.token,
      body: [
        { method: 'events.create', params: { streamIds: ['lim'], type: 'note/txt', content: MB } },
        { method: 'events.create', params: { streamIds: ['lim'], type: 'note/txt', content: 'x', clientData: deep(40) } },
        { method: 'webhooks.getOne', params: { id: MB } },
        { method: 'events.create', params: { streamIds: ['lim'], type: 'note/txt', content: 'batch ok' } },
      ],
    });
    expect(res.status).toBe(200);
    const [big, deepOne, hook, ok] = res.body.results;
    expect(big.error.id).toBe('invalid-parameters-format');
    expect(big.error.message).toContain('"content" is too large');
    expect(deepOne.error.id).toBe('invalid-parameters-format');
    expect(hook.error.id).toBe('invalid-parameters-format');
    expect(ok.event.content).toBe('batch ok');
    await call('DELETE', `/${u.username}/events/${ok.event.id}`, { token: u.token });
    await call('DELETE', `/${u.username}/events/${ok.event.id}`, { token: u.token });
  });

  it('JSON sent as a form (curl -d) → 415 saying to send application/json; nothing stored', async () => {
    await unchanged(async () => {
      const form = { 'content-type': 'application/x-www-form-urlencoded' };
      const profile = await call('PUT', `/${u.username}/profile/private`, { token: u.token, headers: form, rawBody: '{"theme":"dark"}' });
      expectRefused(profile, 415, 'unsupported-content-type');
      expect(profile.body.error.message).toContain('Content-Type: application/json');
      expectRefused(
        await call('POST', `/${u.username}/streams`, { token: u.token, headers: form, rawBody: '{"name":"f"}' }),
        415,
        'unsupported-content-type',
      );
    });
    // A JSON body without any Content-Type is read as JSON.
    const res = await fetch(`${(await import('../setup/api')).apiUrl()}/${u.username}/streams`, {
      method: 'POST',
      headers: { authorization: u.token },
      body: Buffer.from(JSON.stringify({ id: 'no-ct', name: 'No content type' })),
    });
    expect(res.status).toBe(201);
  });
});

describe('messages that say what is wrong', () => {
  it('auth.login without Origin names the missing header; from an untrusted origin names the app id and the origin', async () => {
    const body = { username: u.username, password: u.password, appId: TEST_APP_ID };
    const none = await call('POST', `/${u.username}/auth/login`, { body });
    expectRefused(none, 401, 'invalid-credentials');
    expect(none.body.error.message).toContain('no Origin header');
    const evil = await call('POST', `/${u.username}/auth/login`, { body, headers: { origin: 'https://evil.example.com' } });
    expectRefused(evil, 401, 'invalid-credentials');
    expect(evil.body.error.message).toBe(`The app id "${TEST_APP_ID}" is not trusted from the origin "https://evil.example.com".`);
  });

  it('an upload slot over the attachment limit names `size` and the limit', async () => {
    const res = await call('POST', `/${u.username}/events/${eventId}/attachment-uploads`, {
      token: u.token,
      body: { fileName: 'huge.bin', type: 'application/octet-stream', size: 10 ** 12 },
    });
    expectRefused(res, 413, 'invalid-request-structure');
    expect(res.body.error.message).toMatch(/`size` 1000000000000 bytes\) exceeds the largest attachment allowed, \d+ bytes/);
    expect(res.body.error.data).toMatchObject({ param: 'size', limit: expect.any(Number) });
  });
});
