import { createRequire } from 'node:module';
import { openApiDocument } from '../shared/api/openapi';
import { METHODS } from '../shared/api/registry';

const require = createRequire(import.meta.url);
const { version } = require('../package.json') as { version: string };

/**
 * The API's OpenAPI document, as `/openapi.json` serves it: from the local gateway, and from
 * the pages bucket behind CloudFront in AWS (written there at deployment, as the registry
 * it describes is the one deployed).
 */
export function apiDescription(): Record<string, unknown> {
  return openApiDocument(METHODS, {
    title: 'Pryv-compatible personal data API',
    version,
    description:
      'Every route of the method registry. Paths hold the user name (`/{username}/events`); a call answers its result with `meta`, or `{error: {id, message, data?}}`. The browsable page is `/www/api/`.',
  });
}
