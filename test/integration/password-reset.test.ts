import { beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD_RESET_MAX_REQUESTS_PER_HOUR } from '../../shared/config';
import { hashResetToken } from '../../shared/domain/accounts/password-reset';
import { putPasswordReset } from '../../shared/store/password-resets';
import { call, createUser, expectError, login, TEST_APP_ID, TRUSTED_ORIGIN, useRuntimeStore } from '../setup/api';
import { lastMail, mailsFor } from '../setup/mail';

const request = (username: string, body: unknown = { appId: TEST_APP_ID }, origin: string | null = TRUSTED_ORIGIN) =>
  call('POST', `/${username}/account/request-password-reset`, { body, headers: origin ? { origin } : {} });
const reset = (username: string, body: unknown, origin: string | null = TRUSTED_ORIGIN) =>
  call('POST', `/${username}/account/reset-password`, { body, headers: origin ? { origin } : {} });

// Several password hashes (scrypt, ~50 ms of CPU each) per test: slow when the suite runs in parallel.
describe('password reset (spec §2.8)', { timeout: 90_000 }, () => {
  beforeAll(() => useRuntimeStore());

  it('mails a single-use token whose link opens the reset page; the token sets the new password once', async () => {
    const u = await createUser();
    const res = await request(u.username);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({});
    const mail = await lastMail(u.username, 'password-reset');
    expect(mail.to).toBe(u.email);
    const token = mail.meta.resetToken as string;
    expect(token.length).toBeGreaterThanOrEqual(32);
    const link = new URL(mail.meta.resetUrl);
    expect(link.pathname).toBe('/www/reset-password.html');
    expect(link.searchParams.get('username')).toBe(u.username);
    expect(link.searchParams.get('resetToken')).toBe(token);
    expect(mail.text).toContain(link.toString());

    const ok = await reset(u.username, { resetToken: token, newPassword: 'after-reset-pw', appId: TEST_APP_ID });
    expect(ok.status).toBe(200);
    expect((await login({ username: u.username, password: 'after-reset-pw' })).status).toBe(200);
    expectError(await login({ username: u.username, password: u.password }), 401, 'invalid-credentials');

    // Replayed: refused, and the password stays the one set.
    const replay = await reset(u.username, { resetToken: token, newPassword: 'another-pw-1', appId: TEST_APP_ID });
    expectError(replay, 401, 'invalid-access-token');
    expect((await login({ username: u.username, password: 'after-reset-pw' })).status).toBe(200);
  });

  it('two racing uses of one token: exactly one succeeds', async () => {
    const u = await createUser();
    await request(u.username);
    const token = (await lastMail(u.username, 'password-reset')).meta.resetToken;
    const results = await Promise.all(
      ['race-pw-aaaa', 'race-pw-bbbb', 'race-pw-cccc'].map((newPassword) =>
        reset(u.username, { resetToken: token, newPassword, appId: TEST_APP_ID }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401]);
    const winner = ['race-pw-aaaa', 'race-pw-bbbb', 'race-pw-cccc'][results.findIndex((r) => r.status === 200)]!;
    expect((await login({ username: u.username, password: winner })).status).toBe(200);
  });

  it('a wrong token, an expired token or a token of another user → 401 invalid-access-token, password unchanged', async () => {
    const u = await createUser();
    const other = await createUser();
    expectError(
      await reset(u.username, { resetToken: 'not-a-token', newPassword: 'whatever-pw', appId: TEST_APP_ID }),
      401,
      'invalid-access-token',
    );

    const expired = 'expired-token-for-test-0123456789abcdef';
    const now = Date.now() / 1000;
    await putPasswordReset(u.username, hashResetToken(expired), now - 7200, now - 3600);
    expectError(
      await reset(u.username, { resetToken: expired, newPassword: 'whatever-pw', appId: TEST_APP_ID }),
      401,
      'invalid-access-token',
    );

    await request(other.username);
    const otherToken = (await lastMail(other.username, 'password-reset')).meta.resetToken;
    expectError(
      await reset(u.username, { resetToken: otherToken, newPassword: 'whatever-pw', appId: TEST_APP_ID }),
      401,
      'invalid-access-token',
    );

    expect((await login(u)).status).toBe(200);
    // The other user's token was not consumed by the failed attempt on u.
    expect((await reset(other.username, { resetToken: otherToken, newPassword: 'other-new-pw', appId: TEST_APP_ID })).status).toBe(200);
  });

  it('an earlier token still works after a second request (each mail is usable once)', async () => {
    const u = await createUser();
    await request(u.username);
    await request(u.username);
    const mails = mailsFor(u.username, 'password-reset');
    expect(mails).toHaveLength(2);
    expect(mails[0]!.meta.resetToken).not.toBe(mails[1]!.meta.resetToken);
    expect(
      (await reset(u.username, { resetToken: mails[0]!.meta.resetToken, newPassword: 'first-mail-pw', appId: TEST_APP_ID })).status,
    ).toBe(200);
  });

  it('refuses untrusted or missing origins and app ids with 401 invalid-credentials, sending no mail', async () => {
    const u = await createUser();
    expectError(await request(u.username, { appId: TEST_APP_ID }, 'https://evil.example.com'), 401, 'invalid-credentials');
    expectError(await request(u.username, { appId: TEST_APP_ID }, null), 401, 'invalid-credentials');
    expectError(await request(u.username, {}), 401, 'invalid-credentials');
    expect(mailsFor(u.username)).toHaveLength(0);
    await request(u.username);
    const token = (await lastMail(u.username, 'password-reset')).meta.resetToken;
    expectError(
      await reset(u.username, { resetToken: token, newPassword: 'new-pw-123', appId: TEST_APP_ID }, 'https://evil.example.com'),
      401,
      'invalid-credentials',
    );
    // The refused call did not consume the token.
    expect((await reset(u.username, { resetToken: token, newPassword: 'new-pw-123', appId: TEST_APP_ID })).status).toBe(200);
  });

  it('bad parameters → 400 invalid-parameters-format, token not consumed', async () => {
    const u = await createUser();
    await request(u.username);
    const token = (await lastMail(u.username, 'password-reset')).meta.resetToken;
    expectError(await reset(u.username, { resetToken: token, newPassword: '123', appId: TEST_APP_ID }), 400, 'invalid-parameters-format');
    expectError(await reset(u.username, { newPassword: 'long-enough', appId: TEST_APP_ID }), 400, 'invalid-parameters-format');
    expectError(
      await reset(u.username, { resetToken: token, newPassword: 'long-enough', appId: TEST_APP_ID, extra: 1 }),
      400,
      'invalid-parameters-format',
    );
    // `username` is accepted (the pryv library sends it) only when it names the path's user.
    expectError(await request(u.username, { appId: TEST_APP_ID, username: 'x' }), 400, 'invalid-operation');
    expect((await reset(u.username, { resetToken: token, newPassword: 'long-enough', appId: TEST_APP_ID })).status).toBe(200);
  });

  it('at most PASSWORD_RESET_MAX_REQUESTS_PER_HOUR requests (mails) per account and hour, then 429 too-many-attempts', async () => {
    const u = await createUser();
    const results = [];
    for (let i = 0; i < PASSWORD_RESET_MAX_REQUESTS_PER_HOUR + 2; i++) results.push((await request(u.username)).status);
    // A window may end during the loop: then more pass. Never more than twice the limit, and the excess is refused.
    const passed = results.filter((s) => s === 200).length;
    expect(passed).toBeGreaterThanOrEqual(PASSWORD_RESET_MAX_REQUESTS_PER_HOUR);
    if (passed === PASSWORD_RESET_MAX_REQUESTS_PER_HOUR) {
      const refused = await request(u.username);
      expectError(refused, 429, 'too-many-attempts');
      expect(refused.body.error.data.retryAfterSeconds).toBeGreaterThan(0);
    }
    expect(mailsFor(u.username, 'password-reset')).toHaveLength(passed);
    // Other accounts are not affected.
    expect((await request((await createUser()).username)).status).toBe(200);
  });

  it('an unknown user → 404 unknown-resource (as every route with a user in its path), no mail', async () => {
    const res = await request('nobody-here-at-all');
    expectError(res, 404, 'unknown-resource');
    expect(mailsFor('nobody-here-at-all')).toHaveLength(0);
  });
});
