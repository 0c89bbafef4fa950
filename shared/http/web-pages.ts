/**
 * How the web pages of shared/web/ (consent, login, registration, password reset, the account
 * app, service assets) are served: the same paths and headers from the local gateway and, in AWS, from
 * CloudFront in front of their S3 bucket.
 */

/** The folders of shared/web/, each served under its own path: `/access/…`, `/www/…`, `/account/…`. */
export const PAGE_FOLDERS: readonly string[] = ['access', 'www', 'account'];

/** Service assets (`service/info` → `assets`): apps on any origin load them, as from Pryv.io. */
export const ASSETS_PATH_PREFIX = '/www/assets/';

/**
 * What the pages need and no more: own scripts and styles, API calls to this origin
 * and to the API's own origin, no framing (clickjacking a consent page would be bad).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};
