import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * The ajv instance that compiles event types' content schemas (./index.ts loads this module
 * on demand): the catalogue is data, possibly a custom one read at run time, so its schemas are
 * compiled as types are met, not at build time like the methods' parameters.
 */
export function newContentCompiler(report: (message: 'warning' | 'error', detail: string) => void): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    strict: false, // `attachmentRequired`, `extras`, `symbol`… are ignored, not enforced
    // Pryv's z-schema does not check schemas against the meta-schema, only keyword value
    // types: e.g. `properties.required: [...]` (audiogram/data, clinical/fhir) is tolerated.
    validateSchema: false,
    unicodeRegExp: false, // patterns as plain JS RegExp, like z-schema
    addUsedSchema: false, // `$id`s in different types must not collide
    logger: {
      log: () => undefined,
      warn: (...args: unknown[]) => report('warning', args.map(String).join(' ')),
      error: (...args: unknown[]) => report('error', args.map(String).join(' ')),
    },
  });
  // Draft-04 documents may carry `id` (ajv 8 throws on it); we resolve no refs across
  // types, so it is just an annotation here.
  ajv.removeKeyword('id');
  addFormats(ajv);
  return ajv;
}
