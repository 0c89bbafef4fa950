import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRuntime, startLocalRuntime } from '../../infra/local/runtime';
import { resetConfig } from '../../shared/config';
import { deleteAccount } from '../../shared/domain/accounts/deletion';
import { dynamo } from '../../shared/store/clients';
import { QueryCommand, ScanCommand } from '../../shared/store/commands';

/**
 * Account deletion with the user's own personal token (ACCOUNT_DELETION=personalToken), and
 * what happens to the audit log (AUDIT_ON_ACCOUNT_DELETION). These settings are read by the
 * handlers, so this file runs a runtime of its own (in its own worker process, which may
 * own process.env) and changes the audit setting between tests.
 */

let runtime: LocalRuntime;

async function api(verb: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${runtime.url}${path}`, {
    method: verb,
    headers: {
      ...(token ? { authorization: token } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function register(username = `del-${randomBytes(4).toString('hex')}`) {
  const reg = await api('POST', '/users', undefined, {
    username,
    password: 'pw-delete-1',
    email: `${username}@example.com`,
    appId: 'test-app-id',
  });
  expect(reg.status, JSON.stringify(reg.body)).toBe(201);
  const token = new URL(reg.body.apiEndpoint).username;
  // A few audited calls, from a recognisable client.
  const ua = { 'user-agent': 'deletion-test/1' };
  expect((await api('POST', `/${username}/streams`, token, { id: 's', name: 'S' }, ua)).status).toBe(201);
  expect((await api('GET', `/${username}/events`, token, undefined, ua)).status).toBe(200);
  return { username, token, email: `${username}@example.com` };
}

async function partition(pk: string): Promise<Array<Record<string, any>>> {
  const out = await dynamo().send(
    new QueryCommand({
      TableName: 'pryv-main',
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pk },
      ConsistentRead: true,
    }),
  );
  return out.Items ?? [];
}

async function scanPrefix(prefix: string): Promise<Array<Record<string, any>>> {
  const found: Array<Record<string, any>> = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await dynamo().send(
      new ScanCommand({
        TableName: 'pryv-main',
        ExclusiveStartKey: start,
        FilterExpression: 'begins_with(pk, :prefix)', // in the engine: only the matching items come back
        ExpressionAttributeValues: { ':prefix': prefix },
      }),
    );
    found.push(...(out.Items ?? []).filter((i) => String(i.pk).startsWith(prefix)));
    start = out.LastEvaluatedKey;
  } while (start);
  return found;
}

function auditMode(mode: string): void {
  process.env.AUDIT_ON_ACCOUNT_DELETION = mode;
  resetConfig();
}

beforeAll(async () => {
  process.env.LOG_LEVEL ??= 'silent';
  runtime = await startLocalRuntime({ port: 0, env: { ACCOUNT_DELETION: 'personalToken' } });
}, 180_000);
afterAll(async () => {
  await runtime?.stop();
});

describe('DELETE /users/{username} with ACCOUNT_DELETION=personalToken', () => {
  it('the user deletes their own account with their personal token; nothing of theirs is left', async () => {
    auditMode('erase');
    const user = await register();
    const res = await api('DELETE', `/users/${user.username}`, user.token);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.userDeletion).toEqual({ username: user.username });
    expect((await api('GET', `/${user.username}/access-info`, user.token)).status).toBe(404);
    expect(await partition(`USER#${user.username}`)).toEqual([]);
    expect(await partition(`AUDIT#${user.username}`)).toEqual([]); // erase
    expect((await api('GET', `/reg/${user.username}/check_username`)).body.reserved).toBe(false);
  });

  it('refuses the admin key when only personal tokens are enabled, another user’s token, and an app token', async () => {
    const user = await register();
    const other = await register();
    const app = await api('POST', `/${user.username}/accesses`, user.token, {
      type: 'app',
      name: 'some-app',
      permissions: [{ streamId: '*', level: 'manage' }],
    });
    expect(app.status).toBe(201);
    for (const authorization of [runtime.adminKey, other.token, app.body.access.token, undefined]) {
      const res = await api('DELETE', `/users/${user.username}`, authorization);
      expect(res.status).toBe(403);
      expect(res.body.error.id).toBe('invalid-access-token');
    }
    expect((await api('GET', `/${user.username}/access-info`, user.token)).status).toBe(200);
  });

  it('AUDIT_ON_ACCOUNT_DELETION=keep: records kept whole outside the username, unseen by a new account of the same name', async () => {
    auditMode('keep');
    const user = await register();
    const before = await partition(`AUDIT#${user.username}`);
    expect(before.length).toBeGreaterThanOrEqual(2);
    expect((await api('DELETE', `/users/${user.username}`, user.token)).status).toBe(200);
    expect(await partition(`AUDIT#${user.username}`)).toEqual([]);
    const kept = await scanPrefix(`AUDITKEPT#${user.username}#`);
    expect(kept.map((i) => i.id).sort()).toEqual(before.map((i) => i.id).sort());
    expect(kept.every((i) => i.source.ip && i.userAgent === 'deletion-test/1' && typeof i.ttl === 'number')).toBe(true);

    const again = await register(user.username);
    const logs = (await api('GET', `/${again.username}/audit/logs?limit=1000`, again.token)).body.auditLogs as any[];
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.some((l) => before.some((b) => b.id === l.id))).toBe(false);
  });

  it('AUDIT_ON_ACCOUNT_DELETION=pseudonymise: records kept under one pseudonym, without username, IP or user agent, even when retried', async () => {
    auditMode('pseudonymise');
    const user = await register();
    const before = await partition(`AUDIT#${user.username}`);
    // Interrupted after the audit step, then retried through the API.
    await expect(
      deleteAccount(user.username, async (step) => {
        if (step === 'audit') throw new Error('simulated crash');
      }),
    ).rejects.toThrow('simulated crash');
    expect((await api('DELETE', `/users/${user.username}`, runtime.adminKey)).status).toBe(403); // admin key not enabled here
    const account = (await partition(`USER#${user.username}`))[0]!;
    expect(account.sk).toBe('ACCOUNT');
    const pseudonym = account.auditPseudonym as string;
    // The user's token is gone with the accesses: finish as an operator would, by calling the deletion again.
    await deleteAccount(user.username);
    expect(await partition(`USER#${user.username}`)).toEqual([]);
    expect(await partition(`AUDIT#${user.username}`)).toEqual([]);
    const moved = await partition(`AUDITPSEUDO#${pseudonym}`);
    expect(moved.map((i) => i.id).sort()).toEqual(before.map((i) => i.id).sort());
    const text = JSON.stringify(moved);
    expect(text).not.toContain(user.username);
    expect(text).not.toContain('deletion-test/1');
    expect(moved.every((i) => i.source.ip === undefined && i.pseudonym === pseudonym)).toBe(true);
    expect((await scanPrefix('AUDITPSEUDO#')).filter((i) => before.some((b) => b.id === i.id))).toHaveLength(before.length);
  });
});
