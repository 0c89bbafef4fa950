import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiUrl, call, createUser, type TestUser } from '../setup/api';
import { type BrowserSession, launchBrowser, newPage, screenshot, waitForState } from './browser';

/**
 * The second sign-in step of an MFA-enabled account (spec §2.13) on the real pages:
 * auth.login answers `{mfaToken}`, the page asks for the code and completes with mfa.verify.
 */

const TOTP_PERIOD_MS = 30_000;

let session: BrowserSession;

beforeAll(async () => {
  session = await launchBrowser();
});

afterAll(async () => {
  await session?.close();
});

/** Turns TOTP MFA on for a user (activate + confirm, as an authenticator app user would); returns a code maker. */
async function withTotp(user: TestUser): Promise<(offsetSteps: number) => string> {
  const activated = await call('POST', `/${user.username}/mfa/activate`, { token: user.token, body: {} });
  expect(activated.status, JSON.stringify(activated.body)).toBeLessThan(400);
  const totp = new TOTP({ secret: Secret.fromBase32(activated.body.secret), digits: 6, period: 30 });
  const code = (offsetSteps: number) => totp.generate({ timestamp: Date.now() + offsetSteps * TOTP_PERIOD_MS });
  const confirmed = await call('POST', `/${user.username}/mfa/confirm`, { token: activated.body.mfaToken, body: { code: code(0) } });
  expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
  return code;
}

async function signIn(page: import('playwright-core').Page, user: TestUser): Promise<void> {
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe('MFA step on the pages', () => {
  it('login page: password, then a wrong code is refused, the right code signs in', async () => {
    const user = await createUser();
    const code = await withTotp(user);
    const { page, errors } = await newPage(session);
    await page.goto(`${apiUrl()}/www/login.html`);
    await waitForState(page, 'signin');
    await signIn(page, user);
    await page.waitForSelector('#mfa-form:not([hidden])');
    await screenshot(page, 'mfa-1-code');
    await expect(page.locator('#signin-form').isVisible()).resolves.toBe(false);
    const valid = new Set([-1, 0, 1, 2].map(code));
    await page.getByLabel('Code').fill(['000000', '111111', '222222', '333333', '444444'].find((c) => !valid.has(c))!);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.locator('#mfa-status.error').waitFor();
    await expect(page.locator('#mfa-status').textContent()).resolves.toContain('not valid');
    await screenshot(page, 'mfa-2-wrong-code');
    // The next step's code: the current one was spent on confirmation (replays are refused).
    await page.getByLabel('Code').fill(code(1));
    await page.getByRole('button', { name: 'Verify' }).click();
    await waitForState(page, 'signed-in');
    await screenshot(page, 'mfa-3-signed-in');
    // Signing out brings back the password form, not the spent code step.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await waitForState(page, 'signin');
    await expect(page.getByLabel('Password', { exact: true }).isVisible()).resolves.toBe(true);
    await expect(page.locator('#mfa-form').isVisible()).resolves.toBe(false);
    expect(errors).toEqual([]);
  });

  it('consent page: the MFA step, then the consent; the app gets its token', async () => {
    const user = await createUser();
    const code = await withTotp(user);
    const info = await call('GET', '/reg/service/info');
    const res = await fetch(info.body.access, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        requestingAppId: 'e2e-mfa-app',
        requestedPermissions: [{ streamId: 'steps', level: 'contribute', defaultName: 'Steps' }],
      }),
    });
    const request = (await res.json()) as { authUrl: string; poll: string };
    const { page } = await newPage(session);
    await page.goto(request.authUrl);
    await waitForState(page, 'signin');
    await signIn(page, user);
    await page.waitForSelector('#mfa-form:not([hidden])');
    await page.getByLabel('Code').fill(code(1));
    await page.getByRole('button', { name: 'Verify' }).click();
    await waitForState(page, 'consent');
    await expect(page.locator('#permissions li').first().textContent()).resolves.toContain('Steps');
    await page.getByRole('button', { name: 'Accept' }).click();
    await waitForState(page, 'done');
    const polled = (await (await fetch(request.poll)).json()) as { status: string; token: string };
    expect(polled.status).toBe('ACCEPTED');
    const write = await call('POST', `/${user.username}/events`, {
      token: polled.token,
      body: { streamIds: ['steps'], type: 'count/steps', content: 100 },
    });
    expect(write.status).toBe(201);
  });
});
