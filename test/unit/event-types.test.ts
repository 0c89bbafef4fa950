import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type EventTypeCatalogue,
  EventTypes,
  getEventTypes,
  loadContentCompiler,
  loadCustomCatalogue,
  loadDefaultCatalogue,
  resetEventTypes,
} from '../../shared/domain/events/event-types';
import { PryvError } from '../../shared/errors';
import { log } from '../../shared/log';

// The schema compiler is loaded on demand (getEventTypes awaits it); these tests build catalogues themselves.
beforeAll(loadContentCompiler);

const types = new EventTypes(await loadDefaultCatalogue());

/** Runs `fn`, expects a PryvError and returns it. */
function caught(fn: () => void): PryvError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PryvError);
    return err as PryvError;
  }
  throw new Error('expected a PryvError, nothing was thrown');
}

interface Item {
  code: string;
  message: string;
  path: string;
  params?: unknown;
}

/** Expects `invalid-parameters-format` (400) with z-schema-style items and returns them. */
function contentError(type: string, content: unknown): Item[] {
  const err = caught(() => types.validateContent(type, content));
  expect(err.id).toBe('invalid-parameters-format');
  expect(err.status).toBe(400);
  expect(err.message).toBe("The event content's format is invalid.");
  expect(Array.isArray(err.data)).toBe(true);
  const items = err.data as Item[];
  expect(items.length).toBeGreaterThan(0);
  for (const item of items) {
    expect(typeof item.code).toBe('string');
    expect(typeof item.message).toBe('string');
    expect(item.path.startsWith('#')).toBe(true);
  }
  return items;
}

const dir = mkdtempSync(join(tmpdir(), 'event-types-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeCatalogue(name: string, doc: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return path;
}

describe('default catalogue', () => {
  let catalogue: EventTypeCatalogue;
  beforeAll(async () => {
    catalogue = await loadDefaultCatalogue();
  });

  it('is data-types 1.1.1 (354 types) plus the three bundled density types', () => {
    expect(catalogue.version).toBe('1.1.1');
    expect(Object.keys(catalogue.types)).toHaveLength(357);
    expect(types.size).toBe(357);
    for (const t of ['density/g-dl', 'density/mg-dl', 'density/mmol-l']) {
      expect(types.isKnown(t), t).toBe(true);
      expect(types.schemaOf(t)).toEqual({ type: 'number' });
    }
    expect(catalogue.extras).toBeTypeOf('object');
    expect(catalogue.classes).toBeTypeOf('object');
  });

  it('returns a fresh object each time (callers cannot corrupt the bundled list)', async () => {
    const a = await loadDefaultCatalogue();
    delete a.types['mass/kg'];
    expect((await loadDefaultCatalogue()).types['mass/kg']).toBeDefined();
  });

  it('looks types up by exact key', () => {
    expect(types.isKnown('mass/kg')).toBe(true);
    expect(types.isKnown('numset/*')).toBe(true);
    expect(types.isKnown('numset/heart')).toBe(false);
    expect(types.isKnown('mass/*')).toBe(false);
    expect(types.isKnown('series:mass/kg')).toBe(false);
    expect(types.isKnown('Mass/kg')).toBe(false);
    expect(types.isKnown('toString')).toBe(false);
    expect(types.isKnown('__proto__')).toBe(false);
  });
});

describe('validateContent: known types', () => {
  it('accepts content that matches the schema', () => {
    expect(() => types.validateContent('mass/kg', 70)).not.toThrow();
    expect(() => types.validateContent('mass/kg', 70.5)).not.toThrow();
    expect(() => types.validateContent('density/mmol-l', 5.4)).not.toThrow();
    expect(() => types.validateContent('note/txt', 'Hello')).not.toThrow();
    expect(() => types.validateContent('boolean/bool', false)).not.toThrow();
    expect(() => types.validateContent('attributes/blood-type', 'oNegative')).not.toThrow();
    expect(() =>
      types.validateContent('position/wgs84', { latitude: 46.5, longitude: 6.6, altitude: 372, horizontalAccuracy: 5 }),
    ).not.toThrow();
    // position/wgs84 does not forbid other properties
    expect(() => types.validateContent('position/wgs84', { latitude: 0, longitude: 0, label: 'x' })).not.toThrow();
    expect(() =>
      types.validateContent('message/email', { from: 'a@b.ch', to: 'c@d.ch', body: 'hi', 'x-headers': { 'X-A': '1' } }),
    ).not.toThrow();
  });

  it('does not coerce: a numeric string is not a number', () => {
    const items = contentError('mass/kg', '70');
    expect(items).toEqual([{ code: 'INVALID_TYPE', message: expect.any(String), path: '#', params: ['number'] }]);
    expect(contentError('note/txt', 5)[0]!.code).toBe('INVALID_TYPE');
    expect(contentError('boolean/bool', 'true')[0]!.code).toBe('INVALID_TYPE');
    expect(contentError('position/wgs84', [46.5, 6.6])[0]!.code).toBe('INVALID_TYPE');
  });

  it('validates absent content as null', () => {
    expect(contentError('mass/kg', undefined)[0]!.code).toBe('INVALID_TYPE');
    expect(contentError('mass/kg', null)[0]!.code).toBe('INVALID_TYPE');
  });

  it('reports every error (allErrors) with its path', () => {
    const items = contentError('position/wgs84', { latitude: 'north', speed: '3' });
    const byCode = (code: string) => items.filter((i) => i.code === code);
    expect(byCode('OBJECT_MISSING_REQUIRED_PROPERTY')).toEqual([
      { code: 'OBJECT_MISSING_REQUIRED_PROPERTY', message: expect.any(String), path: '#', params: ['longitude'] },
    ]);
    expect(
      byCode('INVALID_TYPE')
        .map((i) => i.path)
        .sort(),
    ).toEqual(['#/latitude', '#/speed']);
    expect(items).toHaveLength(3);
  });

  it('maps other keywords to z-schema codes', () => {
    expect(contentError('attributes/blood-type', 'green')[0]!.code).toBe('ENUM_MISMATCH');
    const secret = contentError('shared-secret/item', {
      keyHash: 'not-hex',
      title: '',
      status: 'pending',
      statusHistory: [],
      onConsumed: 'keep',
    });
    const codes = secret.map((i) => i.code);
    expect(codes).toContain('PATTERN');
    expect(codes).toContain('MIN_LENGTH');
    expect(codes).toContain('ARRAY_LENGTH_SHORT');
  });

  it('honours `"type": "null"` schemas (no content)', () => {
    expect(types.schemaOf('activity/plain')).toMatchObject({ type: 'null' });
    expect(() => types.validateContent('activity/plain', undefined)).not.toThrow();
    expect(() => types.validateContent('activity/plain', null)).not.toThrow();
    expect(contentError('activity/plain', 1)[0]!.code).toBe('INVALID_TYPE');
    expect(contentError('activity/plain', 'run')[0]!.code).toBe('INVALID_TYPE');
    expect(contentError('activity/plain', {})[0]!.code).toBe('INVALID_TYPE');
  });

  it('ignores extra keywords such as attachmentRequired', () => {
    expect(types.schemaOf('picture/attached')).toMatchObject({ type: 'null', attachmentRequired: true });
    expect(() => types.validateContent('picture/attached', undefined)).not.toThrow();
    expect(contentError('picture/attached', 'img')[0]!.code).toBe('INVALID_TYPE');
  });

  it('tolerates the misplaced `required` of audiogram/data and clinical/fhir like z-schema does', () => {
    expect(() => types.validateContent('audiogram/data', { sensitivityPoints: [] })).not.toThrow();
    expect(() => types.validateContent('clinical/fhir', { displayName: 'x', clinicalType: 'allergyRecord' })).not.toThrow();
    expect(contentError('clinical/fhir', { clinicalType: 'nope' })[0]!.code).toBe('ENUM_MISMATCH');
  });

  it('rejects content for a type whose schema cannot be compiled (contact/facebook), warning once', async () => {
    const warn = vi.spyOn(log, 'warn').mockImplementation(() => undefined);
    try {
      const fresh = new EventTypes(await loadDefaultCatalogue());
      for (let i = 0; i < 3; i++) {
        const items = (() => {
          const err = caught(() => fresh.validateContent('contact/facebook', { id: '42' }));
          expect(err.id).toBe('invalid-parameters-format');
          return err.data as Item[];
        })();
        expect(items[0]!.code).toBe('SCHEMA_VALIDATION_FAILED');
      }
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('validateContent: unknown and series types', () => {
  it('accepts any content for an unknown type', () => {
    for (const content of [undefined, null, 1, 'x', true, [1, 2], { a: { b: 'c' } }]) {
      expect(() => types.validateContent('my-class/my-format', content)).not.toThrow();
    }
    expect(() => types.validateContent('numset/heart', 'not an object')).not.toThrow();
  });

  it('accepts a known series type without content', () => {
    expect(() => types.validateContent('series:mass/kg', undefined)).not.toThrow();
    expect(() => types.validateContent('series:position/wgs84', undefined)).not.toThrow();
  });

  it('rejects content on a known series type', () => {
    for (const content of [70, [], { points: [] }, 'x', 0, false]) {
      const err = caught(() => types.validateContent('series:mass/kg', content));
      expect(err.id).toBe('invalid-parameters-format');
      expect(err.status).toBe(400);
    }
  });

  it('rejects a series of an unknown type with invalid-event-type', () => {
    for (const content of [undefined, 1]) {
      const err = caught(() => types.validateContent('series:unknown/thing', content));
      expect(err.id).toBe('invalid-event-type');
      expect(err.status).toBe(400);
      expect(err.data).toEqual({ type: 'series:unknown/thing' });
    }
    // `numset/*` is a key, `numset/heart` is not
    expect(caught(() => types.validateContent('series:numset/heart', undefined)).id).toBe('invalid-event-type');
  });
});

describe('custom catalogues', () => {
  const custom: EventTypeCatalogue = {
    version: '9.9.9',
    types: {
      'mass/kg': { type: 'string' },
      'custom/strict': {
        type: 'object',
        properties: { a: { type: 'number' } },
        required: ['a'],
        additionalProperties: false,
      },
    },
  };

  it('adds and overrides types, later catalogues winning', async () => {
    const merged = new EventTypes(await loadDefaultCatalogue(), custom);
    expect(merged.version).toBe('9.9.9');
    expect(merged.size).toBe(358);
    expect(merged.isKnown('custom/strict')).toBe(true);
    expect(merged.isKnown('note/txt')).toBe(true);
    expect(() => merged.validateContent('mass/kg', 'seventy')).not.toThrow();
    expect(caught(() => merged.validateContent('mass/kg', 70)).id).toBe('invalid-parameters-format');

    const reversed = new EventTypes(custom, await loadDefaultCatalogue());
    expect(reversed.version).toBe('1.1.1');
    expect(() => reversed.validateContent('mass/kg', 70)).not.toThrow();
    expect(caught(() => reversed.validateContent('mass/kg', 'seventy')).id).toBe('invalid-parameters-format');
    // the default catalogue's own EventTypes is untouched
    expect(types.isKnown('custom/strict')).toBe(false);
    expect(() => types.validateContent('mass/kg', 70)).not.toThrow();
  });

  it('enforces additionalProperties: false', () => {
    const merged = new EventTypes(custom);
    expect(() => merged.validateContent('custom/strict', { a: 1 })).not.toThrow();
    const err = caught(() => merged.validateContent('custom/strict', { a: 1, b: 2 }));
    expect(err.id).toBe('invalid-parameters-format');
    expect(err.data).toEqual([{ code: 'OBJECT_ADDITIONAL_PROPERTIES', message: expect.any(String), path: '#/b', params: ['b'] }]);
  });

  it('compiles schemas lazily: a broken schema does not fail construction, only its own type', () => {
    const warn = vi.spyOn(log, 'warn').mockImplementation(() => undefined);
    try {
      const merged = new EventTypes({ types: { 'bad/type': { type: 'no-such-type' }, 'good/type': { type: 'number' } } });
      expect(() => merged.validateContent('good/type', 1)).not.toThrow();
      expect(warn).not.toHaveBeenCalled();
      expect(caught(() => merged.validateContent('bad/type', 1)).id).toBe('invalid-parameters-format');
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
  });

  it('accepts draft-04 documents carrying `id` and uses formats', () => {
    const merged = new EventTypes({
      types: { 'contact/mail': { id: 'http://example.com/mail', type: 'string', format: 'email' } },
    });
    expect(() => merged.validateContent('contact/mail', 'a@b.ch')).not.toThrow();
    expect((caught(() => merged.validateContent('contact/mail', 'nope')).data as Item[])[0]!.code).toBe('INVALID_FORMAT');
  });

  it('loads a document from a file path or file:// URL', async () => {
    const path = writeCatalogue('custom.json', custom);
    const fromPath = await loadCustomCatalogue(path);
    expect(fromPath.version).toBe('9.9.9');
    expect(fromPath.types['custom/strict']).toEqual(custom.types['custom/strict']);
    const fromUrl = await loadCustomCatalogue(pathToFileURL(path).href);
    expect(fromUrl).toEqual(fromPath);
    const merged = new EventTypes(await loadDefaultCatalogue(), fromPath);
    expect(() => merged.validateContent('mass/kg', 'seventy')).not.toThrow();
    expect(merged.isKnown('custom/strict')).toBe(true);
  });

  it('throws clear errors for missing or malformed documents', async () => {
    await expect(loadCustomCatalogue(join(dir, 'missing.json'))).rejects.toThrow(/missing\.json/);
    await expect(loadCustomCatalogue(writeCatalogue('bad.json', '{ not json'))).rejects.toThrow(/Invalid event-types document/);
    await expect(loadCustomCatalogue(writeCatalogue('no-types.json', { version: '1' }))).rejects.toThrow(/"types"/);
    await expect(loadCustomCatalogue(writeCatalogue('array.json', [1]))).rejects.toThrow(/not a JSON object/);
    await expect(loadCustomCatalogue(writeCatalogue('bad-schema.json', { types: { 'a/b': 5 } }))).rejects.toThrow(/"a\/b"/);
  });

  describe('over http', () => {
    let server: Server;
    let base: string;
    const seen: IncomingMessage['headers'][] = [];

    beforeAll(async () => {
      server = createServer((req, res) => {
        seen.push(req.headers);
        if (req.url === '/flat.json') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(custom));
        } else if (req.url === '/slow.json') {
          // never answers
        } else {
          res.writeHead(404);
          res.end('not found');
        }
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('fetches the document with the Pryv.io user agent', async () => {
      const doc = await loadCustomCatalogue(`${base}/flat.json`);
      expect(doc.types['custom/strict']).toEqual(custom.types['custom/strict']);
      expect(seen.at(-1)?.['user-agent']).toBe('Pryv.io/1.9.3');
    });

    it('throws on an HTTP error status', async () => {
      await expect(loadCustomCatalogue(`${base}/nope.json`)).rejects.toThrow(/HTTP 404/);
    });

    it('gives up after the timeout', async () => {
      const started = Date.now();
      await expect(loadCustomCatalogue(`${base}/slow.json`, { timeoutMs: 200 })).rejects.toThrow(/no answer within 200 ms/);
      expect(Date.now() - started).toBeLessThan(3000);
    });
  });
});

describe('getEventTypes', () => {
  const saved = process.env.EVENT_TYPES_SOURCE;
  afterEach(() => {
    if (saved === undefined) delete process.env.EVENT_TYPES_SOURCE;
    else process.env.EVENT_TYPES_SOURCE = saved;
    resetEventTypes();
    vi.restoreAllMocks();
  });

  it('is a per-process singleton of the default catalogue', async () => {
    delete process.env.EVENT_TYPES_SOURCE;
    resetEventTypes();
    const [a, b] = await Promise.all([getEventTypes(), getEventTypes()]);
    expect(a).toBe(b);
    expect(await getEventTypes()).toBe(a);
    expect(a.size).toBe(357);
    expect(a.version).toBe('1.1.1');
    resetEventTypes();
    expect(await getEventTypes()).not.toBe(a);
  });

  it('merges EVENT_TYPES_SOURCE when set', async () => {
    process.env.EVENT_TYPES_SOURCE = writeCatalogue('env.json', {
      version: '2.0.0',
      types: { 'mass/kg': { type: 'string' }, 'extra/type': { type: 'boolean' } },
    });
    resetEventTypes();
    const merged = await getEventTypes();
    expect(merged.version).toBe('2.0.0');
    expect(merged.size).toBe(358);
    expect(merged.isKnown('extra/type')).toBe(true);
    expect(() => merged.validateContent('mass/kg', 'seventy')).not.toThrow();
    expect(() => merged.validateContent('extra/type', true)).not.toThrow();
  });

  it('falls back to the default catalogue (with a warning) when the source is broken', async () => {
    const warn = vi.spyOn(log, 'warn').mockImplementation(() => undefined);
    for (const source of [join(dir, 'does-not-exist.json'), writeCatalogue('broken.json', '{"types": ')]) {
      process.env.EVENT_TYPES_SOURCE = source;
      resetEventTypes();
      const fallback = await getEventTypes();
      expect(fallback.size).toBe(357);
      expect(fallback.version).toBe('1.1.1');
      expect(() => fallback.validateContent('mass/kg', 70)).not.toThrow();
      expect(warn).toHaveBeenLastCalledWith(expect.any(String), expect.objectContaining({ source }));
    }
    expect(warn).toHaveBeenCalledTimes(2);
  });
});
