import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../shared/ids';
import { requestExportJob } from '../../shared/store/exports';
import { objectKeys } from '../../shared/store/keys';
import { apiUrl, createUser, type TestUser, useRuntimeStore } from '../setup/api';
import { openView, signInToAccount } from './account-helpers';
import { type BrowserSession, DESKTOP_VIEWPORT, launchBrowser, newPage, screenshot } from './browser';

/**
 * "My data" shows a running export's counts (done / total) while it is built.
 *
 * The export under way is put in the store as the export worker leaves it mid-run (running,
 * with its counts): a real export of a test account ends in well under a second on a quiet
 * machine, before the page's first answer, so waiting for one to be caught running would make
 * this test depend on the machine's speed. The worker sees the job already running and leaves
 * it; the page asks the real API, which answers this export (an export requested while one is
 * under way is that one). That the worker writes these counts is test/integration/job-progress.test.ts's.
 */

let session: BrowserSession;
let user: TestUser;

beforeAll(async () => {
  useRuntimeStore();
  session = await launchBrowser();
  user = await createUser();
});

afterAll(async () => {
  await session?.close();
});

describe('account app: export progress', () => {
  it('shows the counts of the running export under its bar', async () => {
    const now = Date.now() / 1000;
    const id = newId();
    const { created } = await requestExportJob(
      user.username,
      {
        id,
        kind: 'export',
        status: 'running',
        requested: now,
        requestedBy: 'e2e',
        started: now,
        archiveKey: objectKeys.exportArchive(user.username, id),
        progress: { streams: { done: 1, total: 1 }, events: { done: 1200, total: 2000 }, attachments: { done: 0 } },
      },
      now,
    );
    expect(created).toBe(true);

    const { page, errors } = await newPage(session, DESKTOP_VIEWPORT);
    await signInToAccount(page, apiUrl(), user);
    await openView(page, 'data', 'My data');
    await page.getByRole('button', { name: 'Prepare my copy' }).click();
    const counts = page.locator('#export-counts');
    await expect.poll(() => counts.textContent(), { timeout: 30_000, interval: 50 }).toMatch(/^1 of 1 streams · 1,200 of 2,000 events/);
    await screenshot(page, 'account-export-progress');
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
