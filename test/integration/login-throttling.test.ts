import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRuntime, startLocalRuntime } from '../../infra/local/runtime';
import { LOGIN_MAX_FAILURES_PER_USER } from '../../shared/config';
import { checkLogin, recordLoginFailure, slidingCount, type ThrottleSettings } from '../../shared/domain/accounts/login-throttle';
import { type ApiResponse, call, createUser, expectError, login, TEST_APP_ID, TRUSTED_ORIGIN, useRuntimeStore } from '../setup/api';

const wrong = (username: string) => login({ username, password: 'definitely-not-the-password' });

// Several password hashes (scrypt, ~50 ms of CPU each) per test: slow when the suite runs in parallel.
describe('auth.login brute-force protection: per username (shared runtime)', { timeout: 90_000 }, () => {
  beforeAll(() => useRuntimeStore());

  it(`after ${LOGIN_MAX_FAILURES_PER_USER} failures the account answers 429 too-many-attempts, even to the right password`, async () => {
    const u = await createUser();
    for (let i = 0; i < LOGIN_MAX_FAILURES_PER_USER; i++) expectError(await wrong(u.username), 401, 'invalid-credentials');
    const refused = await login(u);
    expectError(refused, 429, 'too-many-attempts');
    expect(refused.body.error.data.retryAfterSeconds).toBeGreaterThan(0);
    expect(refused.body.token).toBeUndefined();
    // The right password did not end the cool-down.
    expectError(await login(u), 429, 'too-many-attempts');
    expectError(await wrong(u.username), 429, 'too-many-attempts');
    // Other accounts (from the same address) are not affected, and the account's tokens still work.
    const other = await createUser();
    expect((await login(other)).status).toBe(200);
    expect((await call('GET', `/${u.username}/access-info`, { token: u.token })).status).toBe(200);
  });

  it('successful logins count nothing: many logins then fewer failures than the threshold still answer 401', async () => {
    const u = await createUser();
    for (let i = 0; i < LOGIN_MAX_FAILURES_PER_USER + 2; i++) expect((await login(u)).status).toBe(200);
    for (let i = 0; i < LOGIN_MAX_FAILURES_PER_USER - 1; i++) expectError(await wrong(u.username), 401, 'invalid-credentials');
    expect((await login(u)).status).toBe(200);
  });

  it('refusals before any password check (untrusted app, missing fields) count nothing', async () => {
    const u = await createUser();
    for (let i = 0; i < LOGIN_MAX_FAILURES_PER_USER + 1; i++) {
      const res = await call('POST', `/${u.username}/auth/login`, {
        body: { username: u.username, password: 'nope-nope', appId: TEST_APP_ID },
        headers: { origin: 'https://evil.example.com' },
      });
      expectError(res, 401, 'invalid-credentials');
    }
    expect((await login(u)).status).toBe(200);
  });

  it('the cool-down ends after LOGIN_COOLDOWN_S; counts slide out of the window (domain, with given times)', async () => {
    const settings: ThrottleSettings = { maxPerUser: 3, maxPerIp: 0, windowS: 900, cooldownS: 600 };
    const username = `throttle-domain-${Date.now()}`;
    const t0 = 1_000_000 * 900 + 100; // start of a window + 100 s
    for (let i = 0; i < 3; i++) {
      const { retryAfterS, check } = await checkLogin(username, undefined, t0 + i, settings);
      expect(retryAfterS).toBe(0);
      await recordLoginFailure(check);
    }
    expect((await checkLogin(username, undefined, t0 + 10, settings)).retryAfterS).toBe(600 - 8);
    expect((await checkLogin(username, undefined, t0 + 2 + 600 + 1, settings)).retryAfterS).toBe(0);
    // Next window, 90 s in: the 3 earlier failures (at +100 s … +102 s of the last one) are
    // still within 900 s, so one more failure makes 4 ≥ 3 and locks again.
    const t1 = (1_000_000 + 1) * 900 + 90;
    const { check } = await checkLogin(username, undefined, t1, settings);
    expect(check.states.get(`user#${username}`)?.previousFailures).toBe(3);
    await recordLoginFailure(check);
    expect((await checkLogin(username, undefined, t1 + 1, settings)).retryAfterS).toBeGreaterThan(0);
  });

  it("slidingCount counts the previous window's failures that are less than a window old, in full", () => {
    const start = 900 * 10; // a window boundary
    const previous = [start - 1, start - 2, start - 800]; // failures just before it, and one older
    expect(slidingCount(2, previous, start, 900)).toBe(5); // a burst across the boundary counts whole
    expect(slidingCount(2, previous, start + 150, 900)).toBe(4); // start - 800 is now over 900 s old
    expect(slidingCount(0, previous, start + 899, 900)).toBe(0);
  });
});

describe('auth.login brute-force protection: per client IP (own runtime, so the shared one stays unlocked)', () => {
  let runtime: LocalRuntime;
  const PER_IP = 3;
  beforeAll(async () => {
    runtime = await startLocalRuntime({
      port: 0,
      dataDir: undefined,
      env: { LOGIN_MAX_FAILURES_PER_IP: String(PER_IP), LOGIN_MAX_FAILURES_PER_USER: '100' },
    });
  }, 180_000);
  afterAll(async () => {
    await runtime?.stop();
  });

  async function post(path: string, body: unknown): Promise<ApiResponse> {
    const res = await fetch(`${runtime.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: TRUSTED_ORIGIN },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: await res.json() };
  }
  const register = async (username: string) =>
    expect(
      (await post('/users', { username, password: 'right-password', email: `${username}@example.com`, appId: TEST_APP_ID })).status,
    ).toBe(201);
  const tryLogin = (username: string, password: string) => post(`/${username}/auth/login`, { username, password, appId: TEST_APP_ID });

  it(`failures spread over accounts from one address lock that address after ${PER_IP}; logins do not count`, async () => {
    const names = ['ip-victim-a', 'ip-victim-b', 'ip-victim-c', 'ip-victim-d'];
    for (const n of names) await register(n);
    // Many successful logins from the address first: they do not count.
    for (let i = 0; i < PER_IP + 1; i++) expect((await tryLogin(names[3]!, 'right-password')).status).toBe(200);
    for (let i = 0; i < PER_IP; i++) expectError(await tryLogin(names[i]!, 'wrong-password'), 401, 'invalid-credentials');
    // Now every account is refused from this address, right password or not.
    expectError(await tryLogin(names[3]!, 'right-password'), 429, 'too-many-attempts');
    expectError(await tryLogin(names[0]!, 'right-password'), 429, 'too-many-attempts');
  }, 120_000); // a dozen password hashes on a runtime of its own: slow when the machine is busy
});
