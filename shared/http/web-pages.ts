/**
 * How the web pages of shared/web/ (consent, login, registration, password reset, the account
 * app, service assets) are served: the same paths and headers from the local gateway and, in AWS, from
 * CloudFront in front of their S3 bucket.
 */

/** The folders of shared/web/, each served under its own path: `/access/…`, `/www/…`, `/account/…`. */
export const PAGE_FOLDERS: readonly string[] = ['access', 'www', 'account'];

/**
 * The API's OpenAPI document (shared/api/openapi.ts), beside the pages: any origin may read it,
 * as apps and API tools load it from elsewhere. Its browsable page is `/www/api/`.
 */
export const OPENAPI_PATH = '/openapi.json';

/** Service assets (`service/info` → `assets`): apps on any origin load them, as from Pryv.io. */
export const ASSETS_PATH_PREFIX = '/www/assets/';

/**
 * Folders whose pages send a file straight to storage with a presigned PUT (the account app
 * importing an archive): only they may connect to the storage origin.
 */
export const STORAGE_UPLOAD_FOLDERS: readonly string[] = ['account'];

/**
 * What the pages need and no more: own scripts and styles, API calls to this origin (plus,
 * for uploading pages, the storage origin), no framing (clickjacking a consent page would be bad).
 */
export function contentSecurityPolicy(connectOrigins: readonly string[] = []): string {
  const connect = ["'self'", ...connectOrigins].join(' ');
  return `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src ${connect}; frame-ancestors 'none'; form-action 'self'; base-uri 'none'`;
}

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': contentSecurityPolicy(),
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

/**
 * The origin presigned URLs point at, hence where uploading pages may connect: the local
 * emulator's endpoint, or S3's virtual-hosted address of the bucket in its region
 * (`https://{bucket}.s3.{region}.{urlSuffix}`), which is how the AWS SDK signs URLs for a
 * bucket name without dots (the stack's). The parts may be CDK tokens.
 */
export function storageOrigin(storage: { endpoint?: string; bucketName: string; region: string; urlSuffix?: string }): string {
  if (storage.endpoint) return new URL(storage.endpoint).origin;
  return `https://${storage.bucketName}.s3.${storage.region}.${storage.urlSuffix ?? 'amazonaws.com'}`;
}

/** The security headers of the pages of one folder. */
export function folderSecurityHeaders(folder: string, storage: string | undefined): Readonly<Record<string, string>> {
  if (!storage || !STORAGE_UPLOAD_FOLDERS.includes(folder)) return SECURITY_HEADERS;
  return { ...SECURITY_HEADERS, 'Content-Security-Policy': contentSecurityPolicy([storage]) };
}
