import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiDescription } from '../../infra/openapi';
import { apiUrl } from '../setup/api';
import { type BrowserSession, DESKTOP_VIEWPORT, launchBrowser, newPage, screenshot } from './browser';

/** `/openapi.json` and its browsable page `/www/api/`, on the local runtime, in headless Chromium. */

let session: BrowserSession;

beforeAll(async () => {
  session = await launchBrowser();
});

afterAll(async () => {
  await session?.close();
});

describe('the API reference', () => {
  it('serves the OpenAPI document as JSON that any origin may read', async () => {
    const res = await fetch(`${apiUrl()}/openapi.json`, { headers: { origin: 'https://tools.example' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const body = await res.json();
    expect(body).toEqual(JSON.parse(JSON.stringify(apiDescription())));
    expect((await fetch(`${apiUrl()}/openapi.json`, { method: 'POST' })).status).toBe(405);
  });

  it('renders every method on the reference page under the pages’ CSP, with no script or CSP error', async () => {
    const { page, errors } = await newPage(session, DESKTOP_VIEWPORT);
    const csp: string[] = [];
    page.on('console', (msg) => {
      if (/Content Security Policy/i.test(msg.text())) csp.push(msg.text());
    });
    const response = await page.goto(`${apiUrl()}/www/api/`);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.waitForSelector('.opblock-summary-path', { timeout: 30_000 });
    await page.waitForSelector('#api-status', { state: 'detached' });
    const paths = await page.$$eval('.opblock-summary-path', (nodes) => nodes.map((n) => n.getAttribute('data-path')));
    const documented = Object.values(apiDescription().paths as Record<string, object>).flatMap((item) => Object.keys(item)).length;
    expect(paths).toHaveLength(documented);
    expect(paths).toContain('/{username}/events');
    await screenshot(page, 'api-reference');
    expect(csp).toEqual([]);
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
