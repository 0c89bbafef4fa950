import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiUrl, call, createUser, login } from '../setup/api';
import { openView, signInToAccount } from './account-helpers';
import { type BrowserSession, launchBrowser, newPage, screenshot } from './browser';

/**
 * The sign-in sessions of the Security view tell the live ones from those that ended: signed
 * out, or unused for longer than the service's session lifetime (service info
 * `accountPolicy.sessionMaxAge`), which the API does not otherwise show.
 */

let session: BrowserSession;

beforeAll(async () => {
  session = await launchBrowser();
});

afterAll(async () => {
  await session?.close();
});

const DAY_MS = 86_400_000;

/** The session cards by app name, with whether each is marked ended. */
async function sessions(page: Page): Promise<Record<string, { ended: boolean; text: string }>> {
  const cards = page.locator('#sessions-list > li.card');
  const out: Record<string, { ended: boolean; text: string }> = {};
  for (let i = 0; i < (await cards.count()); i++) {
    const card = cards.nth(i);
    const name = (await card.locator('h3').evaluate((h) => h.firstChild?.textContent ?? ''))!.trim();
    out[name] = { ended: (await card.getAttribute('data-session-ended')) === 'true', text: (await card.textContent()) ?? '' };
  }
  return out;
}

describe('account app: sign-in sessions', () => {
  it('marks a session that signed out as ended, and keeps live ones (this one first) unmarked', async () => {
    const user = await createUser(); // its registration session: "test-app-id"
    const other = await login(user, 'old-laptop-app');
    expect(other.status).toBe(200);
    expect((await call('POST', `/${user.username}/auth/logout`, { token: other.body.token, body: {} })).status).toBe(200);

    const { page, errors } = await newPage(session);
    await signInToAccount(page, apiUrl(), user);
    await openView(page, 'security', 'Security');
    await page.locator('#sessions-list [data-session-ended="true"]').waitFor();
    const shown = await sessions(page);
    expect(Object.keys(shown)).toHaveLength(3);
    const ended = Object.entries(shown).filter(([, s]) => s.ended);
    expect(ended).toHaveLength(1);
    expect(ended[0]![1].text).toContain('Signed out');
    expect(Object.values(shown).filter((s) => !s.ended)).toHaveLength(2);
    // The ended one is listed last, after the live ones.
    await expect(page.locator('#sessions-list > li.card').last().getAttribute('data-session-ended')).resolves.toBe('true');
    await screenshot(page, 'account-security-ended-session-phone');
    expect(errors).toEqual([]);
  });

  it("marks sessions unused for longer than the service session lifetime as ended (the page's clock moved on)", async () => {
    const user = await createUser();
    const { page, errors } = await newPage(session);
    // The browser lives 15 days ahead (sessions last 14 days after their last use): the
    // registration session, used just now, has ended by then; this page's own is in use.
    await page.clock.install({ time: Date.now() + 15 * DAY_MS });
    await signInToAccount(page, apiUrl(), user);
    await openView(page, 'security', 'Security');
    await page.locator('#sessions-list [data-session-ended="true"]').waitFor();
    const shown = await sessions(page);
    expect(Object.keys(shown)).toHaveLength(2);
    expect(shown['Sign-in of test-app-id']?.ended).toBe(true);
    expect(shown['Sign-in of test-app-id']?.text).toContain('Ended, unused since');
    expect(Object.values(shown).filter((s) => !s.ended)).toHaveLength(1);
    await expect(page.locator('#sessions-list > li.card').first().textContent()).resolves.toContain('This one');
    expect(errors).toEqual([]);
  });
});
