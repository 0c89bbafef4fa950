import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRuntime, startLocalRuntime } from '../../infra/local/runtime';
import { openView, signInToAccount } from './account-helpers';
import {
  axeViolations,
  type BrowserSession,
  DESKTOP_VIEWPORT,
  describeViolations,
  launchBrowser,
  newPage,
  PHONE_VIEWPORT,
  screenshot,
} from './browser';

/**
 * Erasing one's own account from the account app. The shared e2e runtime lets only the
 * admin delete accounts (the default), so this file runs a runtime of its own where
 * personal tokens may (ACCOUNT_DELETION) and the audit log is pseudonymised on deletion.
 */

let runtime: LocalRuntime;
let session: BrowserSession;

async function api(verb: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(`${runtime.url}${path}`, {
    method: verb,
    headers: { ...(token ? { authorization: token } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function register() {
  const username = `erase-${randomBytes(4).toString('hex')}`;
  const password = 'pw-erase-me-1';
  const reg = await api('POST', '/users', undefined, { username, password, email: `${username}@example.com`, appId: 'test-app-id' });
  expect(reg.status, JSON.stringify(reg.body)).toBe(201);
  const token = new URL(reg.body.apiEndpoint).username;
  expect((await api('POST', `/${username}/streams`, token, { id: 'diary', name: 'Diary' })).status).toBe(201);
  return { username, password, token };
}

beforeAll(async () => {
  process.env.LOG_LEVEL ??= 'silent';
  runtime = await startLocalRuntime({
    port: 0,
    env: { ACCOUNT_DELETION: 'personalToken', AUDIT_ON_ACCOUNT_DELETION: 'pseudonymise', AUDIT_RETENTION_DAYS: '90' },
  });
  session = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await session?.close();
  await runtime?.stop();
});

describe('account app: erasing the account', () => {
  it('says what erasure keeps, asks for the username, erases; the account is gone', async () => {
    const user = await register();
    const { page, errors } = await newPage(session);
    await signInToAccount(page, runtime.url, user);
    await openView(page, 'data', 'My data');
    await expect(page.locator('#erase-audit').textContent()).resolves.toBe(
      'The record of the calls made to your data (your activity) is kept under a random name, without IP addresses or browser details, and removed 90 days after each call.',
    );
    await screenshot(page, 'account-data-erase-phone');
    for (const viewport of [PHONE_VIEWPORT, DESKTOP_VIEWPORT]) {
      await page.setViewportSize(viewport);
      const violations = await axeViolations(page);
      expect(violations, describeViolations(violations)).toEqual([]);
    }
    await page.setViewportSize(PHONE_VIEWPORT);

    await page.getByLabel('To confirm, type your username').fill('someone-else');
    await page.getByRole('button', { name: 'Erase my account for good' }).click();
    await page.locator('#erase-status.error').getByText(`Type your username, ${user.username}, exactly`).waitFor();
    expect((await api('GET', `/${user.username}/access-info`, user.token)).status).toBe(200); // nothing happened

    await page.getByLabel('To confirm, type your username').fill(user.username);
    await page.getByRole('button', { name: 'Erase my account for good' }).click();
    await page.locator('section[data-state="erased"]:not([hidden])').waitFor();
    await expect(page.locator('#erased-message').textContent()).resolves.toContain(user.username);
    await screenshot(page, 'account-erased-phone');
    const violations = await axeViolations(page);
    expect(violations, describeViolations(violations)).toEqual([]);

    expect((await api('GET', `/${user.username}/access-info`, user.token)).status).toBe(404);
    expect((await api('GET', `/reg/${user.username}/check_username`)).body.reserved).toBe(false);
    // Nothing of the session is left in the tab.
    await page.reload();
    await page.locator('section[data-state="signin"]:not([hidden])').waitFor();
    expect(errors).toEqual([]);
  });
});
