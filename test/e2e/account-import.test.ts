import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiUrl, call, createUser, type TestUser } from '../setup/api';
import { openView, signInToAccount } from './account-helpers';
import { type BrowserSession, DESKTOP_VIEWPORT, launchBrowser, newPage, PHONE_VIEWPORT, screenshot } from './browser';

/**
 * Moving to a new account from the account app: the archive "Prepare my copy" gave in one
 * account is imported, from the page, into another — its bytes go straight from the browser
 * to the presigned storage URL (another origin, which the page's CSP and the bucket's CORS
 * must both allow) — and the new account then holds the data, as the API shows.
 */

let session: BrowserSession;

beforeAll(async () => {
  session = await launchBrowser();
});

afterAll(async () => {
  await session?.close();
});

async function post(user: TestUser, path: string, body: Record<string, unknown>): Promise<void> {
  const res = await call('POST', `/${user.username}/${path}`, { token: user.token, body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

/** The account's own streams and events: the personal token also reads each account's system tree and its values (README "Account system streams"). */
const ownStreams = (streams: Array<{ id: string }>) => streams.filter((s) => !s.id.startsWith(':'));
const ownEvents = (events: Array<{ id: string; content: unknown; streamIds: string[] }>) =>
  events.filter((e) => !e.streamIds.some((id) => id.startsWith(':')));

describe('account app: importing an archive into a new account', () => {
  it('exports one account, imports its archive from the app into a new one, whose API then serves the same streams and events', async () => {
    const source = await createUser();
    await post(source, 'streams', { id: 'health', name: 'Health' });
    await post(source, 'streams', { id: 'sleep', name: 'Sleep', parentId: 'health' });
    await post(source, 'events', { streamIds: ['sleep'], type: 'note/txt', content: 'slept well, moving along' });
    await post(source, 'events', { streamIds: ['health'], type: 'mass/kg', content: 71.5 });

    // The copy, made and downloaded from the app as a person would.
    const { page, errors } = await newPage(session, DESKTOP_VIEWPORT);
    await signInToAccount(page, apiUrl(), source);
    await openView(page, 'data', 'My data');
    await page.getByRole('button', { name: 'Prepare my copy' }).click();
    const link = page.getByRole('link', { name: 'Download the archive' });
    await link.waitFor({ timeout: 30_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const archive = await download.path();
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.locator('section[data-state="signin"]:not([hidden])').waitFor();

    // A new, empty account takes it.
    const target = await createUser();
    await page.setViewportSize(PHONE_VIEWPORT);
    await signInToAccount(page, apiUrl(), target);
    await openView(page, 'data', 'My data');
    await page.getByRole('button', { name: 'Import the archive' }).click();
    await expect(page.locator('#import-status').textContent()).resolves.toBe('Choose the archive file (.tar.gz) to import.');
    await page.getByLabel('Archive (.tar.gz)').setInputFiles(archive);
    await page.getByRole('button', { name: 'Import the archive' }).click();
    const status = page.locator('#import-status.ok');
    await status.waitFor({ timeout: 30_000 });
    await expect(status.textContent()).resolves.toBe('Your data is here: 2 streams and 2 events were brought in.');
    await screenshot(page, 'account-data-import-phone');

    const streams = await call('GET', `/${target.username}/streams`, { token: target.token });
    expect(streams.status).toBe(200);
    expect(ownStreams(streams.body.streams)).toMatchObject([
      { id: 'health', name: 'Health', children: [{ id: 'sleep', name: 'Sleep', parentId: 'health' }] },
    ]);
    const events = await call('GET', `/${target.username}/events`, { token: target.token });
    expect(events.status).toBe(200);
    expect(
      ownEvents(events.body.events)
        .map((e) => e.content)
        .sort(),
    ).toEqual([71.5, 'slept well, moving along'].sort());
    // The source account is untouched, and the imported events keep their ids.
    const sourceEvents = await call('GET', `/${source.username}/events`, { token: source.token });
    expect(
      ownEvents(events.body.events)
        .map((e) => e.id)
        .sort(),
    ).toEqual(
      ownEvents(sourceEvents.body.events)
        .map((e) => e.id)
        .sort(),
    );

    // The account now holds data: a second import is refused in words, and changes nothing.
    await page.getByLabel('Archive (.tar.gz)').setInputFiles(archive);
    await page.getByRole('button', { name: 'Import the archive' }).click();
    await page.locator('#import-status.error').waitFor();
    await expect(page.locator('#import-status').textContent()).resolves.toBe(
      'This account already holds streams or events: an archive can only be imported into a new, empty account.',
    );
    expect(ownEvents((await call('GET', `/${target.username}/events`, { token: target.token })).body.events)).toHaveLength(2);
    // No CSP violation (the upload's origin is allowed) and no script error.
    expect(errors).toEqual([]);
  }, 120_000); // an export and an import, each through its worker

  it('says in words when the file is not an archive of an account, and imports nothing', async () => {
    const target = await createUser();
    const { page, errors } = await newPage(session);
    await signInToAccount(page, apiUrl(), target);
    await openView(page, 'data', 'My data');
    await page
      .getByLabel('Archive (.tar.gz)')
      .setInputFiles({ name: 'notes.tar.gz', mimeType: 'application/gzip', buffer: Buffer.from('not an archive at all') });
    await page.getByRole('button', { name: 'Import the archive' }).click();
    const status = page.locator('#import-status.error');
    await status.waitFor({ timeout: 30_000 });
    await expect(status.textContent()).resolves.toMatch(/^The archive could not be imported: .+\. Nothing was brought in\.$/);
    const streams = await call('GET', `/${target.username}/streams`, { token: target.token });
    expect(ownStreams(streams.body.streams)).toEqual([]);
    expect(errors).toEqual([]);
  });
});
