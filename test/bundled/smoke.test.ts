import bcrypt from 'bcryptjs';
import { io, type Socket } from 'socket.io-client';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { functionId } from '../../infra/constructs/api-functions';
import { readAssembly } from '../../infra/local/bundles';
import { METHODS } from '../../shared/api/registry';
import { type ApiResponse, adminKey, apiUrl, call, TEST_APP_ID, TRUSTED_ORIGIN, uniqueUsername } from '../setup/api';
import { allows, type Need, needsOf, readCalls, resolveArn, roleStatements, type UnusedGrant, unusedGrants } from './permissions';

/**
 * What `cdk deploy` ships, run (npm run test:bundled): the local runtime serves every function
 * from its synthesized bundle with the template's environment (test/setup/bundled-runtime.ts).
 * Every method of the registry is called through HTTP, in an order that gives each real data
 * to work on; each answer must come from that method's own function (the gateway routes as
 * the template's HTTP API does and names the function in `x-local-function`) and be no server
 * fault: a bundle that does not load, a variable it misses or a route to the wrong function
 * fails here. Then a sample through callBatch and through a socket.
 */

const called = new Set<string>();

/** Calls `method` over HTTP, checks who answered, and that it answered `status` (or any non-5xx when undefined). */
async function expectMethod(
  method: string,
  verb: string,
  path: string,
  options: Parameters<typeof call>[2] & { status?: number | number[] } = {},
): Promise<ApiResponse> {
  const started = Date.now();
  const res = await call(verb, path, options);
  if (process.env.PRYV_BUNDLED_TRACE) console.log(`${method} ${res.status} ${Date.now() - started} ms`);
  called.add(method);
  const detail = `${method}: ${verb} ${path} → ${res.status} ${JSON.stringify(res.body)?.slice(0, 300)}`;
  expect(res.headers.get('x-local-function'), detail).toBe(functionId(method));
  if (options.status !== undefined) expect.soft([options.status].flat(), detail).toContain(res.status);
  else expect.soft(res.status, detail).toBeLessThan(500);
  return res;
}

const sockets: Socket[] = [];
afterAll(() => {
  for (const s of sockets) s.close();
});

describe('the synthesized bundles', () => {
  const username = uniqueUsername('bundled');
  const password = 'bundled-pass-1';
  const email = `${username}@example.com`;
  let token = '';
  const u = (path: string) => `/${username}${path}`;

  it('answer every method of the registry, each from its own function', async () => {
    const admin = adminKey();
    await expectMethod('service.greeting', 'GET', '/', { status: 200 });
    await expectMethod('service.info', 'GET', '/reg/service/info', { status: 200 });
    const registered = await expectMethod('auth.register', 'POST', '/users', {
      body: { username, password, email, appId: TEST_APP_ID },
      status: 201,
    });
    token = new URL(registered.body.apiEndpoint).username;
    const auth = { token };
    await expectMethod('auth.usernameCheck', 'GET', `/reg/${username}/check_username`, { status: 200 });
    await expectMethod('auth.emailCheck', 'GET', `/reg/${encodeURIComponent(email)}/check_email`, { status: 409 }); // taken
    await expectMethod('reg.usernameForEmail', 'GET', `/reg/${encodeURIComponent(email)}/username`, { status: 200 });
    await expectMethod('reg.uidForEmail', 'GET', `/reg/${encodeURIComponent(email)}/uid`, { status: 200 });
    await expectMethod('reg.server', 'GET', `/reg/${username}/server`);
    await expectMethod('reg.cores', 'GET', `/reg/cores?username=${username}`, { status: 200 });
    await expectMethod('reg.hostings', 'GET', '/reg/hostings', { status: 200 });
    const login = await expectMethod('auth.login', 'POST', u('/auth/login'), {
      body: { username, password, appId: TEST_APP_ID },
      headers: { origin: TRUSTED_ORIGIN },
      status: 200,
    });
    const session = login.body.token as string;
    await expectMethod('getAccessInfo', 'GET', u('/access-info'), { ...auth, status: 200 });
    await expectMethod('account.get', 'GET', u('/account'), { ...auth, status: 200 });
    await expectMethod('account.update', 'PUT', u('/account'), { ...auth, body: { language: 'fr' }, status: 200 });

    await expectMethod('streams.create', 'POST', u('/streams'), { ...auth, body: { id: 'health', name: 'Health' }, status: 201 });
    await expectMethod('streams.get', 'GET', u('/streams'), { ...auth, status: 200 });
    await expectMethod('streams.update', 'PUT', u('/streams/health'), { ...auth, body: { name: 'Health data' }, status: 200 });
    const created = await expectMethod('events.create', 'POST', u('/events'), {
      ...auth,
      body: { streamIds: ['health'], type: 'mass/kg', content: 72.5 },
      status: 201,
    });
    const eventId = created.body.event.id as string;
    await expectMethod('events.get', 'GET', u('/events?streams=health'), { ...auth, status: 200 });
    await expectMethod('events.getOne', 'GET', u(`/events/${eventId}`), { ...auth, status: 200 });
    await expectMethod('events.update', 'PUT', u(`/events/${eventId}`), { ...auth, body: { content: 73 }, status: 200 });
    const holder = await expectMethod('events.create', 'POST', u('/events'), {
      ...auth,
      body: { streamIds: ['health'], type: 'series:mass/kg' },
      status: 201,
    });
    const holderId = holder.body.event.id as string;
    const points = {
      format: 'flatJSON',
      fields: ['deltaTime', 'value'],
      points: [
        [0, 72.5],
        [1, 72.6],
      ],
    };
    await expectMethod('series.add', 'POST', u(`/events/${holderId}/series`), { ...auth, body: points, status: 200 });
    await expectMethod('series.get', 'GET', u(`/events/${holderId}/series?fromDeltaTime=0`), { ...auth, status: 200 });
    await expectMethod('series.batch', 'POST', u('/series/batch'), {
      ...auth,
      body: { format: 'seriesBatch', data: [{ eventId: holderId, data: { ...points, points: [[2, 72.7]] } }] },
      status: 200,
    });

    const form = new FormData();
    form.append('file', new Blob([new Uint8Array([1, 2, 3, 4])], { type: 'application/octet-stream' }), 'four.bin');
    const attached = await fetch(`${apiUrl()}${u(`/events/${eventId}`)}`, {
      method: 'POST',
      headers: { authorization: token },
      body: form,
    });
    called.add('events.addAttachment');
    expect(attached.headers.get('x-local-function')).toBe(functionId('events.addAttachment'));
    expect(attached.status).toBe(200);
    const fileId = ((await attached.json()) as { event: { attachments: Array<{ id: string }> } }).event.attachments[0]!.id;
    const file = await expectMethod('events.getAttachment', 'GET', u(`/events/${eventId}/${fileId}`), { ...auth, status: 200 });
    expect(file.body).toBeDefined();
    await expectMethod('events.deleteAttachment', 'DELETE', u(`/events/${eventId}/${fileId}`), { ...auth, status: 200 });
    const slot = await expectMethod('events.createAttachmentUpload', 'POST', u(`/events/${eventId}/attachment-uploads`), {
      ...auth,
      body: { fileName: 'big.bin', type: 'application/octet-stream', size: 8 },
      status: 201,
    });
    const upload = slot.body.upload as { fileId: string; url: string; method: string; headers: Record<string, string> };
    expect((await fetch(upload.url, { method: upload.method, headers: upload.headers, body: new Uint8Array(8) })).status).toBe(200);
    await expectMethod('events.confirmAttachmentUpload', 'POST', u(`/events/${eventId}/attachment-uploads/${upload.fileId}`), {
      ...auth,
      body: { fileName: 'big.bin' },
      status: 200,
    });

    const access = await expectMethod('accesses.create', 'POST', u('/accesses'), {
      ...auth,
      body: { name: 'doctor', permissions: [{ streamId: 'health', level: 'read' }] },
      status: 201,
    });
    const accessId = access.body.access.id as string;
    await expectMethod('accesses.get', 'GET', u('/accesses'), { ...auth, status: 200 });
    const renamed = await expectMethod('accesses.update', 'PUT', u(`/accesses/${accessId}`), {
      ...auth,
      body: { name: 'my doctor' },
      status: 200,
    });
    const currentId = renamed.body.access.id as string; // `{id}:1` once updated
    const one = await expectMethod('accesses.getOne', 'GET', u(`/accesses/${currentId}?includeHistory=true`), { ...auth, status: 200 });
    expect((one.body.history as unknown[]).length).toBe(1);
    await expectMethod('accesses.checkApp', 'POST', u('/accesses/check-app'), {
      ...auth,
      body: { requestingAppId: 'bundled-app', requestedPermissions: [{ streamId: 'health', level: 'read', defaultName: 'Health' }] },
      status: 200,
    });
    await expectMethod('accesses.delete', 'DELETE', u(`/accesses/${currentId}`), { ...auth, status: 200 });

    // Webhooks belong to app accesses.
    const app = await call('POST', u('/accesses'), {
      token,
      body: { type: 'app', name: 'hooks-app', permissions: [{ streamId: 'health', level: 'read' }] },
    });
    expect(app.status, JSON.stringify(app.body)).toBe(201);
    const appToken = app.body.access.token as string;
    const hook = await expectMethod('webhooks.create', 'POST', u('/webhooks'), {
      token: appToken,
      body: { url: 'https://hooks.example.com/pryv' },
      status: 201,
    });
    const hookId = hook.body.webhook.id as string;
    await expectMethod('webhooks.get', 'GET', u('/webhooks'), { token: appToken, status: 200 });
    await expectMethod('webhooks.getOne', 'GET', u(`/webhooks/${hookId}`), { token: appToken, status: 200 });
    await expectMethod('webhooks.update', 'PUT', u(`/webhooks/${hookId}`), { token: appToken, body: { state: 'inactive' }, status: 200 });
    await expectMethod('webhooks.test', 'POST', u(`/webhooks/${hookId}/test`), { token: appToken });
    await expectMethod('webhooks.delete', 'DELETE', u(`/webhooks/${hookId}`), { token: appToken, status: 200 });

    await expectMethod('audit.getLogs', 'GET', u('/audit/logs'), { ...auth, status: 200 });
    const exported = await expectMethod('account.export', 'POST', u('/account/export'), { ...auth });
    await expectMethod('account.getExport', 'GET', u(`/account/export/${exported.body?.export?.id ?? 'none'}`), { ...auth });
    const imported = await expectMethod('account.importUpload', 'POST', u('/account/import'), { ...auth, body: {} });
    const importId = imported.body?.import?.id ?? imported.body?.upload?.importId ?? 'none';
    await expectMethod('account.import', 'POST', u(`/account/import/${importId}`), { ...auth, body: {} });
    await expectMethod('account.getImport', 'GET', u(`/account/import/${importId}`), { ...auth });

    const request = await expectMethod('accessRequests.create', 'POST', '/reg/access', {
      body: { requestingAppId: 'bundled-app', requestedPermissions: [{ streamId: 'health', level: 'read', defaultName: 'Health' }] },
      status: 201,
    });
    const key = request.body.key as string;
    await expectMethod('accessRequests.poll', 'GET', `/reg/access/${key}`, { status: 201 });
    await expectMethod('accessRequests.update', 'POST', `/reg/access/${key}`, {
      body: { status: 'REFUSED', reasonID: 'user', message: 'no' },
    });

    await expectMethod('profile.getPublic', 'GET', u('/profile/public'), { ...auth, status: 200 });
    await expectMethod('profile.updatePublic', 'PUT', u('/profile/public'), { ...auth, body: { nick: 'b' }, status: 200 });
    await expectMethod('profile.getPrivate', 'GET', u('/profile/private'), { ...auth, status: 200 });
    await expectMethod('profile.updatePrivate', 'PUT', u('/profile/private'), { ...auth, body: { note: 'x' }, status: 200 });
    await expectMethod('profile.getApp', 'GET', u('/profile/app'), { ...auth });
    await expectMethod('profile.updateApp', 'PUT', u('/profile/app'), { ...auth, body: { theme: 'dark' } });

    const slice = await expectMethod('followedSlices.create', 'POST', u('/followed-slices'), {
      ...auth,
      body: { name: 'friend', url: 'https://friend.example.com/', accessToken: 'some-token' },
      status: 201,
    });
    const sliceId = slice.body.followedSlice.id as string;
    await expectMethod('followedSlices.get', 'GET', u('/followed-slices'), { ...auth, status: 200 });
    await expectMethod('followedSlices.update', 'PUT', u(`/followed-slices/${sliceId}`), {
      ...auth,
      body: { name: 'a friend' },
      status: 200,
    });
    await expectMethod('followedSlices.delete', 'DELETE', u(`/followed-slices/${sliceId}`), { ...auth, status: 200 });

    // MFA and password reset: without a mail sender (no mailFrom) and without codes, each
    // answers its own refusal; what matters here is that its function loads and answers.
    await expectMethod('mfa.activate', 'POST', u('/mfa/activate'), { token: session, body: {} });
    await expectMethod('mfa.confirm', 'POST', u('/mfa/confirm'), { body: { mfaToken: 'none', code: '000000' } });
    await expectMethod('mfa.challenge', 'POST', u('/mfa/challenge'), { body: { mfaToken: 'none' } });
    await expectMethod('mfa.verify', 'POST', u('/mfa/verify'), { body: { mfaToken: 'none', code: '000000' } });
    await expectMethod('mfa.recover', 'POST', u('/mfa/recover'), { body: { username, password, recoveryCode: 'none' } });
    await expectMethod('mfa.deactivate', 'POST', u('/mfa/deactivate'), { token: session, body: {} });
    await expectMethod('system.deactivateMfa', 'DELETE', `/system/users/${username}/mfa`, { token: admin });
    await expectMethod('account.requestPasswordReset', 'POST', u('/account/request-password-reset'), {
      body: { appId: TEST_APP_ID },
      headers: { origin: TRUSTED_ORIGIN },
    });
    await expectMethod('account.resetPassword', 'POST', u('/account/reset-password'), {
      body: { appId: TEST_APP_ID, resetToken: 'not-a-token', newPassword: 'another-pass-2' },
      headers: { origin: TRUSTED_ORIGIN },
    });
    await expectMethod('account.changePassword', 'POST', u('/account/change-password'), {
      ...auth,
      body: { oldPassword: password, newPassword: 'bundled-pass-2' },
      status: 200,
    });

    const other = uniqueUsername('bundled');
    await expectMethod('system.createUser', 'POST', '/system/create-user', {
      token: admin,
      body: { username: other, passwordHash: bcrypt.hashSync('other-pass-1', 10), email: `${other}@example.com`, appId: TEST_APP_ID },
      status: 201,
    });
    await expectMethod('system.getUserInfo', 'GET', `/system/user-info/${username}`, { token: admin, status: 200 });

    await expectMethod('events.delete', 'DELETE', u(`/events/${eventId}`), { ...auth, status: 200 });
    await expectMethod('streams.delete', 'DELETE', u('/streams/health'), { ...auth, status: 200 });
    await expectMethod('callBatch', 'POST', u('/'), { ...auth, body: [{ method: 'account.get', params: {} }], status: 200 });
    await expectMethod('auth.logout', 'POST', u('/auth/logout'), { token: session, body: {}, status: 200 });
    await expectMethod('auth.delete', 'DELETE', `/users/${other}`, { token: admin, status: 200 });

    // Every method of the registry was called above: a new method must be added here.
    expect(METHODS.map((m) => m.id).filter((id) => !called.has(id))).toEqual([]);
  });

  it('run a sample of methods through callBatch', async () => {
    // A fresh session (the first test changed the password and logged out).
    const login = await call('POST', u('/auth/login'), {
      body: { username, password: 'bundled-pass-2', appId: TEST_APP_ID },
      headers: { origin: TRUSTED_ORIGIN },
    });
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    token = login.body.token as string;
    const res = await call('POST', u('/'), {
      token,
      body: [
        { method: 'streams.create', params: { id: 'diary', name: 'Diary' } },
        { method: 'events.create', params: { streamIds: ['diary'], type: 'note/txt', content: 'from a batch' } },
        { method: 'events.get', params: { streams: ['diary'] } },
        { method: 'accesses.get', params: {} },
      ],
    });
    expect(res.headers.get('x-local-function')).toBe(functionId('callBatch'));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const results = res.body.results as Array<Record<string, any>>;
    expect(results.map((r) => Object.keys(r).find((k) => k !== 'meta'))).toEqual(['stream', 'event', 'events', 'accesses']);
    expect(results[2]!.events.map((e: { content: string }) => e.content)).toEqual(['from a batch']);
  });

  it('run a sample of methods through a socket, and push changes to it', async () => {
    const socket = io(`${apiUrl()}/${username}/${username}?auth=${encodeURIComponent(token)}`, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
    });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    const emit = (method: string, params: unknown) =>
      new Promise<[any, any]>((resolve) => socket.emit(method, params, (err: unknown, res: unknown) => resolve([err, res])));
    const changed = new Promise<void>((resolve) => socket.once('eventsChanged', () => resolve()));
    const [createErr, createRes] = await emit('events.create', { streamIds: ['diary'], type: 'note/txt', content: 'from a socket' });
    expect(createErr).toBeNull();
    expect(createRes.event.content).toBe('from a socket');
    const [getErr, getRes] = await emit('events.get', { streams: ['diary'] });
    expect(getErr).toBeNull();
    expect(getRes.events.map((e: { content: string }) => e.content).sort()).toEqual(['from a batch', 'from a socket']);
    const [infoErr, info] = await emit('getAccessInfo', {});
    expect(infoErr).toBeNull();
    expect(info.type).toBe('personal');
    await changed; // the fan-out pushed the change through @connections
  });
});

describe('least privilege', () => {
  // Runs after the calls above (tests of a file run in order): every SDK command a function
  // sent during them must be allowed by its role in the template.
  const names = { tableName: 'pryv-main', bucketName: 'pryv-attachments' };

  it('every AWS call a function made is allowed by its role in the template; the grants no call used are listed', () => {
    const assembly = readAssembly(inject('cdkOut'));
    const calls = readCalls(inject('sdkCallLog'));
    const stage = Object.values(assembly.template.Resources).find(
      (r) => r.Type === 'AWS::ApiGatewayV2::Stage' && r.Properties?.StageName !== '$default',
    );
    const webSocketApi = { id: String(stage?.Properties?.ApiId?.Ref), stage: String(stage?.Properties?.StageName) };
    const denied: string[] = [];
    const needsByRole = new Map<string, Need[]>();
    for (const [fnId, fnCalls] of calls) {
      const fn = assembly.functions.get(fnId);
      if (!fn) continue; // the runtime's own parts (the stream readers) are no function of the template
      const statements = roleStatements(assembly, fn.roleId, names);
      for (const call of fnCalls) {
        for (const need of needsOf(call, webSocketApi)) {
          if (!allows(statements, need)) denied.push(`${fnId}: ${need.action} on ${need.resource} (${call.command})`);
          needsByRole.set(fn.roleId, [...(needsByRole.get(fn.roleId) ?? []), need]);
        }
      }
    }
    // The stream readers' dead-letter sends (shared/adapters/dead-letters-sqs.ts) are recorded
    // like any call, but the local runtime has no SQS and sets records aside under its data
    // folder: the send each function with a queue would make is held to its role here.
    const withQueue = [...assembly.functions.values()].filter((fn) => fn.environment.DEAD_LETTER_QUEUE_URL !== undefined);
    expect(withQueue.map((fn) => fn.id).sort()).toEqual(['Fn-export-worker', 'Fn-notify-fanout']);
    for (const fn of withQueue) {
      const queueUrl = resolveArn(fn.environment.DEAD_LETTER_QUEUE_URL, assembly.template, names);
      const send = { client: 'SQSClient', command: 'SendMessageCommand', input: { QueueUrl: queueUrl } };
      for (const need of needsOf(send, webSocketApi)) {
        if (!allows(roleStatements(assembly, fn.roleId, names), need))
          denied.push(`${fn.id}: ${need.action} on ${need.resource} (dead letter)`);
        needsByRole.set(fn.roleId, [...(needsByRole.get(fn.roleId) ?? []), need]);
      }
    }
    expect(denied).toEqual([]);
    // Some API functions made calls: the recorder works (a silent recorder would pass anything).
    expect([...calls.keys()].filter((id) => assembly.functions.has(id)).length).toBeGreaterThan(METHODS.length / 2);
    // The background functions ran from their bundles too: the fan-out (the socket push above),
    // the webhook worker, the export worker (account.export), the service boot message and the
    // ping sweep (every SOCKET_PING_INTERVAL_MS).
    for (const id of ['Fn-notify-fanout', 'Fn-notify-webhook-worker', 'Fn-export-worker', 'Fn-notify-service-boot', 'Fn-ws-ping']) {
      expect(calls.has(id), `${id} made no recorded call`).toBe(true);
    }

    const roles = new Map<string, string[]>();
    for (const fn of assembly.functions.values()) roles.set(fn.roleId, [...(roles.get(fn.roleId) ?? []), fn.id]);
    const unused: UnusedGrant[] = [];
    for (const [roleId, fns] of roles) {
      if (!fns.some((id) => calls.has(id))) continue; // no function of this role ran as a bundle here
      unused.push(...unusedGrants(roleStatements(assembly, roleId, names), needsByRole.get(roleId) ?? [], roleId, fns));
    }
    const lines = unused.map(
      (u) => `${u.role.padEnd(40)} ${String(u.functions.length).padStart(3)} fn  ${u.action.padEnd(32)} ${u.resource}`,
    );
    console.log(
      `Grants no recorded call used (${unused.length}):\n${'role'.padEnd(40)} functions  action${' '.repeat(26)} resource\n${lines.join('\n')}`,
    );
  });
});
