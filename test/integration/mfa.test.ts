import { Secret, TOTP } from 'otpauth';
import { beforeAll, describe, expect, it } from 'vitest';
import { insertAccess } from '../setup/accesses';
import { adminKey, call, createUser, expectError, login, TEST_APP_ID, type TestUser, useRuntimeStore } from '../setup/api';
import { lastMail, mailsFor } from '../setup/mail';

/** The current code of a TOTP secret, `offset` periods away (computed as an authenticator app would). */
const totp = (secret: string, offset = 0) =>
  new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({
    timestamp: Date.now() + offset * 30_000,
  });

const post = (user: { username: string }, step: string, options: { token?: string; body?: unknown } = {}) =>
  call('POST', `/${user.username}/mfa/${step}`, { body: options.body ?? {}, token: options.token });

/** Activates and confirms TOTP MFA; answers the secret and recovery codes. */
async function enableTotp(user: TestUser): Promise<{ secret: string; recoveryCodes: string[] }> {
  const activated = await post(user, 'activate', { token: user.token });
  expect(activated.status).toBe(200);
  const { mfaToken, secret, otpauthUrl } = activated.body;
  expect(typeof mfaToken).toBe('string');
  expect(otpauthUrl).toMatch(/^otpauth:\/\/totp\//);
  expect(new URL(otpauthUrl).searchParams.get('secret')).toBe(secret);
  const confirmed = await post(user, 'confirm', { token: mfaToken, body: { code: totp(secret) } });
  expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
  return { secret, recoveryCodes: confirmed.body.recoveryCodes };
}

// Several password hashes (scrypt, ~50 ms of CPU each) per test: slow when the suite runs in parallel.
describe('MFA (spec §2.13)', { timeout: 90_000 }, () => {
  beforeAll(() => useRuntimeStore());

  it('TOTP: activate → confirm gives 10 recovery codes; login then answers {mfaToken}; verify with a code opens the session', async () => {
    const u = await createUser();
    const { secret, recoveryCodes } = await enableTotp(u);
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);

    const first = await login(u);
    expect(first.status).toBe(200);
    expect(first.body.token).toBeUndefined();
    expect(Object.keys(first.body).filter((k) => k !== 'meta')).toEqual(['mfaToken']);
    const mfaToken = first.body.mfaToken;
    // The mfaToken is no access token.
    expectError(await call('GET', `/${u.username}/access-info`, { token: mfaToken }), 403, 'invalid-access-token');

    expect((await post(u, 'challenge', { token: mfaToken })).body).toMatchObject({ message: 'Please verify the MFA challenge.' });
    // The next period's code (accepted within the ±1 step window): the current one was spent by confirm.
    const verified = await post(u, 'verify', { token: mfaToken, body: { code: totp(secret, 1) } });
    expect(verified.status, JSON.stringify(verified.body)).toBe(200);
    expect(verified.body.apiEndpoint).toContain(verified.body.token);
    const info = await call('GET', `/${u.username}/access-info`, { token: verified.body.token });
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({ type: 'personal', name: TEST_APP_ID });

    // The mfaToken is single-use.
    expectError(await post(u, 'verify', { token: mfaToken, body: { code: totp(secret, 1) } }), 401, 'invalid-access-token');
  });

  it('a TOTP code is accepted once (replay refused), wrong codes → 400 and the mfaToken dies after 5', async () => {
    const u = await createUser();
    const { secret } = await enableTotp(u);
    // The code used for confirm cannot log in again (same time step).
    const a = (await login(u)).body.mfaToken;
    const replay = await post(u, 'verify', { token: a, body: { code: totp(secret) } });
    if (replay.status === 200) {
      // The period turned between confirm and now: that code was a fresh one. Its reuse must fail.
      const b = (await login(u)).body.mfaToken;
      expectError(await post(u, 'verify', { token: b, body: { code: totp(secret) } }), 400, 'invalid-parameters-format');
    } else {
      expectError(replay, 400, 'invalid-parameters-format');
    }
    const c = (await login(u)).body.mfaToken;
    for (let i = 0; i < 3; i++)
      expectError(await post(u, 'verify', { token: c, body: { code: '000000' } }), 400, 'invalid-parameters-format');
    expectError(await post(u, 'verify', { token: c, body: { code: 'abc' } }), 400, 'invalid-parameters-format');
    // 5th wrong code counted: the session is gone, even with a right code after.
    expect((await post(u, 'verify', { token: c, body: { code: '999999' } })).status).not.toBe(200);
  });

  it('bad mfaTokens → 401 invalid-access-token; missing → 401; an activation token cannot verify a login, a login token cannot confirm', async () => {
    const u = await createUser();
    expectError(await post(u, 'verify', { token: 'not-a-token', body: { code: '123456' } }), 401, 'invalid-access-token');
    expectError(await post(u, 'verify', { body: { code: '123456' } }), 401, 'invalid-access-token');
    expectError(await post(u, 'challenge', { token: 'nope' }), 401, 'invalid-access-token');
    const activated = (await post(u, 'activate', { token: u.token })).body;
    expectError(
      await post(u, 'verify', { token: activated.mfaToken, body: { code: totp(activated.secret) } }),
      401,
      'invalid-access-token',
    );
    await post(u, 'confirm', { token: activated.mfaToken, body: { code: totp(activated.secret) } });
    const loginToken = (await login(u)).body.mfaToken;
    expectError(await post(u, 'confirm', { token: loginToken, body: { code: totp(activated.secret) } }), 401, 'invalid-access-token');
    // Another user's mfaToken is unknown under this user.
    const other = await createUser();
    expectError(await post(other, 'verify', { token: loginToken, body: { code: '123456' } }), 401, 'invalid-access-token');
    expectError(await post(u, 'verify', { token: loginToken, body: { code: '1', extra: true } }), 400, 'invalid-parameters-format');
  });

  it('a wrong confirm code → 400 and MFA stays off; activate needs a personal token; activate while active → 400', async () => {
    const u = await createUser();
    const activated = (await post(u, 'activate', { token: u.token })).body;
    expectError(await post(u, 'confirm', { token: activated.mfaToken, body: { code: '000000' } }), 400, 'invalid-parameters-format');
    const plain = await login(u);
    expect(plain.body.token).toBeTruthy();
    expectError(await post(u, 'activate'), 401, 'invalid-access-token');
    await enableTotp(u);
    expectError(await post(u, 'activate', { token: u.token }), 400, 'invalid-operation');
  });

  it('two pending activations: the first confirmed wins, the second cannot replace it', async () => {
    const u = await createUser();
    const one = (await post(u, 'activate', { token: u.token })).body;
    const two = (await post(u, 'activate', { token: u.token })).body;
    expect(one.secret).not.toBe(two.secret);
    expect((await post(u, 'confirm', { token: one.mfaToken, body: { code: totp(one.secret) } })).status).toBe(200);
    expectError(await post(u, 'confirm', { token: two.mfaToken, body: { code: totp(two.secret) } }), 400, 'invalid-operation');
    // The first secret is the one logins need.
    const mfaToken = (await login(u)).body.mfaToken;
    expectError(await post(u, 'verify', { token: mfaToken, body: { code: totp(two.secret, 1) } }), 400, 'invalid-parameters-format');
    expect((await post(u, 'verify', { token: mfaToken, body: { code: totp(one.secret, 1) } })).status).toBe(200);
  });

  it('deactivate (personal token) turns MFA off: login answers a token again; app tokens are refused', async () => {
    const u = await createUser();
    await enableTotp(u);
    expect((await login(u)).body.mfaToken).toBeTruthy();
    const pending = (await login(u)).body.mfaToken;
    const app = await insertAccess(u.username, 'app');
    expectError(await post(u, 'deactivate', { token: app.token }), 403, 'forbidden');
    expectError(await post(u, 'activate', { token: app.token }), 403, 'forbidden');
    expect((await login(u)).body.mfaToken).toBeTruthy();
    const res = await post(u, 'deactivate', { token: u.token });
    expect(res.status).toBe(200);
    expect(res.body.message).toBe('MFA deactivated.');
    const after = await login(u);
    expect(after.body.token).toBeTruthy();
    expect(after.body.mfaToken).toBeUndefined();
    // A login pending from before cannot complete any more.
    expectError(await post(u, 'verify', { token: pending, body: { code: '123456' } }), 401, 'invalid-access-token');
  });

  it('recover: username, password and a recovery code deactivate MFA; wrong ones change nothing', async () => {
    const u = await createUser();
    const { recoveryCodes } = await enableTotp(u);
    const body = (over: Record<string, unknown>) => ({
      username: u.username,
      password: u.password,
      appId: TEST_APP_ID,
      recoveryCode: recoveryCodes[3],
      ...over,
    });
    expectError(await post(u, 'recover', { body: body({ recoveryCode: 'not-a-code' }) }), 400, 'invalid-parameters-format');
    expectError(await post(u, 'recover', { body: body({ password: 'wrong-password' }) }), 401, 'invalid-credentials');
    expectError(await post(u, 'recover', { body: body({ username: 'someone-else' }) }), 400, 'invalid-operation');
    expectError(await post(u, 'recover', { body: { username: u.username } }), 400, 'invalid-parameters-format');
    expect((await login(u)).body.mfaToken).toBeTruthy();
    const ok = await post(u, 'recover', { body: body({ recoveryCode: ` ${recoveryCodes[3]!.toUpperCase()} ` }) });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.message).toBe('MFA deactivated.');
    expect((await login(u)).body.token).toBeTruthy();
    expectError(await post(u, 'recover', { body: body({}) }), 400, 'invalid-operation');
  });

  it('admin route: DELETE /system/users/{username}/mfa → 204 with the admin key; 404 without', async () => {
    const u = await createUser();
    await enableTotp(u);
    expectError(await call('DELETE', `/system/users/${u.username}/mfa`, { token: 'wrong-key' }), 404, 'unknown-resource');
    expect((await login(u)).body.mfaToken).toBeTruthy();
    const res = await call('DELETE', `/system/users/${u.username}/mfa`, { token: adminKey() });
    expect(res.status).toBe(204);
    expect((await login(u)).body.token).toBeTruthy();
    expectError(await call('DELETE', `/system/users/nobody-like-this/mfa`, { token: adminKey() }), 404, 'unknown-resource');
  });

  it('sms method: codes go through the pluggable sender (local mail sink, kind mfa-code); challenge sends a new one', async () => {
    const u = await createUser();
    const activated = await post(u, 'activate', { token: u.token, body: { method: 'sms', phone_number: '+41000000000' } });
    expect(activated.status).toBe(200);
    expect(activated.body.secret).toBeUndefined();
    const code1 = (await lastMail(u.username, 'mfa-code')).meta.code;
    expect(code1).toMatch(/^\d{6}$/);
    const confirmed = await post(u, 'confirm', { token: activated.body.mfaToken, body: { code: code1 } });
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);

    const mfaToken = (await login(u)).body.mfaToken;
    const loginMail = await lastMail(u.username, 'mfa-code', 2);
    expect(loginMail.meta.content).toEqual({ phone_number: '+41000000000' });
    await post(u, 'challenge', { token: mfaToken });
    const resent = (await lastMail(u.username, 'mfa-code', 3)).meta.code;
    // Only the newest code works.
    if (resent !== loginMail.meta.code) {
      expectError(await post(u, 'verify', { token: mfaToken, body: { code: loginMail.meta.code } }), 400, 'invalid-parameters-format');
    }
    const verified = await post(u, 'verify', { token: mfaToken, body: { code: resent } });
    expect(verified.status).toBe(200);
    expect(verified.body.token).toBeTruthy();
    expect(mailsFor(u.username, 'mfa-code')).toHaveLength(3);
  });
});
