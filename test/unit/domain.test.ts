import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatorsModuleSource } from '../../infra/bundling/params-validators';
import { paramsValidator } from '../../shared/api/params-validators';
import { DEFAULT_TRUSTED_APPS } from '../../shared/config';
import { apiEndpoint } from '../../shared/domain/accesses/api-endpoint';
import { hashPassword, isSupportedHash, verifyPassword } from '../../shared/domain/accounts/passwords';
import { isTrustedApp, parseTrustedApps } from '../../shared/domain/accounts/trusted-apps';
import { PryvError } from '../../shared/errors';
import { newId, newToken, randomKey } from '../../shared/ids';
import { checkParams, type JsonSchema } from '../../shared/validation';

describe('trusted apps', () => {
  const trusted = parseTrustedApps('*@https://*.pryv.me*, my-app@http://localhost:*');
  it('matches app id and origin patterns with * wildcards', () => {
    expect(isTrustedApp(trusted, 'anything', 'https://sw.pryv.me')).toBe(true);
    expect(isTrustedApp(trusted, 'my-app', 'http://localhost:4000')).toBe(true);
    expect(isTrustedApp(trusted, 'other-app', 'http://localhost:4000')).toBe(false);
    expect(isTrustedApp(trusted, 'anything', 'https://evil.example.com')).toBe(false);
    expect(isTrustedApp(trusted, 'anything', 'https://pryv.me.evil.com')).toBe(false);
    expect(isTrustedApp(trusted, undefined, 'https://sw.pryv.me')).toBe(false);
  });
  it('treats dots literally', () => {
    expect(isTrustedApp(parseTrustedApps('*@https://a.b'), 'x', 'https://aXb')).toBe(false);
  });
  it('lets local development and the pryv library origins in by default', () => {
    const defaults = parseTrustedApps(DEFAULT_TRUSTED_APPS);
    for (const origin of ['http://127.0.0.1:3000', 'http://localhost:8080', 'https://l.rec.la:4443', 'https://xyz.backloop.dev']) {
      expect(isTrustedApp(defaults, 'some-app', origin), origin).toBe(true);
    }
    expect(isTrustedApp(defaults, 'some-app', 'https://example.com')).toBe(false);
  });
});

describe('passwords', () => {
  it('hash with a salt and verify', async () => {
    const a = await hashPassword('s3cret!');
    const b = await hashPassword('s3cret!');
    expect(a).not.toBe(b);
    expect(a.startsWith('scrypt$')).toBe(true);
    expect(a).not.toContain('s3cret!');
    expect(await verifyPassword('s3cret!', a)).toBe(true);
    expect(await verifyPassword('s3cret?', a)).toBe(false);
    expect(await verifyPassword('s3cret!', 'garbage')).toBe(false);
  });
  it('verify Pryv bcrypt hashes', async () => {
    const hash = bcrypt.hashSync('legacy-pw', 4);
    expect(isSupportedHash(hash)).toBe(true);
    expect(await verifyPassword('legacy-pw', hash)).toBe(true);
    expect(await verifyPassword('other', hash)).toBe(false);
    expect(isSupportedHash('plain')).toBe(false);
  });
});

describe('ids', () => {
  it('look like v1 cuids and do not repeat', () => {
    const ids = new Set(Array.from({ length: 2000 }, newId));
    expect(ids.size).toBe(2000);
    for (const id of ids) expect(id).toMatch(/^c[a-z0-9]{24}$/);
    expect(newToken()).toMatch(/^c[a-z0-9]{24}$/);
    expect(randomKey(16)).toMatch(/^[0-9A-Za-z]{16}$/);
  });
});

describe('apiEndpoint', () => {
  it('inserts the token as userinfo and ends with a slash', () => {
    expect(apiEndpoint('https://api.example.com', 'alice', 'tok')).toBe('https://tok@api.example.com/alice/');
    expect(apiEndpoint('http://127.0.0.1:3000', 'alice')).toBe('http://127.0.0.1:3000/alice/');
  });
});

describe('parameter validation', () => {
  const schema: JsonSchema = {
    type: 'object',
    properties: { limit: { type: 'number' }, tags: { type: 'array', items: { type: 'string' } }, name: { type: 'string', minLength: 2 } },
    required: ['name'],
    additionalProperties: false,
  };
  // Compiled as a method's validators are at build time (infra/bundling/params-validators.ts), then loaded.
  const validateParams = (params: unknown, coerce: boolean) => checkParams(paramsValidator('test.validation', coerce), params);
  let dir = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pryv-validators-'));
    for (const kind of ['strict', 'coercing'] as const) {
      const file = join(dir, `test.validation.${kind}.mjs`);
      writeFileSync(file, validatorsModuleSource('test.validation', schema, kind));
      await import(pathToFileURL(file).href);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('coerces query strings only when asked', () => {
    const params: Record<string, unknown> = { limit: '20', tags: 'one', name: 'ok' };
    validateParams(params, true);
    expect(params).toEqual({ limit: 20, tags: ['one'], name: 'ok' });
    expect(() => validateParams({ limit: '20', name: 'ok' }, false)).toThrow(PryvError);
  });
  it('reports z-schema style items', () => {
    try {
      validateParams({ name: 'x', extra: 1 }, false);
      expect.unreachable();
    } catch (err) {
      const e = err as PryvError;
      expect(e.id).toBe('invalid-parameters-format');
      const codes = (e.data as Array<{ code: string; path: string }>).map((d) => d.code).sort();
      expect(codes).toEqual(['MIN_LENGTH', 'OBJECT_ADDITIONAL_PROPERTIES']);
    }
  });
});
