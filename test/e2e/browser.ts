import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Headless Debian Chromium driven by playwright-core (Playwright's own browser download
 * is not used: `.ci/run` installs the `chromium` package). Playwright gives every launch a
 * fresh temporary profile (user-data dir) and removes it on close.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const PHONE_VIEWPORT = { width: 390, height: 844 }; // the pages must work on a phone
const SCREENSHOT_DIR = join(process.cwd(), 'test-artifacts', 'screenshots');

export interface BrowserSession {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<BrowserSession> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    close: async () => {
      await browser.close();
    },
  };
}

export async function newPage(session: BrowserSession): Promise<{ page: Page; errors: string[] }> {
  const context = await session.browser.newContext({ viewport: PHONE_VIEWPORT });
  const page = await context.newPage();
  // Script errors and CSP violations fail the tests that check `errors`.
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) errors.push(msg.text());
  });
  return { page, errors };
}

/** Saves a screenshot of the page's current state as a test artifact. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/** Waits until the page shows one of its states (`<section data-state>`). */
export async function waitForState(page: Page, state: string): Promise<void> {
  await page.waitForSelector(`section[data-state="${state}"]:not([hidden])`, { state: 'visible' });
}
