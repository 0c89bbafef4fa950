import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const swaggerUi = dirname(require.resolve('swagger-ui-dist/package.json'));

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
  // Swagger UI renders the API reference page (www/api/) from /openapi.json: its script and
  // its stylesheet are separate files, so the pages' CSP (no inline script or style) holds.
  'www/api/swagger-ui-bundle.js': join(swaggerUi, 'swagger-ui-bundle.js'),
  'www/api/swagger-ui.css': join(swaggerUi, 'swagger-ui.css'),
};
