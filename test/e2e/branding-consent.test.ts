import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiUrl, call, createUser } from '../setup/api';
import { type BrowserSession, launchBrowser, newPage, screenshot, waitForState } from './browser';

/**
 * Branding and trust on the pages (service name, logo, links from service info) and the
 * consent page's "where from" and "Not you? Switch account".
 */

let session: BrowserSession;

beforeAll(async () => {
  session = await launchBrowser();
});

afterAll(async () => {
  await session?.close();
});

async function signIn(page: Page, user: { username: string; password: string }): Promise<void> {
  await page.getByLabel('Username', { exact: true }).fill(user.username);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe('branding on every page', () => {
  it('shows the service name, its logo and the terms, privacy and support links from service info', async () => {
    const info = (await call('GET', '/reg/service/info')).body;
    const { page, errors } = await newPage(session);
    for (const path of ['/www/index.html', '/www/login.html', '/www/register.html', '/www/reset-password.html', '/account/']) {
      await page.goto(`${apiUrl()}${path}`);
      await page.locator('.site-header [data-brand="name"]').getByText(info.name, { exact: true }).waitFor();
      expect(await page.title(), path).toContain(info.name);
      const logo = page.locator('.site-header img[data-brand="logo"]');
      expect(await logo.getAttribute('src'), path).toBe(info.branding.logo);
      // The logo has loaded (same origin, allowed by the CSP).
      expect(
        await page.evaluate(
          "(() => { const img = document.querySelector('.site-header img[data-brand=logo]'); return img.complete && img.naturalWidth > 0; })()",
        ),
        path,
      ).toBe(true);
      const footer = page.getByRole('contentinfo');
      expect(await footer.getByRole('link', { name: 'Terms of use' }).getAttribute('href'), path).toBe(new URL(info.terms).toString());
      expect(await footer.getByRole('link', { name: 'Privacy policy' }).getAttribute('href'), path).toBe(new URL(info.privacy).toString());
      expect(await footer.getByRole('link', { name: 'Support' }).getAttribute('href'), path).toBe(new URL(info.support).toString());
      // The accent colour comes from service info, applied without an inline style attribute.
      expect(await page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()"), path).toBe(
        info.branding.accentColor,
      );
    }
    expect(errors).toEqual([]);
  });
});

describe('consent page: where from, and switching account', () => {
  it('says where the app sends the user back; "Not you?" signs out and the other account answers', async () => {
    const wrong = await createUser();
    const right = await createUser();
    const info = (await call('GET', '/reg/service/info')).body;
    const returnURL = `${apiUrl()}/www/index.html?from=diary`;
    const res = await fetch(info.access, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        requestingAppId: 'e2e-switch-app',
        requestedPermissions: [{ streamId: 'diary', level: 'read', defaultName: 'Diary' }],
        returnURL,
      }),
    });
    const request = (await res.json()) as { authUrl: string; poll: string };
    const { page, errors } = await newPage(session);
    await page.goto(request.authUrl);
    await waitForState(page, 'signin');
    await expect(page.locator('section[data-state="signin"]').textContent()).resolves.toContain(
      `When you answer, you go back to ${apiUrl()}/www/index.html.`,
    );

    await signIn(page, wrong);
    await waitForState(page, 'consent');
    await expect(page.locator('section[data-state="consent"]').textContent()).resolves.toContain(`Not ${wrong.username}?`);
    await screenshot(page, 'access-8-not-you');
    const wrongSession = (
      await call('POST', `/${wrong.username}/auth/login`, {
        body: { username: wrong.username, password: wrong.password, appId: 'pryv-web-pages' },
        headers: { origin: apiUrl() },
      })
    ).body.token as string; // the same session the page holds (one per user and app id)
    await page.getByRole('button', { name: 'Switch account' }).click();
    await waitForState(page, 'signin');
    await expect(page.locator('#signin-status').textContent()).resolves.toBe('Signed out. Sign in with your own account.');
    expect((await call('GET', `/${wrong.username}/access-info`, { token: wrongSession })).status).toBe(403);

    await signIn(page, right);
    await waitForState(page, 'consent');
    await page.getByRole('button', { name: 'Accept' }).click();
    await page.waitForURL((url) => url.pathname === '/www/index.html');
    const polled = (await (await fetch(request.poll)).json()) as { status: string; username: string };
    expect(polled).toMatchObject({ status: 'ACCEPTED', username: right.username });
    const wrongApps = await call('POST', `/${wrong.username}/auth/login`, {
      body: { username: wrong.username, password: wrong.password, appId: 'pryv-web-pages' },
      headers: { origin: apiUrl() },
    });
    const accesses = await call('GET', `/${wrong.username}/accesses`, { token: wrongApps.body.token });
    expect(accesses.body.accesses.filter((a: { type: string }) => a.type === 'app')).toEqual([]); // nothing given by the wrong account
    expect(errors).toEqual([]);
  });
});
