import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/**
 * Headless Debian Chromium driven by playwright-core (Playwright's own browser download
 * is not used: `.ci/run` installs the `chromium` package). Playwright gives every launch a
 * fresh temporary profile (user-data dir) and removes it on close.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const PHONE_VIEWPORT = { width: 390, height: 844 }; // the pages must work on a phone
export const DESKTOP_VIEWPORT = { width: 1280, height: 900 };
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

export async function newPage(
  session: BrowserSession,
  viewport: { width: number; height: number } = PHONE_VIEWPORT,
): Promise<{ page: Page; errors: string[] }> {
  const context = await session.browser.newContext({ viewport });
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

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown; failureSummary?: string }>;
}

/**
 * Runs axe-core (WCAG 2.x A/AA rules and best practices) on the page as it is now and
 * returns the serious and critical violations. The engine is evaluated through the
 * DevTools protocol, which the pages' CSP does not govern, so the pages stay unchanged.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  // Strings, not functions: this project's TypeScript has no DOM types.
  if (!(await page.evaluate("typeof window.axe === 'object'"))) await page.evaluate(AXE_SOURCE);
  const options = {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    resultTypes: ['violations'],
  };
  const result = (await page.evaluate(`window.axe.run(document, ${JSON.stringify(options)})`)) as { violations: AxeViolation[] };
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** A readable list of violations for an assertion message. */
export function describeViolations(violations: AxeViolation[]): string {
  return violations
    .map(
      (v) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.map((n) => `  ${JSON.stringify(n.target)} ${n.failureSummary ?? ''}`).join('\n')}`,
    )
    .join('\n');
}
