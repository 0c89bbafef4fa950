import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRuntime, startLocalRuntime } from '../../infra/local/runtime';
import { verifyAccountIntegrity } from '../../shared/domain/integrity/verify';
import { dynamo, table } from '../../shared/store/clients';
import { GetCommand } from '../../shared/store/commands';
import { keys } from '../../shared/store/keys';

/**
 * INTEGRITY=off (README "Integrity"): events and accesses are written without `integrity`,
 * answers carry none, attachments keep their file hash, and the verifier counts the items as
 * missing, not as mismatches. A runtime of this file's own (it runs in its own worker
 * process, so it may own process.env).
 */
describe('INTEGRITY=off', () => {
  let runtime: LocalRuntime;
  let username: string;
  let token: string;
  const api = async (verb: string, path: string, body?: unknown, status = 200) => {
    const res = await fetch(`${runtime.url}/${username}${path}`, {
      method: verb,
      headers: { authorization: token, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as any;
    expect(res.status, JSON.stringify(json)).toBe(status);
    return json;
  };

  beforeAll(async () => {
    runtime = await startLocalRuntime({ port: 0, env: { INTEGRITY: 'off', LOG_LEVEL: 'silent' } });
    username = `no-integrity-${randomBytes(4).toString('hex')}`;
    const reg = await fetch(`${runtime.url}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: 'pw-no-integrity', email: `${username}@example.com`, appId: 'test-app-id' }),
    });
    expect(reg.status).toBe(201);
    token = new URL(((await reg.json()) as any).apiEndpoint).username;
  }, 240_000);

  afterAll(async () => {
    await runtime?.stop();
  });

  it('writes events and accesses without integrity; attachments keep their file hash; the verifier counts them as missing', async () => {
    await api('POST', '/streams', { id: 'diary', name: 'Diary' }, 201);
    const created = (await api('POST', '/events', { streamIds: ['diary'], type: 'note/txt', content: 'x' }, 201)).event;
    expect(created).not.toHaveProperty('integrity');
    const updated = (await api('PUT', `/events/${created.id}`, { content: 'y' })).event;
    expect(updated).not.toHaveProperty('integrity');
    const stored = await dynamo().send(new GetCommand({ TableName: table(), Key: keys.eventHead(username, created.id) }));
    expect(stored.Item).toBeDefined();
    expect(stored.Item).not.toHaveProperty('integrity');

    const form = new FormData();
    form.append('event', JSON.stringify({ streamIds: ['diary'], type: 'picture/attached' }));
    form.append('file', new Blob([new Uint8Array(Buffer.from('bytes'))], { type: 'text/plain' }), 'f.txt');
    const withFile = (await (
      await fetch(`${runtime.url}/${username}/events`, { method: 'POST', headers: { authorization: token }, body: form })
    ).json()) as any;
    expect(withFile.event).not.toHaveProperty('integrity');
    expect(withFile.event.attachments[0].integrity).toMatch(/^sha256-/);

    const access = (
      await api('POST', '/accesses', { type: 'shared', name: 'share', permissions: [{ streamId: 'diary', level: 'read' }] }, 201)
    ).access;
    expect(access).not.toHaveProperty('integrity');
    for (const a of (await api('GET', '/accesses')).accesses) expect(a).not.toHaveProperty('integrity');

    // The runtime set this process's store settings (its own worker): the verifier reads the same table.
    const report = await verifyAccountIntegrity(username);
    expect(report.writesIntegrity).toBe(false);
    expect(report.mismatches).toEqual([]);
    // 2 events, 1 previous version, the 5 account values registration wrote (email, language, appId, two storage
    // counters); the personal access and the share.
    expect(report.checked).toEqual({ events: 8, accesses: 2 });
    expect(report.missing).toBe(10);
  }, 60_000);
});
