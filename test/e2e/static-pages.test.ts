import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { resolvePagePath, WEB_ROOT } from '../../infra/local/static-pages';
import { VENDOR_FILES } from '../../infra/web-vendor-files';
import { apiUrl } from '../setup/api';

/** The local gateway's page serving (infra/local/static-pages.ts), over HTTP. */

/** A GET with the path sent exactly as written (fetch would normalise `..` away). */
function rawGet(path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(apiUrl());
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('static pages on the local gateway', () => {
  it('serves every page with its content type and a strict CSP', async () => {
    const cases: Array<[string, string]> = [
      ['/access/access.html', 'text/html'],
      ['/access/access.js', 'text/javascript'],
      ['/www/login.html', 'text/html'],
      ['/www/register.html', 'text/html'],
      ['/www/reset-password.html', 'text/html'],
      ['/www/assets/api.js', 'text/javascript'],
      ['/www/assets/style.css', 'text/css'],
      ['/www/', 'text/html'],
      ['/account/', 'text/html'],
      ['/account/app.js', 'text/javascript'],
      ['/account/account.css', 'text/css'],
      ['/www/assets/brand.js', 'text/javascript'],
      ['/www/assets/logo.svg', 'image/svg+xml'],
    ];
    for (const [path, type] of cases) {
      const res = await rawGet(path);
      expect(res.status, path).toBe(200);
      expect(res.headers['content-type'], path).toContain(type);
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
    expect((await rawGet('/www/login.html')).body).toBe(readFileSync(join(WEB_ROOT, 'www', 'login.html'), 'utf8'));
  });

  it("serves the account app's QR module from the uqr package in node_modules (not kept in the repository)", async () => {
    const res = await rawGet('/account/vendor/uqr.js');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/javascript');
    expect(res.body).toBe(readFileSync(VENDOR_FILES['account/vendor/uqr.js']!, 'utf8'));
    expect(res.body).toMatch(/export\s*\{[^}]*\bencode\b/);
    for (const path of [
      '/account/vendor/',
      '/account/vendor/other.js',
      '/account/vendor/../../package.json',
      '/account/vendor/uqr.js/..',
    ]) {
      expect((await rawGet(path)).status, path).toBe(404);
    }
  });

  it('lets the account app (only) connect to the storage origin its import uploads to', async () => {
    const storage = new URL(inject('s3Endpoint')).origin;
    for (const path of ['/account/', '/account/app.js']) {
      expect((await rawGet(path)).headers['content-security-policy'], path).toContain(`connect-src 'self' ${storage};`);
    }
    for (const path of ['/www/login.html', '/access/access.html', '/www/assets/api.js']) {
      expect((await rawGet(path)).headers['content-security-policy'], path).toContain("connect-src 'self';");
    }
  });

  it('redirects a folder named without its trailing slash to the folder, query kept', async () => {
    for (const [path, location] of [
      ['/account', '/account/'],
      ['/www', '/www/'],
      ['/account?from=mail', '/account/?from=mail'],
      ['/www/assets', '/www/assets/'],
    ]) {
      const res = await rawGet(path!);
      expect(res.status, path).toBe(301);
      expect(res.headers.location, path).toBe(location);
    }
    // The redirect is followed to the app itself.
    const res = await fetch(`${apiUrl()}/account`);
    expect(res.url).toBe(`${apiUrl()}/account/`);
    expect(await res.text()).toBe(readFileSync(join(WEB_ROOT, 'account', 'index.html'), 'utf8'));
  });

  it('lets apps on any origin load the service assets, and only those', async () => {
    expect((await rawGet('/www/assets/index.json')).headers['access-control-allow-origin']).toBe('*');
    expect((await rawGet('/www/assets/lib-js/button.html')).headers['access-control-allow-origin']).toBe('*');
    expect((await rawGet('/www/login.html')).headers['access-control-allow-origin']).toBeUndefined();
    expect((await rawGet('/access/access.html')).headers['access-control-allow-origin']).toBeUndefined();
  });

  it('404 for missing files and for any path escaping the page folders', async () => {
    for (const path of [
      '/www/nope.html',
      '/access/',
      '/www/../package.json',
      '/www/%2e%2e/%2e%2e/package.json',
      '/www/..%2f..%2fpackage.json',
      '/www/assets/..%5c..%5cpackage.json',
      '/access/%00.html',
      '/www/.hidden',
    ]) {
      const res = await rawGet(path);
      expect(res.status, path).toBe(404);
      expect(res.body).not.toContain('"name"');
    }
    // Other prefixes are API routes, not files.
    expect((await rawGet('/reg/service/info')).headers['content-type']).toContain('application/json');
  });

  it('path resolution stays inside /access, /www and /account', () => {
    expect(resolvePagePath('/www/login.html')).toBe(join(WEB_ROOT, 'www', 'login.html'));
    expect(resolvePagePath('/account/app.js')).toBe(join(WEB_ROOT, 'account', 'app.js'));
    expect(resolvePagePath('/account/../www/login.html')).toBeUndefined();
    expect(resolvePagePath('/www/../infra/stack.ts')).toBeUndefined();
    expect(resolvePagePath('/shared/web/www/login.html')).toBeUndefined();
    expect(resolvePagePath('/www/%E0%A4%A')).toBeUndefined();
  });

  it('pages carry no inline script or style and no secrets (CSP-friendly)', () => {
    for (const file of files(WEB_ROOT).filter((f) => f.endsWith('.html'))) {
      const html = readFileSync(file, 'utf8');
      expect(html, file).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
      expect(html, file).not.toMatch(/\son[a-z]+\s*=/i); // inline event handlers
      expect(html, file).not.toMatch(/style\s*=/i);
      // The pryv library's login-button fragment (www/assets/lib-js/) is put inside an app's page.
      if (!file.includes('/assets/lib-js/')) expect(html, file).toContain('name="viewport"');
    }
    for (const file of files(WEB_ROOT)) {
      expect(readFileSync(file, 'utf8'), file).not.toMatch(/admin[-_ ]?key|secret\s*[:=]/i);
    }
  });
});
