import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ASSETS_PATH_PREFIX, folderSecurityHeaders, PAGE_FOLDERS, SECURITY_HEADERS } from '../../shared/http/web-pages';
import { apiDescription } from '../openapi';
import { VENDOR_FILES } from '../web-vendor-files';

/**
 * The web pages (consent, registration, login, password reset, the account app) as the
 * local gateway serves them: `/access/*`, `/www/*` and `/account/*` from shared/web/, as
 * S3 + CloudFront do in AWS. Static files only; anything outside those folders is never read.
 */

export const WEB_ROOT = resolve(fileURLToPath(new URL('../../shared/web/', import.meta.url)));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** The file a URL path names, or `undefined` if it is not a page path or escapes its folder. */
export function resolvePagePath(pathname: string, root: string = WEB_ROOT): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const segments = decoded.split('/').filter((s) => s.length > 0);
  if (segments.length === 0 || !PAGE_FOLDERS.includes(segments[0]!)) return undefined;
  if (segments.some((s) => s === '..' || s === '.' || s.startsWith('.'))) return undefined;
  if (decoded.endsWith('/')) segments.push('index.html');
  const file = resolve(join(root, ...segments));
  const folder = resolve(join(root, segments[0]!));
  return file.startsWith(folder + sep) ? file : undefined;
}

export const isPagePath = (pathname: string) =>
  PAGE_FOLDERS.some((folder) => pathname === `/${folder}` || pathname.startsWith(`/${folder}/`));

export interface PageOptions {
  root?: string;
  /** Where presigned URLs point (the S3 emulator): the uploading pages may connect there. */
  storageOrigin?: string;
}

/**
 * Serves one page request (GET/HEAD); 404 for anything not found, 405 for other verbs. A
 * folder named without its trailing slash (`/account`) is redirected to it, so that the
 * page's relative links resolve inside the folder (CloudFront does the same in AWS).
 */
export async function servePage(req: IncomingMessage, res: ServerResponse, url: URL, options: PageOptions = {}): Promise<void> {
  const { pathname } = url;
  const headers = folderSecurityHeaders(pathname.split('/')[1] ?? '', options.storageOrigin);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
    res.end('Method Not Allowed');
    return;
  }
  const vendor = VENDOR_FILES[pathname.slice(1)];
  let file = vendor ?? resolvePagePath(pathname, options.root);
  const isDirectory = async (path: string) => (await stat(path).catch(() => undefined))?.isDirectory() === true;
  // `/account` is the folder itself (outside it for resolvePagePath); `/www/assets` one inside it.
  const folderRoot = PAGE_FOLDERS.includes(pathname.slice(1));
  if (!pathname.endsWith('/') && (folderRoot || (file !== undefined && (await isDirectory(file))))) {
    res.writeHead(301, { location: `${pathname}/${url.search}`, 'content-type': 'text/plain; charset=utf-8', ...headers });
    res.end('Moved Permanently');
    return;
  }
  if (file && (await isDirectory(file))) file = join(file, 'index.html');
  const body = file ? await readFile(file).catch(() => undefined) : undefined;
  if (!file || !body) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...headers });
    res.end('Not Found');
    return;
  }
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'content-length': body.length,
    'cache-control': 'no-cache',
    ...headers,
    ...(pathname.startsWith(ASSETS_PATH_PREFIX) ? { 'access-control-allow-origin': '*' } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

let description: Buffer | undefined;

/**
 * `GET /openapi.json`: the API's OpenAPI document, built once from the registry, with the
 * headers CloudFront gives it in AWS (any origin may read it).
 */
export function serveApiDescription(req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
    res.end('Method Not Allowed');
    return;
  }
  description ??= Buffer.from(JSON.stringify(apiDescription()));
  res.writeHead(200, {
    'content-type': CONTENT_TYPES['.json']!,
    'content-length': description.length,
    'cache-control': 'no-cache',
    ...SECURITY_HEADERS,
    'access-control-allow-origin': '*',
  });
  res.end(req.method === 'HEAD' ? undefined : description);
}
