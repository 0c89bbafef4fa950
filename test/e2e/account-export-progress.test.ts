import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiUrl, call, createUser, type TestUser } from '../setup/api';
import { seedEvents } from '../setup/seed-events';
import { openView, signInToAccount } from './account-helpers';
import { type BrowserSession, DESKTOP_VIEWPORT, launchBrowser, newPage, screenshot } from './browser';

/** "My data" shows a running export's counts (done / total) while it is built. */

const EVENTS = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let session: BrowserSession;
let user: TestUser;

beforeAll(async () => {
  session = await launchBrowser();
  user = await createUser();
  await seedEvents(user, EVENTS);
});

afterAll(async () => {
  await session?.close();
});

describe('account app: export progress', () => {
  it('shows the counts of the running export under its bar', async () => {
    const { page, errors } = await newPage(session, DESKTOP_VIEWPORT);
    await signInToAccount(page, apiUrl(), user);
    await openView(page, 'data', 'My data');

    // The export is started first and seen running, so that the page's request meets it
    // (asking again answers the export under way) and shows its counts from its first answer.
    const started = await call('POST', `/${user.username}/account/export`, { token: user.token });
    expect(started.status).toBe(202);
    for (let i = 0; i < 600; i++) {
      const job = (await call('GET', `/${user.username}/account/export/${started.body.export.id}`, { token: user.token })).body.export;
      if (job.status === 'running' && job.progress) break;
      expect(['pending', 'running']).toContain(job.status);
      await sleep(20);
    }
    await page.getByRole('button', { name: 'Prepare my copy' }).click();
    const counts = page.locator('#export-counts');
    await expect
      .poll(() => counts.textContent(), { timeout: 30_000, interval: 50 })
      .toMatch(new RegExp(`^1 of 1 streams · [\\d,]+ of ${EVENTS.toLocaleString()} events`));
    await screenshot(page, 'account-export-progress');
    // (The download at the end is account-import.test.ts's.)
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
