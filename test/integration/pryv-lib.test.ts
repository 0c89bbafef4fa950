import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret, TOTP } from 'otpauth';
import { beforeAll, describe, expect, it } from 'vitest';
import { placementFor } from '../../shared/domain/events/write-checks';
import { StreamTree } from '../../shared/domain/streams/tree';
import { newId } from '../../shared/ids';
import type { StoredEvent } from '../../shared/model/events';
import { batchPut } from '../../shared/store/batch';
import { newEventItems } from '../../shared/store/events/items';
import { loadStreams } from '../../shared/store/streams';
import { apiUrl, call, createUser, login, type TestUser, TRUSTED_ORIGIN, uniqueUsername, useRuntimeStore } from '../setup/api';

// Untyped on purpose: the tests call the library as plain JavaScript apps do (its own
// typings would reject the invalid calls that the per-call error tests send).
const pryv: any = createRequire(import.meta.url)('pryv');

/**
 * The official `pryv` library (npm v3), unmodified, against the local runtime, as an app
 * would use it: Service (info, registration, login), Connection (batches, get/post,
 * access info, streamed events and sync), attachments read back, and the AuthController
 * access-request flow. The add-ons are in pryv-socket-monitor.test.ts; the library's
 * attachment uploads in attachments.test.ts; its startAccessRequest/poll in
 * access-requests.test.ts.
 */

/** What `events.get` bounds look like when the library or @pryv/monitor sends "no bound". */
const HUGE = Number.MAX_VALUE;
const STREAMED_EVENTS = 10_500;
const APP_ID = 'lib-test-app';
const SEED_CHUNK = 500; // store items per batchPut call

const serviceInfoUrl = () => `${apiUrl()}/service/info`;
const endpointOf = (user: TestUser, token = user.token) => `${apiUrl().replace('://', `://${token}@`)}/${user.username}/`;
const connectionOf = (user: TestUser, token = user.token) => new pryv.Connection(endpointOf(user, token));

async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

async function appToken(user: TestUser, permissions: unknown[], name = `app-${randomBytes(3).toString('hex')}`): Promise<string> {
  const res = await call('POST', `/${user.username}/accesses`, { token: user.token, body: { type: 'app', name, permissions } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.access.token as string;
}

describe('pryv.Service', () => {
  it('info(): the service info the library needs (trailing slashes, dnsLess, HF series offered), from both URLs', async () => {
    for (const url of [serviceInfoUrl(), `${apiUrl()}/reg/service/info`]) {
      const service = new pryv.Service(url);
      const info = await service.info();
      expect(info).toMatchObject({
        api: `${apiUrl()}/{username}/`,
        access: `${apiUrl()}/reg/access/`,
        register: `${apiUrl()}/reg/`,
        assets: { definitions: `${apiUrl()}/www/assets/index.json` },
      });
      expect(typeof info.name).toBe('string');
      expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(await service.isDnsLess()).toBe(true);
      // HF series are served: no features.noHF, so the library uses them.
      expect(info.features?.noHF).toBeUndefined();
      expect(await service.supportsHF()).toBe(true);
    }
  });

  it('assets(): what the login button of pryv.Browser loads (HTML with its text span, CSS, messages, favicon) is served', async () => {
    const service = new pryv.Service(serviceInfoUrl());
    const assets = await service.assets();
    expect(await service.assets()).toBe(assets); // cached
    const definitions = (await service.info()).assets.definitions as string;
    // ServiceAssets.relativeURL needs a DOM: resolve as it does, against the definitions URL.
    const fetchAsset = async (keyPath: string) => {
      const res = await fetch(new URL(assets.get(keyPath), definitions));
      expect(res.status, keyPath).toBe(200);
      return res;
    };
    expect(await (await fetchAsset('lib-js:buttonSignIn:html')).text()).toContain('id="pryv-access-btn-text"');
    expect((await fetchAsset('lib-js:buttonSignIn:css')).headers.get('content-type')).toMatch(/^text\/css/);
    const messages: any = await (await fetchAsset('lib-js:buttonSignIn:messages')).json();
    // The library keeps its own messages unless LOADING is defined (AuthController loadAssets).
    for (const key of ['LOADING', 'ERROR', 'LOGIN', 'SIGNOUT_CONFIRM']) expect(typeof messages[key].en, key).toBe('string');
    expect((await fetchAsset('css:default:url')).headers.get('content-type')).toMatch(/^text\/css/);
    expect((await fetchAsset('favicon:default:url')).headers.get('content-type')).toBe('image/x-icon');
  });

  it('apiEndpointFor(username, token) builds the endpoint the API answers on', async () => {
    const user = await createUser();
    const service = new pryv.Service(serviceInfoUrl());
    const url = new URL(apiUrl());
    expect(await service.apiEndpointFor(user.username)).toBe(`${apiUrl()}/${user.username}/`);
    const endpoint = await service.apiEndpointFor(user.username, user.token);
    expect(endpoint).toBe(`${url.protocol}//${user.token}@${url.host}/${user.username}/`);
    const info: any = await new pryv.Connection(endpoint).accessInfo();
    expect(info).toMatchObject({ type: 'personal', user: { username: user.username } });
  });

  it('createUser({ hosting: "auto" }) registers through the register endpoints; the user then exists and can log in', async () => {
    const service = new pryv.Service(serviceInfoUrl());
    const hostings = await service.flatHostings();
    expect(hostings.some((h: any) => h.available)).toBe(true);
    const username = uniqueUsername('lib');
    const password = `pw-${randomBytes(6).toString('hex')}`;
    const email = `${username}@example.com`;
    const created = await service.createUser({ username, password, email, hosting: 'auto', appId: APP_ID });
    expect(created).toEqual({ username, apiEndpoint: `${apiUrl()}/${username}/` });
    expect(await service.userExists(username)).toBe(true);
    expect(await service.userExists(uniqueUsername('nobody'))).toBe(false);
    expect(await service.userIdForEmail(email)).toBe(username);
    expect(await service.userIdForEmail(`${uniqueUsername('nobody')}@example.com`)).toBeNull();
    const connection = await service.login(username, password, APP_ID);
    expect(await connection.username()).toBe(username);

    // A taken username: a structured PryvError carrying the register error id.
    const dup = await rejection(service.createUser({ username, password, email: `x-${email}`, hosting: 'auto', appId: APP_ID }));
    expect(dup).toBeInstanceOf(pryv.PryvError);
    expect(dup.status).toBe(409);
    expect(typeof dup.id).toBe('string');
  });

  it('login(username, password, appId) from Node: the library sends the register URL as Origin, which is trusted', async () => {
    const user = await createUser();
    const service = new pryv.Service(serviceInfoUrl());
    const connection = await service.login(user.username, user.password, APP_ID);
    expect(connection).toBeInstanceOf(pryv.Connection);
    expect(connection.service).toBe(service);
    expect(connection.endpoint).toBe(`${apiUrl()}/${user.username}/`);
    const info: any = await connection.accessInfo();
    expect(info).toMatchObject({ type: 'personal', name: APP_ID, user: { username: user.username } });
    expect(await connection.username()).toBe(user.username);
  });

  it('login failures are PryvErrors with the API error id and status', async () => {
    const user = await createUser();
    const service = new pryv.Service(serviceInfoUrl());
    const wrong = await rejection(service.login(user.username, `${user.password}x`, APP_ID));
    expect(wrong).toBeInstanceOf(pryv.PryvError);
    expect({ id: wrong.id, status: wrong.status }).toEqual({ id: pryv.ERRORS.INVALID_CREDENTIALS, status: 401 });
    // An origin outside auth.trustedApps is refused the same way.
    const untrusted = await rejection(service.login(user.username, user.password, APP_ID, 'https://evil.example.com'));
    expect({ id: untrusted.id, status: untrusted.status }).toEqual({ id: pryv.ERRORS.INVALID_CREDENTIALS, status: 401 });
    const unknown = await rejection(service.login(uniqueUsername('nobody'), 'whatever-pw', APP_ID));
    expect(unknown).toBeInstanceOf(pryv.PryvError);
    expect(unknown.status).toBe(404);
  });
});

describe('MFA through pryv.Service', () => {
  const totp = (secret: string, offset = 0) =>
    new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({
      timestamp: Date.now() + offset * 30_000,
    });

  it('login() throws MfaRequiredError with the mfaToken; mfaChallenge() then mfaVerify() give a working Connection', async () => {
    const user = await createUser();
    const activated = await call('POST', `/${user.username}/mfa/activate`, { token: user.token, body: {} });
    const { mfaToken: activation, secret } = activated.body;
    expect((await call('POST', `/${user.username}/mfa/confirm`, { token: activation, body: { code: totp(secret) } })).status).toBe(200);

    const service = new pryv.Service(serviceInfoUrl());
    const err = await rejection(service.login(user.username, user.password, APP_ID));
    expect(err).toBeInstanceOf(pryv.MfaRequiredError);
    expect(typeof err.mfaToken).toBe('string');
    await service.mfaChallenge(user.username, err.mfaToken);
    const wrong = await rejection(service.mfaVerify(user.username, err.mfaToken, '000000'));
    expect(wrong).toBeInstanceOf(pryv.PryvError);
    expect(wrong.status).toBeGreaterThanOrEqual(400);
    // The next period's code: the current one was spent by confirm.
    const connection = await service.mfaVerify(user.username, err.mfaToken, totp(secret, 1));
    expect(await connection.username()).toBe(user.username);
    expect((await connection.accessInfo()).type).toBe('personal');
  });
});

describe('password reset through pryv.Service', () => {
  /** What the library posts (it adds `username` to the body); a browser adds its page's Origin. */
  const libPost = (user: TestUser, path: string, body: Record<string, unknown>) =>
    call('POST', `/${user.username}/account/${path}`, { body, headers: { origin: TRUSTED_ORIGIN } });

  it('from Node the library sends no Origin: a structured PryvError (401 invalid-credentials), as on Pryv.io', async () => {
    const user = await createUser();
    const service = new pryv.Service(serviceInfoUrl());
    const err = await rejection(service.requestPasswordReset(user.username, APP_ID));
    expect(err).toBeInstanceOf(pryv.PryvError);
    expect({ id: err.id, status: err.status }).toEqual({ id: pryv.ERRORS.INVALID_CREDENTIALS, status: 401 });
    const reset = await rejection(service.resetPassword(user.username, 'a-new-password-1', 'bogus', APP_ID));
    expect(reset.status).toBe(401);
  });

  it('from a trusted page, the body the library sends (with username) is accepted; another username is refused', async () => {
    const user = await createUser();
    expect((await libPost(user, 'request-password-reset', { appId: APP_ID, username: user.username })).status).toBe(200);
    const bogus = await libPost(user, 'reset-password', {
      username: user.username,
      newPassword: 'a-new-password-1',
      resetToken: 'bogus',
      appId: APP_ID,
    });
    expect({ status: bogus.status, id: bogus.body.error?.id }).toEqual({ status: 401, id: 'invalid-access-token' });
    const other = await libPost(user, 'request-password-reset', { appId: APP_ID, username: `${user.username}x` });
    expect({ status: other.status, id: other.body.error?.id }).toEqual({ status: 400, id: 'invalid-operation' });
    const otherReset = await libPost(user, 'reset-password', {
      username: 'someone-else',
      newPassword: 'a-new-password-1',
      resetToken: 'bogus',
      appId: APP_ID,
    });
    expect(otherReset.status).toBe(400);
    // The password did not change.
    expect((await login(user)).status).toBe(200);
  });
});

describe('pryv.Connection', () => {
  let user: TestUser;
  let connection: any;
  beforeAll(async () => {
    user = await createUser();
    connection = connectionOf(user);
  });

  it('api([...]) mixes streams and events methods; each call gets its result or its own error, in order', async () => {
    const handled: unknown[] = [];
    const progress: number[] = [];
    const results = await connection.api(
      [
        { method: 'streams.create', params: { id: 'lib-batch', name: 'Lib batch' } },
        { method: 'events.create', params: { streamIds: ['lib-batch'], type: 'note/txt', content: 'one' } },
        { method: 'events.create', params: { streamIds: ['no-such-stream'], type: 'note/txt', content: 'x' } },
        { method: 'streams.update', params: { id: 'no-such-stream', update: { name: 'y' } } },
        { method: 'events.create', params: { streamIds: ['lib-batch'], type: 'not a type', content: 1 } },
        { method: 'no.such.method', params: {} },
        {
          method: 'events.get',
          params: { streams: ['lib-batch'] },
          handleResult: (result: unknown) => {
            handled.push(result);
          },
        },
        { method: 'streams.get', params: { parentId: 'lib-batch' } },
      ],
      (percent: number) => progress.push(percent),
    );
    expect(results).toHaveLength(8);
    expect(results[0].stream.id).toBe('lib-batch');
    expect(results[1].event.content).toBe('one');
    expect(results[2].error.id).toBe('unknown-referenced-resource');
    expect(results[3].error.id).toBe('unknown-resource');
    expect(results[4].error.id).toBe('invalid-parameters-format');
    expect(results[5].error.id).toBe('invalid-method');
    expect(results[6].events.map((e: any) => e.id)).toEqual([results[1].event.id]);
    expect(handled).toEqual([results[6]]);
    expect(results[7].streams).toEqual([]);
    expect(progress.at(-1)).toBe(100);
    // The failed calls changed nothing.
    const streams: any = await connection.get('streams', {});
    // The personal token also sees the account system tree (Pryv API reference §7).
    expect(streams.streams.map((s: any) => s.id)).toEqual([':_system:account', 'lib-batch']);
  });

  it('api() splits long lists into chunks (an empty trailing chunk is answered too)', async () => {
    const chunked = connectionOf(user);
    chunked.options.chunkSize = 3;
    const calls = Array.from({ length: 6 }, (_, i) => ({
      method: 'events.create',
      params: { streamIds: ['lib-batch'], type: 'count/generic', content: i },
    }));
    const progress: number[] = [];
    const results = await chunked.api(calls, (p: number) => progress.push(p));
    expect(results.map((r: any) => r.event.content)).toEqual([0, 1, 2, 3, 4, 5]);
    // 6 calls in chunks of 3: the library also posts an empty third batch.
    expect(progress).toEqual([50, 100, 100]);
    expect(await connection.api([])).toEqual([]);
  });

  it('apiOne(): the result, or a PryvError wrapping the API error', async () => {
    const stream = await connection.apiOne('streams.create', { name: `one-${Date.now()}`, parentId: 'lib-batch' }, 'stream');
    expect(stream.parentId).toBe('lib-batch');
    const err = await rejection(connection.apiOne('events.get', { streams: ['no-such-stream'] }, 'events'));
    expect(err).toBeInstanceOf(pryv.PryvError);
    expect(err.innerObject.id).toBe('unknown-referenced-resource');
  });

  it('get(path, query) and post(path, body): arrays become repeated keys, errors come back as bodies', async () => {
    const created: any = await connection.post('events', { streamIds: ['lib-batch'], type: 'mass/kg', content: 72.5 });
    expect(created.event.content).toBe(72.5);
    const got: any = await connection.get('events', { streams: ['lib-batch'], types: ['mass/kg'] });
    expect(got.events.map((e: any) => e.id)).toEqual([created.event.id]);
    const one: any = await connection.get(`events/${created.event.id}`, null);
    expect(one.event.id).toBe(created.event.id);
    // The library does not throw on API errors from get/post: it needs meta on error bodies too.
    const missing: any = await connection.get('events/unknown-id-xyz', null);
    expect(missing.error.id).toBe('unknown-resource');
    expect(typeof missing.meta.serverTime).toBe('number');
    const bad: any = await connection.post('streams', { name: 42 });
    expect(bad.error.id).toBe('invalid-parameters-format');
  });

  it('meta.serverTime is in seconds: the library derives its clock offset (deltaTime) from it', async () => {
    const fresh = connectionOf(user);
    await fresh.get('events', { limit: 1 });
    await fresh.api([{ method: 'streams.get', params: {} }]);
    // In seconds the offset is ~0 against the local runtime; in milliseconds it would be ~1.7e12.
    expect(Math.abs(fresh.deltaTime)).toBeLessThan(120);
  });

  it('accessInfo() and username() for personal and app tokens; a bad token gives an error body, username() a PryvError', async () => {
    const token = await appToken(user, [{ streamId: 'lib-batch', level: 'read' }], 'lib-reader');
    const app = connectionOf(user, token);
    const info: any = await app.accessInfo();
    expect(info).toMatchObject({
      type: 'app',
      name: 'lib-reader',
      token,
      permissions: [{ streamId: 'lib-batch', level: 'read' }],
      user: { username: user.username },
    });
    expect(typeof info.id).toBe('string');
    expect(await app.username()).toBe(user.username);

    const bad = connectionOf(user, 'not-a-valid-token');
    const badInfo: any = await bad.accessInfo();
    expect(badInfo.error.id).toBe('invalid-access-token');
    const err = await rejection(bad.username());
    expect(err).toBeInstanceOf(pryv.PryvError);
    expect(err.message).toMatch(/^Failed fetching accessinfo: /);
  });

  it('revoke(): an app access revokes itself; its token stops working', async () => {
    const token = await appToken(user, [{ streamId: 'lib-batch', level: 'read' }]);
    const app = connectionOf(user, token);
    const result: any = await app.revoke();
    expect(result.accessDeletion.id).toEqual(expect.any(String));
    const after: any = await app.accessInfo();
    expect(after.error.id).toBe('invalid-access-token');
  });

  it("addPointsToHFEvent() adds points to a series created through api(), as the library's own [CHFA] test does", async () => {
    const res: any = await connection.api([{ method: 'events.create', params: { type: 'series:mass/kg', streamIds: ['lib-batch'] } }]);
    const event = res[0].event;
    expect(event.id).toEqual(expect.any(String));
    const added: any = await connection.addPointsToHFEvent(
      event.id,
      ['deltaTime', 'value'],
      [
        [0, 1],
        [1, 1],
      ],
    );
    expect(added.status).toBe('ok');
    const read: any = await connection.get(`events/${event.id}/series`, { fromDeltaTime: 0, toDeltaTime: 10 });
    expect(read).toMatchObject({
      format: 'flatJSON',
      fields: ['deltaTime', 'value'],
      points: [
        [0, 1],
        [1, 1],
      ],
    });
  });

  it('addPointsToHFEvent() on a normal event fails cleanly (400 from the server)', async () => {
    const created: any = await connection.post('events', { streamIds: ['lib-batch'], type: 'note/txt', content: 'not a series' });
    const err = await rejection(connection.addPointsToHFEvent(created.event.id, ['deltaTime', 'value'], [[0, 1]]));
    expect(err).toBeInstanceOf(Error);
  });

  it("content queries, as the library's [LI02] asks them: getEventsStreamed with conditions (stringified: 3.0.4 repeats array items as keys), and api() with the array", async () => {
    const streamId = 'lib-cq';
    const calls: unknown[] = [{ method: 'streams.create', params: { id: streamId, name: streamId } }];
    let time = 1_700_000_000;
    for (const atc of ['G03DA04', 'B01AC06']) {
      for (const taken of [false, true]) {
        const content = { drug: { codes: { atc } }, taken };
        calls.push({
          method: 'events.create',
          params: { streamIds: [streamId], type: 'medication/exposure-assertion-v1', time: time++, content },
        });
      }
    }
    for (const r of await connection.api(calls)) expect(r.error).toBeUndefined();
    const info: any = await connection.service.info();
    expect(info.features.contentQueries).toBe(true);

    const conditions = [
      { path: 'drug.codes.atc', eq: 'G03DA04' },
      { path: 'taken', eq: true },
    ];
    const collected: any[] = [];
    await connection.getEventsStreamed({ streams: [streamId], content: JSON.stringify(conditions) }, (e: any) => collected.push(e));
    expect(collected.map((e) => e.content)).toEqual([{ drug: { codes: { atc: 'G03DA04' } }, taken: true }]);

    const [viaApi] = await connection.api([
      { method: 'events.get', params: { streams: [streamId], content: [{ path: 'taken', eq: false }] } },
    ]);
    expect(viaApi.events.map((e: any) => e.content.drug.codes.atc).sort()).toEqual(['B01AC06', 'G03DA04']);
  });
});

describe('getEventsStreamed over 10,000+ events, and sync with eventDeletions', () => {
  let user: TestUser;
  let connection: any;
  let ids: string[];
  beforeAll(async () => {
    useRuntimeStore();
    user = await createUser();
    connection = connectionOf(user);
    await connection.api([
      { method: 'streams.create', params: { id: 'bulk', name: 'Bulk' } },
      { method: 'streams.create', params: { id: 'bulk-child', name: 'Bulk child', parentId: 'bulk' } },
    ]);
    // Seeded directly through the store (as test/bench/run.ts does): the same items events.create
    // writes. Through the API this many creates take minutes on the local runtime.
    const { streams } = await loadStreams(user.username);
    const tree = new StreamTree(streams);
    const past = Date.now() / 1000 - 3600;
    const base = Math.floor(past) - STREAMED_EVENTS * 60;
    ids = [];
    const items: Array<Record<string, unknown>> = [];
    for (let i = 0; i < STREAMED_EVENTS; i++) {
      const streamIds = [i % 2 === 0 ? 'bulk' : 'bulk-child'];
      const event: StoredEvent = {
        id: newId(),
        streamIds,
        time: base + i * 60,
        type: 'note/txt',
        // Quotes, backslashes and braces inside strings must not confuse the library's scanner.
        content: i % 97 === 0 ? `tricky "}]\\ {[ ${i}` : `n${i}`,
        created: past,
        createdBy: 'seed',
        modified: past,
        modifiedBy: 'seed',
      };
      ids.push(event.id);
      items.push(...newEventItems(user.username, event, placementFor(tree, streamIds)));
    }
    for (let i = 0; i < items.length; i += SEED_CHUNK) await batchPut(items.slice(i, i + SEED_CHUNK));
  }, 300_000);

  it('every event arrives exactly once, with its content; the body reports eventsCount and meta', async () => {
    const seen = new Map<string, number>();
    const contents = new Map<string, unknown>();
    const body: any = await connection.getEventsStreamed({ streams: ['bulk'], fromTime: -HUGE, toTime: HUGE }, (event: any) => {
      seen.set(event.id, (seen.get(event.id) ?? 0) + 1);
      contents.set(event.id, event.content);
    });
    expect(body.eventsCount).toBe(STREAMED_EVENTS);
    expect(typeof body.meta.serverTime).toBe('number');
    expect(seen.size).toBe(STREAMED_EVENTS);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(ids)).toEqual(new Set(seen.keys()));
    expect(contents.get(ids[97]!)).toBe(`tricky "}]\\ {[ 97`);
  }, 120_000);

  it('the ±Number.MAX_VALUE bounds the library and @pryv/monitor send work in the query string and in batches', async () => {
    const viaQuery: any = await connection.get('events', {
      streams: ['bulk-child'],
      fromTime: -HUGE,
      toTime: HUGE,
      modifiedSince: -HUGE,
      limit: 5,
    });
    expect(viaQuery.error).toBeUndefined();
    expect(viaQuery.events).toHaveLength(5);
    const [viaBatch] = await connection.api([
      { method: 'events.get', params: { streams: ['bulk-child'], fromTime: -HUGE, toTime: HUGE, limit: 0 } },
    ]);
    expect(viaBatch.events).toHaveLength(STREAMED_EVENTS / 2);
    const onlyFrom: any = await connection.get('events', { streams: ['bulk'], fromTime: -HUGE, limit: 3 });
    expect(onlyFrom.events).toHaveLength(3);
  });

  it('sync: modifiedSince + includeDeletions streams the changes then the deletions, each once (trash + delete in one batch)', async () => {
    const since = (await connection.get('events', { limit: 1 })) as any;
    const t0 = since.meta.serverTime as number;
    await new Promise((r) => setTimeout(r, 1100)); // modified times are in seconds: step past t0
    const [updated, trashed, gone1, gone2] = [ids[10]!, ids[11]!, ids[12]!, ids[13]!];
    const results = await connection.api([
      { method: 'events.update', params: { id: updated, update: { content: 'changed' } } },
      { method: 'events.delete', params: { id: trashed } },
      { method: 'events.delete', params: { id: gone1 } },
      { method: 'events.delete', params: { id: gone1 } },
      { method: 'events.delete', params: { id: gone2 } },
      { method: 'events.delete', params: { id: gone2 } },
      { method: 'events.create', params: { streamIds: ['bulk'], type: 'note/txt', content: 'new' } },
    ]);
    expect(results.every((r: any) => !r.error)).toBe(true);
    const created = results[6].event.id as string;

    const events: any[] = [];
    const body: any = await connection.getEventsStreamed(
      { streams: ['bulk'], fromTime: -HUGE, toTime: HUGE, state: 'all', modifiedSince: t0, includeDeletions: true },
      (item: any) => events.push(item),
    );
    // The library hands events and deletions to the same callback; deletions carry `deleted`.
    const changed = events.filter((e) => e.deleted === undefined);
    const deletions = events.filter((e) => e.deleted !== undefined);
    expect(new Set(changed.map((e) => e.id))).toEqual(new Set([updated, trashed, created]));
    expect(changed.find((e) => e.id === updated).content).toBe('changed');
    expect(changed.find((e) => e.id === trashed).trashed).toBe(true);
    expect(deletions.map((d) => d.id).sort()).toEqual([gone1, gone2].sort());
    expect(body).toMatchObject({ eventsCount: 3, eventDeletionsCount: 2 });
    expect(typeof body.meta.serverTime).toBe('number');

    // What the monitor sends on its first sync: every deletion since forever.
    const all: any[] = [];
    const everything: any = await connection.getEventsStreamed(
      { streams: ['bulk'], fromTime: -HUGE, toTime: HUGE, modifiedSince: -HUGE, includeDeletions: true, state: 'all', limit: 0 },
      (item: any) => all.push(item),
    );
    expect(everything.eventDeletionsCount).toBe(2);
    expect(everything.eventsCount).toBe(STREAMED_EVENTS - 2 + 1);
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
  }, 120_000);

  it('the raw JSON the library scans: compact, "eventDeletions" right after "events"', async () => {
    const query = new URLSearchParams({ modifiedSince: String(-HUGE), includeDeletions: 'true', limit: '2' });
    const res = await fetch(`${apiUrl()}/${user.username}/events?${query}`, {
      headers: { Authorization: user.token },
    });
    const text = await res.text();
    expect(text).toMatch(/^\{"events":\[\{.*\}\],"eventDeletions":\[\{"id":"[^"]+","deleted":[\d.]+\}/s);
    expect(text).not.toMatch(/\n/);
  });
});

describe('attachments uploaded with the library, read back', () => {
  it('createEventWithFile / createEventWithFormData, then the file through its readToken: byte-identical', async () => {
    const user = await createUser();
    const connection = connectionOf(user);
    await connection.api([{ method: 'streams.create', params: { id: 'files', name: 'Files' } }]);
    const dir = mkdtempSync(join(tmpdir(), 'pryv-lib-test-'));
    const photo = randomBytes(40_000);
    writeFileSync(join(dir, 'photo.jpg'), photo);
    const one: any = await connection.createEventWithFile({ streamIds: ['files'], type: 'picture/attached' }, join(dir, 'photo.jpg'));
    const doc = randomBytes(5_000);
    const form = new FormData();
    form.append('file', new Blob([doc], { type: 'application/pdf' }), 'doc.pdf');
    const two: any = await connection.createEventWithFormData({ streamIds: ['files'], type: 'file/attached' }, form);

    for (const [created, bytes] of [
      [one, photo],
      [two, doc],
    ] as const) {
      // Read back as an app would: the event from the API, then the file URL with its readToken.
      const got: any = await connection.get(`events/${created.event.id}`, null);
      const [att] = got.event.attachments;
      const url = `${connection.endpoint}events/${created.event.id}/${att.id}/${encodeURIComponent(att.fileName)}?readToken=${encodeURIComponent(att.readToken)}`;
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    }
  });
});

describe('pryv.Auth.AuthController: the access-request flow, driven from Node', () => {
  const permissions = [{ streamId: 'lib-diary', level: 'contribute', defaultName: 'Diary' }];

  async function startController(states: any[]) {
    const service = new pryv.Service(serviceInfoUrl());
    await service.info();
    const controller = new pryv.Auth.AuthController(
      { authRequest: { requestingAppId: APP_ID, requestedPermissions: permissions }, onStateChange: (s: any) => states.push({ ...s }) },
      service,
      null,
    );
    await controller.init(); // loads the service assets too
    expect(controller.state.status).toBe('INITIALIZED');
    await controller.startAuthRequest();
    return controller;
  }

  function waitForState(states: any[], status: string, also: (s: any, i: number) => boolean = () => true, timeout = 15_000): Promise<any> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const tick = () => {
        const found = states.find((s, i) => s.status === status && also(s, i));
        if (found) return resolve(found);
        if (Date.now() - started > timeout) return reject(new Error(`no ${status} state in time`));
        setTimeout(tick, 50);
      };
      tick();
    });
  }

  it('NEED_SIGNIN, the consent page accepts, the polling controller reaches ACCEPTED with a working endpoint', async () => {
    const states: any[] = [];
    const controller = await startController(states);
    const pending = controller.state;
    expect(pending).toMatchObject({ status: 'NEED_SIGNIN', key: expect.any(String), poll: expect.any(String) });
    expect(pending.poll_rate_ms).toBeGreaterThan(0);

    // The consent page: the user logs in, then answers the request with the personal token.
    const user = await createUser();
    const session = await login(user);
    const answer = await call('POST', `/reg/access/${pending.key}`, {
      body: { status: 'ACCEPTED', username: user.username, token: session.body.token },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);

    const accepted = await waitForState(states, 'ACCEPTED');
    expect(accepted.username).toBe(user.username);
    const connection = new pryv.Connection(accepted.apiEndpoint);
    const info: any = await connection.accessInfo();
    expect(info).toMatchObject({ type: 'app', name: APP_ID, user: { username: user.username } });
    expect(info.permissions).toEqual([expect.objectContaining({ streamId: 'lib-diary', level: 'contribute' })]);
    const created: any = await connection.post('events', { streamIds: ['lib-diary'], type: 'note/txt', content: 'granted' });
    expect(created.event.streamIds).toEqual(['lib-diary']);
  });

  it('a refusal brings the controller back to INITIALIZED (it stops polling)', async () => {
    const states: any[] = [];
    const controller = await startController(states);
    const key = controller.state.key;
    const answer = await call('POST', `/reg/access/${key}`, { body: { status: 'REFUSED', reasonID: 'REFUSED_BY_USER', message: 'no' } });
    expect(answer.body.status).toBe('REFUSED');
    // LOADING, INITIALIZED, NEED_SIGNIN, then INITIALIZED again once the poll sees REFUSED.
    await waitForState(states, 'INITIALIZED', (_s, i) => i > 2);
    expect(states.some((s) => s.status === 'ACCEPTED')).toBe(false);
  });
});
