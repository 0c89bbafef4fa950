import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/**
 * Browser modules the pages import from npm packages, by their path under the web root:
 * served from node_modules by the local gateway (infra/local/static-pages.ts) and copied
 * into the pages bucket by the stack (infra/constructs/web-front.ts), so no package code is
 * kept in the repository and no build step is needed.
 */
export const VENDOR_FILES: Readonly<Record<string, string>> = {
  // uqr's ES module build: one file, no imports (the QR code of the TOTP secret). Named
  // `.js` so that S3 stores it as JavaScript (browsers refuse modules of another type).
  'account/vendor/uqr.js': join(dirname(require.resolve('uqr')), 'index.mjs'),
};
