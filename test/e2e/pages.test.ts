import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiUrl, call, createUser, type TestUser } from '../setup/api';
import { lastMail } from '../setup/mail';
import { type BrowserSession, launchBrowser, newPage, screenshot, waitForState } from './browser';

/**
 * The web pages end to end in headless Chromium against the real local runtime: an app's
 * access request through the consent page, registration then sign-in, password reset
 * through the mail sink. Each page state is saved under test-artifacts/screenshots/.
 */

const APP_ID = 'e2e-diary-app';
const PERMISSIONS = [{ streamId: 'diary', level: 'read', defaultName: 'Diary' }];

let session: BrowserSession;

beforeAll(async () => {
  session = await launchBrowser();
});

afterAll(async () => {
  await session?.close();
});

/** What an app does first (as pryv.Auth does): POST {service.access}. */
async function requestAccess(extra: Record<string, unknown> = {}): Promise<{ key: string; authUrl: string; poll: string }> {
  const info = await call('GET', '/reg/service/info');
  const res = await fetch(info.body.access, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ requestingAppId: APP_ID, requestedPermissions: PERMISSIONS, ...extra }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { key: string; authUrl: string; poll: string };
}

async function poll(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

async function signIn(page: Page, user: { username: string; password: string }): Promise<void> {
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function userWithOtherStream(): Promise<TestUser> {
  const user = await createUser();
  await call('POST', `/${user.username}/streams`, { token: user.token, body: { id: 'other', name: 'Other things' } });
  await call('POST', `/${user.username}/events`, {
    token: user.token,
    body: { streamIds: ['other'], type: 'note/txt', content: 'private' },
  });
  return user;
}

describe('consent page (access requests)', () => {
  it('signs the user in, lists the permissions in plain words, accepts; the polled token reads the granted stream only', async () => {
    const user = await userWithOtherStream();
    const request = await requestAccess();
    const { page, errors } = await newPage(session);
    await page.goto(request.authUrl);
    await waitForState(page, 'signin');
    await expect(page.locator('section[data-state="signin"]').textContent()).resolves.toContain(APP_ID);
    await screenshot(page, 'access-1-signin');

    await signIn(page, user);
    await waitForState(page, 'consent');
    const item = page.locator('#permissions li');
    await expect(item.count()).resolves.toBe(1);
    const text = await item.first().textContent();
    expect(text).toContain('Read');
    expect(text).toContain('Diary');
    expect(text).toContain('new');
    expect(text).toContain('diary');
    await screenshot(page, 'access-2-consent');

    // Still pending while the user reads.
    expect((await poll(request.poll)).body.status).toBe('NEED_SIGNIN');
    await page.getByRole('button', { name: 'Accept' }).click();
    await waitForState(page, 'done');
    await expect(page.locator('#done-title').textContent()).resolves.toBe('Access given');
    await screenshot(page, 'access-3-accepted');

    const result = await poll(request.poll);
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ status: 'ACCEPTED', username: user.username });
    const appToken = result.body.token as string;
    await call('POST', `/${user.username}/events`, {
      token: user.token,
      body: { streamIds: ['diary'], type: 'note/txt', content: 'dear diary' },
    });
    const events = await call('GET', `/${user.username}/events`, { token: appToken });
    expect(events.body.events.map((e: any) => e.content)).toEqual(['dear diary']);
    const other = await call('GET', `/${user.username}/events?streams=other`, { token: appToken });
    expect(other.status).toBe(403);
    expect(errors).toEqual([]);
  });

  it('refusal: REFUSED for the app, nothing created', async () => {
    const user = await userWithOtherStream();
    const request = await requestAccess();
    const { page, errors } = await newPage(session);
    await page.goto(request.authUrl);
    await waitForState(page, 'signin');
    await signIn(page, user);
    await waitForState(page, 'consent');
    await page.getByRole('button', { name: 'Refuse', exact: true }).click();
    await waitForState(page, 'done');
    await expect(page.locator('#done-title').textContent()).resolves.toBe('Access refused');
    await screenshot(page, 'access-4-refused');

    const result = await poll(request.poll);
    expect(result.status).toBe(403);
    expect(result.body.status).toBe('REFUSED');
    expect(result.body.token).toBeUndefined();
    const streams = await call('GET', `/${user.username}/streams`, { token: user.token });
    // The user's own streams (the personal token also reads the account's system tree, ids starting with ':').
    expect(streams.body.streams.map((s: any) => s.id).filter((id: string) => !id.startsWith(':'))).toEqual(['other']);
    const accesses = await call('GET', `/${user.username}/accesses`, { token: user.token });
    expect(accesses.body.accesses.filter((a: any) => a.type === 'app')).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('redirects to the returnURL with the poll URL when the request asks for it', async () => {
    const user = await createUser();
    const returnURL = `${apiUrl()}/www/index.html?from=app&`;
    const request = await requestAccess({ returnURL });
    const { page } = await newPage(session);
    await page.goto(request.authUrl);
    await waitForState(page, 'signin');
    await signIn(page, user);
    await waitForState(page, 'consent');
    await page.getByRole('button', { name: 'Accept' }).click();
    await page.waitForURL((url) => url.pathname === '/www/index.html');
    const landed = new URL(page.url());
    expect(landed.searchParams.get('from')).toBe('app');
    expect(landed.searchParams.get('prYvkey')).toBe(request.key);
    expect(landed.searchParams.get('prYvstatus')).toBe('ACCEPTED');
    expect(landed.searchParams.get('prYvpoll')).toBe(request.poll);
    expect(page.url()).not.toContain((await poll(request.poll)).body.token); // the token travels by the poll only
  });

  it('opened as a popup by the app: closes itself once answered; a second request for the same access says it is already given', async () => {
    const user = await createUser();
    const { page } = await newPage(session);
    await page.goto(`${apiUrl()}/www/index.html`); // stands for the app's own page
    const first = await requestAccess({ deviceName: 'e2e-phone' });
    const [popup] = await Promise.all([
      page.waitForEvent('popup'),
      page.evaluate(`void window.open(${JSON.stringify(first.authUrl)}, 'prYv Sign-in')`),
    ]);
    await waitForState(popup, 'signin');
    await signIn(popup, user);
    await waitForState(popup, 'consent');
    await expect(popup.locator('#consent-extra').textContent()).resolves.toContain('e2e-phone');
    await popup.getByRole('button', { name: 'Accept' }).click();
    await popup.waitForEvent('close');
    const token = (await poll(first.poll)).body.token as string;

    const second = await requestAccess({ deviceName: 'e2e-phone' });
    const { page: again } = await newPage(session);
    await again.goto(second.authUrl);
    await waitForState(again, 'signin');
    await signIn(again, user);
    await waitForState(again, 'consent');
    await expect(again.locator('#consent-existing').isVisible()).resolves.toBe(true);
    await expect(again.locator('#permissions li').first().textContent()).resolves.toContain('Diary');
    await screenshot(again, 'access-7-already-given');
    await again.getByRole('button', { name: 'Accept' }).click();
    await waitForState(again, 'done');
    expect((await poll(second.poll)).body.token).toBe(token);
  });

  it('a wrong password shows an error and keeps the request pending', async () => {
    const user = await createUser();
    const request = await requestAccess();
    const { page } = await newPage(session);
    await page.goto(request.authUrl);
    await waitForState(page, 'signin');
    await signIn(page, { username: user.username, password: 'not-the-password' });
    await page.locator('#signin-status.error').waitFor();
    await expect(page.locator('#signin-status').textContent()).resolves.toContain('Wrong username or password');
    await screenshot(page, 'access-5-wrong-password');
    expect((await poll(request.poll)).body.status).toBe('NEED_SIGNIN');
  });

  it('refuses links to unknown requests and to another server’s poll URL', async () => {
    const { page } = await newPage(session);
    await page.goto(
      `${apiUrl()}/access/access.html?key=AAAAAAAAAAAAAAAA&poll=${encodeURIComponent(`${apiUrl()}/reg/access/AAAAAAAAAAAAAAAA`)}`,
    );
    await waitForState(page, 'invalid');
    await expect(page.locator('#invalid-reason').textContent()).resolves.toContain('expired');
    await screenshot(page, 'access-6-unknown-request');

    const request = await requestAccess();
    const foreign = `https://evil.example.com/reg/access/${request.key}`;
    await page.goto(`${apiUrl()}/access/access.html?key=${request.key}&poll=${encodeURIComponent(foreign)}`);
    await waitForState(page, 'invalid');
    await expect(page.locator('#invalid-reason').textContent()).resolves.toContain('names an access request of another server');
  });
});

describe('registration and sign-in pages', () => {
  it('registers a new account, then signs in and out with it', async () => {
    const username = `e2e-${Math.random().toString(36).slice(2, 10)}`;
    const password = 'a-good-password';
    const { page, errors } = await newPage(session);
    await page.goto(`${apiUrl()}/www/register.html`);
    await waitForState(page, 'form');
    await screenshot(page, 'register-1-form');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Email').fill(`${username}@example.com`);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByLabel('Password again').fill('something-else');
    await page.getByRole('button', { name: 'Create the account' }).click();
    await expect(page.locator('#register-status').textContent()).resolves.toContain('differ');
    await screenshot(page, 'register-2-error');
    await page.getByLabel('Password again').fill(password);
    await page.getByRole('button', { name: 'Create the account' }).click();
    await waitForState(page, 'done');
    await screenshot(page, 'register-3-done');
    expect((await call('GET', `/reg/${username}/check_username`)).body.reserved).toBe(true);

    // Same username again: the API's conflict in words.
    await page.goto(`${apiUrl()}/www/register.html`);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Email').fill(`other-${username}@example.com`);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByLabel('Password again').fill(password);
    await page.getByRole('button', { name: 'Create the account' }).click();
    await page.locator('#register-status.error').waitFor();
    await expect(page.locator('#register-status').textContent()).resolves.toContain('already taken');

    await page.goto(`${apiUrl()}/www/login.html`);
    await waitForState(page, 'signin');
    await screenshot(page, 'login-1-form');
    await signIn(page, { username, password });
    await waitForState(page, 'signed-in');
    await expect(page.locator('[data-state="signed-in"]').textContent()).resolves.toContain(username);
    await screenshot(page, 'login-2-signed-in');
    const accesses = await call('POST', `/${username}/auth/login`, {
      body: { username, password, appId: 'pryv-web-pages' },
      headers: { origin: apiUrl() },
    });
    expect(accesses.status).toBe(200);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await waitForState(page, 'signin');
    // The page's session (app id pryv-web-pages) ended: its token no longer works.
    expect((await call('GET', `/${username}/access-info`, { token: accesses.body.token })).status).toBe(403);
    expect(errors).toEqual([]);
  });
});

describe('password reset pages', () => {
  it('asks for a link, follows it from the mail sink, sets a new password; the link works once', async () => {
    const user = await createUser();
    const { page, errors } = await newPage(session);
    await page.goto(`${apiUrl()}/www/reset-password.html`);
    await waitForState(page, 'request');
    await screenshot(page, 'reset-1-request');
    await page.getByLabel('Username or email').fill(user.email);
    await page.getByRole('button', { name: 'Send the link' }).click();
    await waitForState(page, 'requested');
    await screenshot(page, 'reset-2-requested');

    const mail = await lastMail(user.username, 'password-reset');
    const link = /https?:\/\/[^\s"<>]+reset-password\.html\?[^\s"<>]+/.exec(mail.text)?.[0];
    expect(link, mail.text).toBeDefined();
    await page.goto(link!.replace(/&amp;/g, '&'));
    await waitForState(page, 'reset');
    await screenshot(page, 'reset-3-form');
    await page.getByLabel('New password', { exact: true }).fill('brand-new-password');
    await page.getByLabel('New password again').fill('brand-new-password');
    await page.getByRole('button', { name: 'Change the password' }).click();
    await waitForState(page, 'done');
    expect(new URL(page.url()).search).toBe(''); // the used token left the address bar
    await screenshot(page, 'reset-4-done');

    const oldLogin = await call('POST', `/${user.username}/auth/login`, {
      body: { username: user.username, password: user.password, appId: 'pryv-web-pages' },
      headers: { origin: apiUrl() },
    });
    expect(oldLogin.status).toBe(401);
    const newLogin = await call('POST', `/${user.username}/auth/login`, {
      body: { username: user.username, password: 'brand-new-password', appId: 'pryv-web-pages' },
      headers: { origin: apiUrl() },
    });
    expect(newLogin.status).toBe(200);

    // The same link again: refused, said in words.
    await page.goto(link!.replace(/&amp;/g, '&'));
    await waitForState(page, 'reset');
    await page.getByLabel('New password', { exact: true }).fill('yet-another-password');
    await page.getByLabel('New password again').fill('yet-another-password');
    await page.getByRole('button', { name: 'Change the password' }).click();
    await waitForState(page, 'invalid');
    await screenshot(page, 'reset-5-used-link');
    expect(errors).toEqual([]);
  });
});
