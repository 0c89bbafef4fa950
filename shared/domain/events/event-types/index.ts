/**
 * Event types (spec §5): the catalogue of known `{class}/{format}` types and the check of an
 * event's `content` against its type's JSON schema.
 *
 * - Known types: the bundled list (`default-event-types.json`, a verbatim copy of
 *   pryv/data-types 1.1.1 `flat.json`, plus the three `density/*` types that Pryv's own bundled
 *   list also has), optionally merged with a custom document named by `EVENT_TYPES_SOURCE`.
 * - Lookup is an exact key match on `types` (`numset/*` is literally a key).
 * - Schemas are compiled lazily, once per type and per catalogue, with no type coercion.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Ajv, ValidateFunction } from 'ajv';
import { API_VERSION } from '../../../config';
import { errors, PryvError } from '../../../errors';
import { log } from '../../../log';
import { toValidationItems, type ValidationItem } from '../../../validation';

export interface EventTypeCatalogue {
  version?: string;
  types: Record<string, object /* JSON schema */>;
  extras?: unknown;
  classes?: unknown;
}

import { SERIES_PREFIX } from '../../../model/series';

export { SERIES_PREFIX };

/**
 * Types that Pryv's bundled list (service-core `event-types.default.json`) has and the
 * data-types 1.1.1 `flat.json` lacks (spec §5). Merged under the JSON file's own types, so a
 * future version of the file that defines them wins.
 */
const BUNDLED_EXTRA_TYPES: Record<string, object> = {
  'density/g-dl': { type: 'number' },
  'density/mg-dl': { type: 'number' },
  'density/mmol-l': { type: 'number' },
};

const CONTENT_INVALID = "The event content's format is invalid.";
const FETCH_TIMEOUT_MS = 5_000;

/**
 * The bundled catalogue's file, read where this code is: beside this module in the sources,
 * beside the code in a function's asset (infra/bundling/function-code.ts copies it there). Data
 * read on first use, not code: 78 KB that a function which checks no content never parses.
 */
export const DEFAULT_CATALOGUE_FILE = 'default-event-types.json';

/** The bundled catalogue (the JSON file plus the three `density/*` types), a fresh copy each time. */
export async function loadDefaultCatalogue(): Promise<EventTypeCatalogue> {
  const file = JSON.parse(await readFile(new URL(`./${DEFAULT_CATALOGUE_FILE}`, import.meta.url), 'utf8')) as EventTypeCatalogue;
  return {
    version: file.version,
    types: { ...BUNDLED_EXTRA_TYPES, ...file.types },
    extras: file.extras,
    classes: file.classes,
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks the shape we rely on: an object whose `types` maps names to schema objects. */
function asCatalogue(doc: unknown, source: string): EventTypeCatalogue {
  if (!isPlainObject(doc)) throw new Error(`Invalid event-types document from ${source}: not a JSON object.`);
  if (!isPlainObject(doc.types)) {
    throw new Error(`Invalid event-types document from ${source}: "types" must be an object.`);
  }
  for (const [name, schema] of Object.entries(doc.types)) {
    if (!isPlainObject(schema)) {
      throw new Error(`Invalid event-types document from ${source}: the schema of "${name}" is not an object.`);
    }
  }
  if (doc.version !== undefined && typeof doc.version !== 'string') {
    throw new Error(`Invalid event-types document from ${source}: "version" must be a string.`);
  }
  return doc as unknown as EventTypeCatalogue;
}

/**
 * Reads an event-types document (same shape as data-types' `flat.json`) from an http(s) URL,
 * a `file://` URL or a file path. Throws an Error saying what went wrong and where.
 */
export async function loadCustomCatalogue(source: string, options: { timeoutMs?: number } = {}): Promise<EventTypeCatalogue> {
  let text: string;
  if (/^https?:\/\//i.test(source)) {
    const timeoutMs = options.timeoutMs ?? FETCH_TIMEOUT_MS;
    let res: Response;
    try {
      res = await fetch(source, {
        headers: { 'User-Agent': `Pryv.io/${API_VERSION}`, Accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const reason =
        err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')
          ? `no answer within ${timeoutMs} ms`
          : err instanceof Error
            ? err.message
            : String(err);
      throw new Error(`Could not fetch event types from ${source}: ${reason}`, { cause: err });
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new Error(`Could not fetch event types from ${source}: HTTP ${res.status}`);
    }
    try {
      text = await res.text();
    } catch (err) {
      throw new Error(`Could not read event types from ${source}: ${(err as Error).message}`, { cause: err });
    }
  } else {
    const path = source.startsWith('file://') ? fileURLToPath(source) : source;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new Error(`Could not read event types from ${source}: ${(err as Error).message}`, { cause: err });
    }
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`Invalid event-types document from ${source}: ${(err as Error).message}`, { cause: err });
  }
  return asCatalogue(doc, source);
}

/** A compiled schema, or the reason the type's schema could not be compiled. */
type Compiled = { validate: ValidateFunction } | { broken: string };

export class EventTypes {
  readonly version?: string;
  private readonly schemas = new Map<string, object>();
  private readonly compiled = new Map<string, Compiled>();
  private ajv?: Ajv;

  /** Later catalogues replace earlier ones' schemas type by type. */
  constructor(...catalogues: EventTypeCatalogue[]) {
    if (catalogues.length === 0) throw new Error('EventTypes needs at least one catalogue.');
    for (const catalogue of catalogues) {
      for (const [name, schema] of Object.entries(catalogue.types)) this.schemas.set(name, schema);
      if (catalogue.version !== undefined) this.version = catalogue.version;
    }
  }

  get size(): number {
    return this.schemas.size;
  }

  isKnown(type: string): boolean {
    return this.schemas.has(type);
  }

  schemaOf(type: string): object | undefined {
    return this.schemas.get(type);
  }

  /**
   * Spec §5, for events.create / events.update. The caller has already checked the type's
   * syntax. Throws `invalid-event-type` (series of an unknown type) or
   * `invalid-parameters-format` (content not matching the type's schema).
   */
  validateContent(type: string, content: unknown): void {
    if (type.startsWith(SERIES_PREFIX)) {
      if (!this.isKnown(type.slice(SERIES_PREFIX.length))) {
        throw new PryvError(
          'invalid-event-type',
          400,
          // Pryv's wording (api-errors `invalidEventType`); `data.type` is the full type.
          `Event type '${type}' not allowed for High-Frequency Series. Please use a predefined simple type`,
          { type },
        );
      }
      // The server generates a series holder's content; Pryv tests `content != null`.
      if (content !== undefined && content !== null) {
        throw errors.invalidParametersFormat(CONTENT_INVALID, 'Events of type High-frequency have a read-only content');
      }
      return;
    }
    const compiled = this.compile(type);
    if (!compiled) return; // unknown type: anything goes
    if ('broken' in compiled) {
      const item: ValidationItem = {
        code: 'SCHEMA_VALIDATION_FAILED',
        message: `The schema of event type "${type}" is invalid: ${compiled.broken}`,
        path: '#/',
        params: [type],
      };
      throw errors.invalidParametersFormat(CONTENT_INVALID, [item]);
    }
    const { validate } = compiled;
    if (!validate(content === undefined ? null : content)) {
      throw errors.invalidParametersFormat(CONTENT_INVALID, toValidationItems(validate.errors ?? []));
    }
  }

  private compile(type: string): Compiled | undefined {
    const cached = this.compiled.get(type);
    if (cached) return cached;
    const schema = this.schemas.get(type);
    if (!schema) return undefined;
    let result: Compiled;
    try {
      result = { validate: this.validator().compile(schema) };
    } catch (err) {
      // E.g. `"additionalProperties": "true"` in data-types 1.1.1 (`contact/facebook`,
      // `numset/*`). z-schema never accepts content for such a schema either.
      const reason = err instanceof Error ? err.message : String(err);
      log.warn('event type schema cannot be compiled; its content is always rejected', { type, reason });
      result = { broken: reason };
    }
    this.compiled.set(type, result);
    return result;
  }

  private validator(): Ajv {
    if (!this.ajv) {
      if (!newCompiler) throw new Error('event types: loadContentCompiler() was not awaited before checking a content');
      this.ajv = newCompiler((message, detail) => log[message === 'warning' ? 'warn' : 'error'](`event types: ajv ${message}`, { detail }));
    }
    return this.ajv;
  }
}

let newCompiler: typeof import('./compiler').newContentCompiler | undefined;

/**
 * Loads ajv's schema compiler, which only the checks of an event's content use: imported on
 * demand so that a function which never checks one (most of them import this module for its
 * constants) neither bundles nor evaluates it. getEventTypes() awaits it.
 */
export async function loadContentCompiler(): Promise<void> {
  newCompiler ??= (await import('./compiler')).newContentCompiler;
}

let instance: Promise<EventTypes> | undefined;

/**
 * The process's catalogue: the default one, merged with `EVENT_TYPES_SOURCE` (file path or
 * URL) when set. A custom source that cannot be loaded is logged and skipped.
 */
export function getEventTypes(): Promise<EventTypes> {
  instance ??= build();
  return instance;
}

async function build(): Promise<EventTypes> {
  const [base] = await Promise.all([loadDefaultCatalogue(), loadContentCompiler()]);
  const source = process.env.EVENT_TYPES_SOURCE?.trim();
  if (!source) return new EventTypes(base);
  try {
    const custom = await loadCustomCatalogue(source);
    return new EventTypes(base, custom);
  } catch (err) {
    log.warn('custom event types not loaded; using the bundled list', { source, error: err });
    return new EventTypes(base);
  }
}

/** Forgets the singleton (tests; or to pick up a changed `EVENT_TYPES_SOURCE`). */
export function resetEventTypes(): void {
  instance = undefined;
}
