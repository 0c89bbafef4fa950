import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiUrl, call, createUser, login, type TestUser } from '../setup/api';
import { openView, signInToAccount, totpFor, waitForView } from './account-helpers';
import { type BrowserSession, DESKTOP_VIEWPORT, launchBrowser, newPage, screenshot } from './browser';

/**
 * The account app (/account/) in headless Chromium against the real local runtime: every
 * task a person does there, checked through the API afterwards (a revoked token is
 * refused, a new share reads what it was given, and so on).
 */

let session: BrowserSession;

beforeAll(async () => {
  session = await launchBrowser();
});

afterAll(async () => {
  await session?.close();
});

async function stream(user: TestUser, id: string, name: string, parentId?: string): Promise<void> {
  const res = await call('POST', `/${user.username}/streams`, { token: user.token, body: { id, name, ...(parentId ? { parentId } : {}) } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

async function event(user: TestUser, streamId: string, content: string): Promise<void> {
  const res = await call('POST', `/${user.username}/events`, {
    token: user.token,
    body: { streamIds: [streamId], type: 'note/txt', content },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

async function access(token: string, username: string, body: Record<string, unknown>): Promise<{ id: string; token: string }> {
  const res = await call('POST', `/${username}/accesses`, { token, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.access;
}

const card = (page: Page, list: string, name: string) =>
  page.locator(`#${list} > li.card`).filter({ has: page.getByRole('heading', { name, exact: true }) });

describe('account app: apps and shares', () => {
  it('lists a share and an app (with the share it made) in words; revoking ends them, and the API then refuses their tokens', async () => {
    const user = await createUser();
    await stream(user, 'health', 'Health');
    await stream(user, 'weight', 'Weight', 'health');
    await stream(user, 'diary', 'Diary');
    const share = await access(user.token, user.username, { name: 'for my doctor', permissions: [{ streamId: 'weight', level: 'read' }] });
    const app = await access(user.token, user.username, {
      type: 'app',
      name: 'diary-app',
      deviceName: 'phone',
      permissions: [{ streamId: 'diary', level: 'contribute' }],
    });
    const coach = await access(app.token, user.username, {
      name: 'coach',
      permissions: [{ streamId: 'diary', level: 'read' }],
      expireAfter: 3600,
    });
    // Both updated (v2 accesses.update): the API now shows them as `{id}:1`, while the
    // coach's createdBy keeps the app's id as created; the app still shows the share it made.
    for (const [id, token] of [
      [app.id, user.token],
      [coach.id, app.token],
    ] as const) {
      const res = await call('PUT', `/${user.username}/accesses/${id}`, { token, body: { clientData: { updated: true } } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    // Used once, from a recognisable client: the card says when and from where.
    const used = await call('GET', `/${user.username}/events`, {
      token: share.token,
      headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0' },
    });
    expect(used.status).toBe(200);

    const { page, errors } = await newPage(session, DESKTOP_VIEWPORT);
    await signInToAccount(page, apiUrl(), user);
    const shareCard = card(page, 'shares-list', 'for my doctor');
    await expect(shareCard.textContent()).resolves.toContain('Read');
    await expect(shareCard.textContent()).resolves.toContain('“Health › Weight”');
    await shareCard.getByText('from 127.0.0.1, Firefox on Linux').waitFor();
    await expect(shareCard.textContent()).resolves.toContain('Never, until revoked');
    const appCard = card(page, 'apps-list', 'diary-app on phone');
    await expect(appCard.textContent()).resolves.toContain('Read and add or change entries');
    await expect(appCard.locator('.card').filter({ hasText: 'coach' }).textContent()).resolves.toContain(
      'given by diary-app on phone (app)',
    );
    await screenshot(page, 'account-apps-desktop');

    // Revoking the share: confirm, then it is gone and its token refused.
    await shareCard.getByRole('button', { name: 'Revoke “for my doctor”' }).click();
    await expect(shareCard.locator('.confirm').textContent()).resolves.toContain('It stops working at once.');
    await shareCard.getByRole('button', { name: 'Yes, revoke' }).click();
    await page.locator('#apps-status.ok').waitFor();
    await expect(page.locator('#apps-status').textContent()).resolves.toBe('“for my doctor” was revoked.');
    await expect(card(page, 'shares-list', 'for my doctor').count()).resolves.toBe(0);
    expect((await call('GET', `/${user.username}/events`, { token: share.token })).status).toBe(403);

    // Revoking the app says that the share it made ends too, and both tokens stop working.
    const appRevoke = card(page, 'apps-list', 'diary-app on phone').getByRole('button', { name: 'Revoke “diary-app on phone”' });
    await appRevoke.click();
    const appConfirm = card(page, 'apps-list', 'diary-app on phone').locator(':scope > .revoke > .confirm');
    await expect(appConfirm.textContent()).resolves.toContain('so do the 1 share it made: coach');
    await screenshot(page, 'account-apps-revoke-confirm');
    await appConfirm.getByRole('button', { name: 'Yes, revoke' }).click();
    await page.getByText('“diary-app on phone” was revoked, and with it “coach”.').waitFor();
    expect((await call('GET', `/${user.username}/events`, { token: app.token })).status).toBe(403);
    expect((await call('GET', `/${user.username}/events`, { token: coach.token })).status).toBe(403);
    await expect(page.locator('#apps-empty').isVisible()).resolves.toBe(true);

    // The ended ones are still listed, as revoked.
    await page.getByText('Ended and revoked accesses').click();
    await expect(page.locator('#past-list > li').count()).resolves.toBe(3);
    await expect(page.locator('#past-list').textContent()).resolves.toContain('Revoked');
    expect(errors).toEqual([]);
  });

  it('creates a share over chosen streams, level and expiry; its link reads those streams only', async () => {
    const user = await createUser();
    await stream(user, 'health', 'Health');
    await stream(user, 'weight', 'Weight', 'health');
    await stream(user, 'diary', 'Diary');
    await event(user, 'weight', 'weighed 70');
    await event(user, 'diary', 'private thoughts');

    const { page, errors } = await newPage(session);
    await signInToAccount(page, apiUrl(), user);
    await page.getByRole('button', { name: 'Share data with someone' }).click();
    await page.getByLabel('Who is it for?').fill('Dr. Martin');
    await page.getByRole('checkbox', { name: 'Weight' }).check();
    await page.getByRole('radio', { name: 'Read', exact: true }).check();
    await page.getByLabel('Ends', { exact: true }).selectOption({ label: 'In 1 week' });
    await screenshot(page, 'account-share-form-phone');
    await page.getByRole('button', { name: 'Create the share' }).click();
    await page.locator('#share-result:not([hidden])').waitFor();
    await screenshot(page, 'account-share-created-phone');
    const link = await page.getByLabel('Link of the share').inputValue();
    expect(page.url()).not.toContain(new URL(link).username); // the token never goes into the address

    // The link is an apiEndpoint (token@host/username/), as apps take it.
    const endpoint = new URL(link);
    const token = endpoint.username;
    expect(`${endpoint.protocol}//${endpoint.host}`).toBe(apiUrl());
    const read = await call('GET', `/${user.username}/events`, { token });
    expect(read.body.events.map((e: { content: string }) => e.content)).toEqual(['weighed 70']);
    expect((await call('GET', `/${user.username}/events?streams=diary`, { token })).status).toBe(403);
    const info = await call('GET', `/${user.username}/access-info`, { token });
    expect(info.body).toMatchObject({ type: 'shared', name: 'Dr. Martin', permissions: [{ streamId: 'weight', level: 'read' }] });
    expect(info.body.expires - Date.now() / 1000).toBeGreaterThan(7 * 86400 - 120);
    expect(info.body.expires - Date.now() / 1000).toBeLessThan(7 * 86400 + 120);

    await page.getByRole('button', { name: 'Done' }).click();
    await expect(page.getByLabel('Link of the share').isVisible()).resolves.toBe(false);
    await expect(card(page, 'shares-list', 'Dr. Martin').textContent()).resolves.toContain('“Health › Weight”');

    // The same name again: refused in words, nothing created.
    await page.getByRole('button', { name: 'Share data with someone' }).click();
    await page.getByLabel('Who is it for?').fill('Dr. Martin');
    await page.getByRole('button', { name: 'Create the share' }).click();
    await expect(page.locator('#share-status').textContent()).resolves.toBe('Choose at least one stream to share.');
    await page.getByRole('checkbox', { name: 'Diary' }).check();
    await page.getByRole('button', { name: 'Create the share' }).click();
    await page.locator('#share-status.error').getByText('already have a share named “Dr. Martin”').waitFor();
    const shares = await call('GET', `/${user.username}/accesses`, { token: user.token });
    expect(shares.body.accesses.filter((a: { type: string }) => a.type === 'shared')).toHaveLength(1);
    expect(errors).toEqual([]);
  });
});

describe('account app: activity', () => {
  it('shows a refused call of a share, highlighted and explained; filters by access and by refused calls', async () => {
    const user = await createUser();
    await stream(user, 'health', 'Health');
    await stream(user, 'diary', 'Diary');
    const share = await access(user.token, user.username, { name: 'for my doctor', permissions: [{ streamId: 'health', level: 'read' }] });
    expect((await call('GET', `/${user.username}/events?streams=health`, { token: share.token })).status).toBe(200);
    const refused = await call('GET', `/${user.username}/events?streams=diary`, {
      token: share.token,
      headers: { 'user-agent': 'curl/8.5.0' },
    });
    expect(refused.status).toBe(403);

    const { page, errors } = await newPage(session);
    await signInToAccount(page, apiUrl(), user);
    await openView(page, 'activity', 'Activity');
    const refusedEntry = page.locator('#activity-list li.entry.refused');
    await refusedEntry.first().waitFor();
    await expect(refusedEntry.count()).resolves.toBe(1);
    const text = await refusedEntry.textContent();
    expect(text).toContain('Read events');
    expect(text).toContain('Refused');
    expect(text).toContain('By for my doctor (share)');
    expect(text).toContain('Streams: Diary');
    expect(text).toContain('From 127.0.0.1, curl');
    expect(text).toContain('Why: The access did not allow it.');
    await screenshot(page, 'account-activity-phone');

    // Only this share's calls, then only the refused ones.
    await page.getByLabel('Who', { exact: true }).selectOption({ label: 'for my doctor (share)' });
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await page.locator('#activity-status').getByText('2 calls shown.').waitFor();
    await page.getByLabel('Only refused or failed calls').check();
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await page.locator('#activity-status').getByText('1 call shown.').waitFor();
    await expect(page.locator('#activity-list li.entry').count()).resolves.toBe(1);
    await screenshot(page, 'account-activity-refused-phone');

    // A period with no call says so.
    await page.getByLabel('Only refused or failed calls').uncheck();
    await page.getByLabel('From', { exact: true }).fill('2020-01-01');
    await page.getByLabel('To', { exact: true }).fill('2020-01-02');
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await page.locator('#activity-status').getByText('No call in this period.').waitFor();
    expect(errors).toEqual([]);
  });
});

describe('account app: my data', () => {
  it('exports the account: progress, then the archive link; the download matches the SHA-256 shown and holds the manifest', async () => {
    const user = await createUser();
    await stream(user, 'diary', 'Diary');
    await event(user, 'diary', 'an entry to take along');

    const { page, errors } = await newPage(session, DESKTOP_VIEWPORT);
    await signInToAccount(page, apiUrl(), user);
    await openView(page, 'data', 'My data');
    await page.getByRole('button', { name: 'Prepare my copy' }).click();
    const link = page.getByRole('link', { name: 'Download the archive' });
    await link.waitFor({ timeout: 30_000 });
    await expect(page.locator('#export-status').textContent()).resolves.toBe('Your copy is ready.');
    const shown = (await page.locator('#export-sha256').textContent())!;
    expect(shown).toMatch(/^[0-9a-f]{64}$/);
    await screenshot(page, 'account-data-export-desktop');
    // The link is a short-lived storage link: it carries no token of the user.
    expect(await link.getAttribute('href')).not.toContain(user.token);

    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const file = await download.path();
    const bytes = readFileSync(file);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(shown);
    const tar = gunzipSync(bytes).toString('latin1');
    expect(tar).toContain('manifest.json');
    expect(tar).toContain('an entry to take along');

    // This runtime lets only the admin erase accounts: the page says so and offers no form.
    await expect(page.locator('#erase-unavailable').textContent()).resolves.toContain('does not let you erase your account yourself');
    await expect(page.locator('#erase-form').isVisible()).resolves.toBe(false);
    expect(errors).toEqual([]);
  });
});

describe('account app: security', () => {
  it('turns two-step sign-in on with a TOTP code (QR code, recovery codes), signs in with it, and turns it off', async () => {
    const user = await createUser();
    const { page, errors } = await newPage(session);
    await signInToAccount(page, apiUrl(), user);
    await openView(page, 'security', 'Security');
    await expect(page.locator('#mfa-state').textContent()).resolves.toContain('is off');
    await page.getByRole('button', { name: 'Turn on two-step sign-in' }).click();
    await page.getByRole('img', { name: /QR code/ }).waitFor();
    const secret = (await page.locator('#mfa-secret').textContent())!.replace(/\s+/g, '');
    const code = totpFor(secret);
    await screenshot(page, 'account-security-mfa-setup-phone');
    await page.getByLabel('2. Enter the 6-digit code the app shows').fill('000000' === code(0) ? '111111' : '000000');
    await page.getByRole('button', { name: 'Turn on', exact: true }).click();
    await page.locator('#mfa-setting-status.error').getByText('This code is not valid').waitFor();
    await page.getByLabel('2. Enter the 6-digit code the app shows').fill(code(0));
    await page.getByRole('button', { name: 'Turn on', exact: true }).click();
    await page.locator('#mfa-recovery:not([hidden])').waitFor();
    await expect(page.locator('#mfa-recovery-codes li').count()).resolves.toBe(10);
    await screenshot(page, 'account-security-mfa-recovery-phone');
    await page.getByRole('button', { name: 'I have kept them' }).click();
    await expect(page.locator('#mfa-state').textContent()).resolves.toContain('is on');
    expect((await login(user)).body.mfaToken).toBeDefined(); // the API now asks for the second step

    // Signing in again goes through the code, and the page knows MFA is on.
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.locator('#signin-status.ok').getByText('You are signed out.').waitFor();
    await signInToAccount(page, apiUrl(), user, true);
    await page.getByLabel('Code', { exact: true }).fill(code(1));
    await page.getByRole('button', { name: 'Verify' }).click();
    await waitForView(page, 'apps');
    await openView(page, 'security', 'Security');
    await expect(page.locator('#mfa-state').textContent()).resolves.toContain('is on');
    await page.getByRole('button', { name: 'Turn off two-step sign-in' }).click();
    await page.locator('#mfa-setting-status.ok').getByText('Two-step sign-in is off.').waitFor();
    const plain = await login(user);
    expect(plain.status).toBe(200);
    expect(plain.body.token).toBeDefined();
    expect(errors).toEqual([]);
  });

  it('changes the password: wrong current password and differing copies are said in words; then only the new one works', async () => {
    const user = await createUser();
    const { page, errors } = await newPage(session, DESKTOP_VIEWPORT);
    await signInToAccount(page, apiUrl(), user);
    await openView(page, 'security', 'Security');
    const form = page.locator('#password-form');
    await form.getByLabel('Current password').fill('not-my-password');
    await form.getByLabel('New password', { exact: true }).fill('a-new-password-1');
    await form.getByLabel('New password again').fill('a-new-password-1');
    await form.getByRole('button', { name: 'Change the password' }).click();
    await page.locator('#password-status.error').getByText('The current password is not right.').waitFor();
    await form.getByLabel('Current password').fill(user.password);
    await form.getByLabel('New password again').fill('something-else');
    await form.getByRole('button', { name: 'Change the password' }).click();
    await page.locator('#password-status.error').getByText('The two new passwords differ.').waitFor();
    await form.getByLabel('New password again').fill('a-new-password-1');
    await form.getByRole('button', { name: 'Change the password' }).click();
    await page.locator('#password-status.ok').waitFor();
    await screenshot(page, 'account-security-password-desktop');
    expect((await login(user)).status).toBe(401);
    expect((await login({ username: user.username, password: 'a-new-password-1' })).status).toBe(200);
    expect(errors).toEqual([]);
  });

  it('signs out everywhere: every sign-in session ends (other devices included), apps keep their access', async () => {
    const user = await createUser();
    const other = await login(user, 'other-device-app'); // another device, another app id
    expect(other.status).toBe(200);
    const app = await access(user.token, user.username, { type: 'app', name: 'kept-app', permissions: [{ streamId: '*', level: 'read' }] });

    const { page, errors } = await newPage(session);
    await signInToAccount(page, apiUrl(), user);
    await openView(page, 'security', 'Security');
    // The registration session, the other device and this page.
    await expect(page.locator('#sessions-list > li').count()).resolves.toBe(3);
    await expect(page.locator('#sessions-list').textContent()).resolves.toContain('This one');
    await screenshot(page, 'account-security-sessions-phone');
    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await page.locator('section[data-state="signin"]:not([hidden])').waitFor();
    await expect(page.locator('#signin-status').textContent()).resolves.toContain('signed out everywhere');
    expect((await call('GET', `/${user.username}/access-info`, { token: user.token })).status).toBe(403);
    expect((await call('GET', `/${user.username}/access-info`, { token: other.body.token })).status).toBe(403);
    expect((await call('GET', `/${user.username}/access-info`, { token: app.token })).status).toBe(200);
    // Nothing of the session is left in the tab: a reload asks to sign in.
    await page.reload();
    await page.locator('section[data-state="signin"]:not([hidden])').waitFor();
    expect(errors).toEqual([]);
  });

  it('keeps the sign-in across a reload of the tab (sessionStorage), never in the address', async () => {
    const user = await createUser();
    const { page } = await newPage(session);
    await signInToAccount(page, apiUrl(), user);
    await openView(page, 'security', 'Security');
    await page.reload();
    await waitForView(page, 'security');
    expect(page.url()).toBe(`${apiUrl()}/account/#security`);
    // The login page hands over to the app the same way.
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.locator('section[data-state="signin"]:not([hidden])').waitFor();
    await page.goto(`${apiUrl()}/www/login.html`);
    await page.getByLabel('Username', { exact: true }).fill(user.username);
    await page.getByLabel('Password', { exact: true }).fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Manage your data, apps and shares' }).click();
    await waitForView(page, 'apps');
  });
});
