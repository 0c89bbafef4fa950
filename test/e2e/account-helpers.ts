import { Secret, TOTP } from 'otpauth';
import type { Page } from 'playwright-core';

/** Shared steps of the account app tests (shared/web/account/). */

export const TOTP_PERIOD_MS = 30_000;

/** Waits until the account app shows one of its views (`[data-view]`). */
export async function waitForView(page: Page, view: string): Promise<void> {
  await page.waitForSelector(`section[data-state="account"]:not([hidden]) [data-view="${view}"]:not([hidden])`, { state: 'visible' });
}

/** Opens `{base}/account/` and signs in with the password (the MFA step is the caller's). */
export async function signInToAccount(
  page: Page,
  base: string,
  user: { username: string; password: string },
  expectMfa = false,
): Promise<void> {
  await page.goto(`${base}/account/`);
  await page.waitForSelector('section[data-state="signin"]:not([hidden])');
  await page.getByLabel('Username', { exact: true }).fill(user.username);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  if (expectMfa) await page.waitForSelector('#mfa-form:not([hidden])');
  else await waitForView(page, 'apps');
}

/** Goes to a view through its navigation link, as a person would. */
export async function openView(page: Page, view: string, name: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Account sections' }).getByRole('link', { name, exact: true }).click();
  await waitForView(page, view);
}

/** TOTP codes of a base32 secret, `offsetSteps` periods from now. */
export function totpFor(secret: string): (offsetSteps: number) => string {
  const totp = new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 });
  return (offsetSteps) => totp.generate({ timestamp: Date.now() + offsetSteps * TOTP_PERIOD_MS });
}
