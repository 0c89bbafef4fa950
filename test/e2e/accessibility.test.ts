import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiUrl, call, createUser, type TestUser } from '../setup/api';
import { openView, signInToAccount, waitForView } from './account-helpers';
import {
  axeViolations,
  type BrowserSession,
  DESKTOP_VIEWPORT,
  describeViolations,
  launchBrowser,
  newPage,
  PHONE_VIEWPORT,
  screenshot,
  waitForState,
} from './browser';

/**
 * axe-core on every page and every view of the account app, at phone and desktop widths:
 * no serious or critical violation. Each checked state is saved as a screenshot
 * (test-artifacts/screenshots/a11y-*), to look at the layout on both widths.
 */

const WIDTHS = [
  ['phone', PHONE_VIEWPORT],
  ['desktop', DESKTOP_VIEWPORT],
] as const;

let session: BrowserSession;

beforeAll(async () => {
  session = await launchBrowser();
});

afterAll(async () => {
  await session?.close();
});

async function check(page: Page, name: string): Promise<void> {
  await screenshot(page, `a11y-${name}`);
  const violations = await axeViolations(page);
  expect(violations, `${name}:\n${describeViolations(violations)}`).toEqual([]);
}

/** A user with something in every list: streams, an app with a share it made, a share, a refused call. */
async function furnishedUser(): Promise<TestUser> {
  const user = await createUser();
  const post = async (path: string, token: string, body: unknown) => {
    const res = await call('POST', `/${user.username}/${path}`, { token, body });
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    return res.body;
  };
  await post('streams', user.token, { id: 'health', name: 'Health' });
  await post('streams', user.token, { id: 'weight', name: 'Weight', parentId: 'health' });
  await post('streams', user.token, { id: 'diary', name: 'Diary' });
  const app = await post('accesses', user.token, {
    type: 'app',
    name: 'diary-app',
    permissions: [{ streamId: 'diary', level: 'contribute' }],
  });
  await post('accesses', app.access.token, { name: 'coach', permissions: [{ streamId: 'diary', level: 'read' }], expireAfter: 86400 });
  const share = await post('accesses', user.token, { name: 'for my doctor', permissions: [{ streamId: 'weight', level: 'read' }] });
  expect((await call('GET', `/${user.username}/events?streams=diary`, { token: share.access.token })).status).toBe(403);
  return user;
}

describe.each(WIDTHS)('accessibility (axe-core) on the %s', (width, viewport) => {
  it('login, registration and password reset pages', async () => {
    const { page, errors } = await newPage(session, viewport);
    await page.goto(`${apiUrl()}/www/index.html`);
    await page.locator('main h1').waitFor();
    await check(page, `www-index-${width}`);

    await page.goto(`${apiUrl()}/www/login.html`);
    await waitForState(page, 'signin');
    await page.getByLabel('Username', { exact: true }).fill('nobody-here');
    await page.getByLabel('Password', { exact: true }).fill('wrong-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#signin-status.error').waitFor();
    await check(page, `login-error-${width}`);

    await page.goto(`${apiUrl()}/www/register.html`);
    await waitForState(page, 'form');
    await check(page, `register-${width}`);

    await page.goto(`${apiUrl()}/www/reset-password.html`);
    await waitForState(page, 'request');
    await check(page, `reset-request-${width}`);
    await page.goto(`${apiUrl()}/www/reset-password.html?username=someone-here&resetToken=not-a-real-token`);
    await waitForState(page, 'reset');
    await check(page, `reset-form-${width}`);
    expect(errors).toEqual([]);
  });

  it('consent page: sign-in and consent', async () => {
    const user = await createUser();
    const info = await call('GET', '/reg/service/info');
    const res = await fetch(info.body.access, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        requestingAppId: 'e2e-a11y-app',
        requestedPermissions: [{ streamId: 'steps', level: 'contribute', defaultName: 'Steps' }],
        clientData: { 'app-web-auth:description': { type: 'note/txt', content: 'Counts your steps.' } },
      }),
    });
    const request = (await res.json()) as { authUrl: string };
    const { page, errors } = await newPage(session, viewport);
    await page.goto(request.authUrl);
    await waitForState(page, 'signin');
    await check(page, `consent-signin-${width}`);
    await page.getByLabel('Username', { exact: true }).fill(user.username);
    await page.getByLabel('Password', { exact: true }).fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await waitForState(page, 'consent');
    await check(page, `consent-${width}`);
    expect(errors).toEqual([]);
  });

  it('account app: sign-in and every view', async () => {
    const user = await furnishedUser();
    const { page, errors } = await newPage(session, viewport);
    await page.goto(`${apiUrl()}/account/`);
    await waitForState(page, 'signin');
    await check(page, `account-signin-${width}`);
    await signInToAccount(page, apiUrl(), user);
    await page.locator('#apps-list').getByText('from 127.0.0.1').first().waitFor();
    await check(page, `account-apps-${width}`);
    await page.getByRole('button', { name: 'Share data with someone' }).click();
    await check(page, `account-share-form-${width}`);
    await page.getByText('Ended and revoked accesses').click();

    await openView(page, 'activity', 'Activity');
    await page.locator('#activity-list li.entry.refused').waitFor();
    await check(page, `account-activity-${width}`);

    await openView(page, 'data', 'My data');
    await check(page, `account-data-${width}`);

    await openView(page, 'security', 'Security');
    await check(page, `account-security-${width}`);
    await page.getByRole('button', { name: 'Turn on two-step sign-in' }).click();
    await page.getByRole('img', { name: /QR code/ }).waitFor();
    await check(page, `account-security-mfa-setup-${width}`);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await waitForView(page, 'security');
    expect(errors).toEqual([]);
  });
});

describe('keyboard only', () => {
  it('reaches the sign-in fields, signs in with Enter, and moves between views with visible focus', async () => {
    const user = await furnishedUser();
    const { page } = await newPage(session, DESKTOP_VIEWPORT);
    await page.goto(`${apiUrl()}/account/`);
    await waitForState(page, 'signin');
    // The page puts the focus on its heading; backwards are the brand link and the skip
    // link, forwards the form.
    const focused = async () =>
      page.evaluate('document.activeElement && (document.activeElement.id || document.activeElement.textContent.trim())');
    expect(await focused()).toBe('Sign in to your account');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    expect(await focused()).toBe('Skip to the content');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('username');
    await page.keyboard.type(user.username);
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('password');
    await page.keyboard.type(user.password);
    await page.keyboard.press('Enter');
    await waitForView(page, 'apps');
    expect(await focused()).toBe('apps-view-title'); // the view's heading takes the focus

    // Shift+Tab back to the views' navigation, Enter on "Activity".
    let guard = 0;
    while ((await focused()) !== 'Activity' && guard++ < 20) await page.keyboard.press(guard < 10 ? 'Shift+Tab' : 'Tab');
    expect(await focused()).toBe('Activity');
    // Focus is visible: an outline is drawn around the focused link.
    const outline = await page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
    expect(outline).not.toBe('none');
    await page.keyboard.press('Enter');
    await waitForView(page, 'activity');

    // A revoke confirmation is reachable and cancellable with the keyboard alone.
    await page.goto(`${apiUrl()}/account/#apps`);
    await waitForView(page, 'apps');
    const revoke = page.getByRole('button', { name: 'Revoke “for my doctor”' });
    await revoke.focus();
    await page.keyboard.press('Enter');
    expect(await focused()).toBe('Yes, revoke');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Keep it');
    await page.keyboard.press('Enter');
    expect(await focused()).toBe('Revoke');
  });
});
