import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cruise, type ICruiseOptions, type ICruiseResult } from 'dependency-cruiser';
import extractDepcruiseConfig from 'dependency-cruiser/config-utl/extract-depcruise-config';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The dependency rules of README "How the code is laid out", as .dependency-cruiser.cjs
 * writes them: no import circle, every import points down the layers. A new circle or
 * upward import fails here, naming the rule and the modules.
 */

async function check(paths: string[], baseDir?: string): Promise<string[]> {
  const { options, ...ruleSet } = await extractDepcruiseConfig(join(process.cwd(), '.dependency-cruiser.cjs'));
  const cruiseOptions: ICruiseOptions = { ...options, validate: true, ruleSet, ...(baseDir ? { baseDir, tsConfig: undefined } : {}) };
  const { output } = await cruise(paths, cruiseOptions);
  return (output as ICruiseResult).summary.violations.map(
    (v) => `${v.rule.name}: ${v.from} → ${v.to}${v.cycle ? ` (${v.cycle.map((c) => c.name).join(' → ')})` : ''}`,
  );
}

describe('dependency rules', () => {
  it('the code has no import circle and no upward import', async () => {
    expect(await check(['shared', 'functions', 'infra'])).toEqual([]);
  }, 60_000);

  describe('catch what they are meant to catch', () => {
    const root = mkdtempSync(join(tmpdir(), 'dependency-rules-'));
    afterAll(() => rmSync(root, { recursive: true, force: true }));
    const write = (files: Record<string, string>) => {
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(root, path)), { recursive: true });
        writeFileSync(join(root, path), text);
      }
    };

    it('an upward import, a sideways one between transports, a circle, the registry imported from shared code', async () => {
      write({
        'shared/config.ts': 'export const x = 1;\n',
        'shared/api/types.ts': "import { x } from '../config';\nexport const y = x;\n",
        'shared/domain/uses-api.ts': "import { y } from '../api/types';\nexport const z = y;\n",
        'shared/store/a.ts': "import { b } from './b';\nexport const a = () => b;\n",
        'shared/store/b.ts': "import { a } from './a';\nexport const b = () => a;\n",
        'shared/http/h.ts': "import { s } from '../socketio/s';\nexport const h = s;\n",
        'shared/socketio/s.ts': 'export const s = 1;\n',
        'shared/api/registry.ts': 'export const METHODS = [];\n',
        'shared/api/batch.ts': "import { METHODS } from './registry';\nexport const all = METHODS;\n",
        'functions/api/f.ts': "import { METHODS } from '../../shared/api/registry';\nexport const handler = METHODS;\n",
      });
      const violations = await check(['shared', 'functions'], root);
      expect(violations).toEqual(
        expect.arrayContaining([
          'domain-imports-upward: shared/domain/uses-api.ts → shared/api/types.ts',
          'http-imports-a-sibling: shared/http/h.ts → shared/socketio/s.ts',
          'registry-only-at-the-top: shared/api/batch.ts → shared/api/registry.ts',
          expect.stringMatching(/^no-circular: shared\/store\/a\.ts → shared\/store\/b\.ts/),
        ]),
      );
      // Imports that point down are fine: the API importing the core, an entry point importing the registry.
      expect(violations.some((v) => v.includes('shared/api/types.ts → shared/config.ts'))).toBe(false);
      expect(violations.some((v) => v.startsWith('registry-only-at-the-top: functions/'))).toBe(false);
    }, 60_000);

    it('the production stack importing the local runtime, and a circle closed by a lazy import()', async () => {
      const dir = join(root, 'second');
      const put = (files: Record<string, string>) => {
        for (const [path, text] of Object.entries(files)) {
          mkdirSync(dirname(join(dir, path)), { recursive: true });
          writeFileSync(join(dir, path), text);
        }
      };
      put({
        'infra/local/pages.ts': 'export const pages = 1;\n',
        'infra/local/runtime.ts': "import { stack } from '../stack';\nexport const runtime = stack;\n",
        'infra/constructs/web.ts': "import { pages } from '../local/pages';\nexport const web = pages;\n",
        'infra/stack.ts': "import { web } from './constructs/web';\nexport const stack = web;\n",
        'shared/domain/x.ts': "export async function x() {\n  return (await import('../api/y')).y;\n}\n",
        'shared/api/y.ts': "import { x } from '../domain/x';\nexport const y = x;\n",
      });
      const violations = await check(['shared', 'infra'], dir);
      expect(violations).toEqual(
        expect.arrayContaining([
          'production-stack-uses-no-emulator: infra/constructs/web.ts → infra/local/pages.ts',
          'domain-imports-upward: shared/domain/x.ts → shared/api/y.ts',
          expect.stringMatching(/^no-circular: shared\/(domain\/x|api\/y)\.ts → /),
        ]),
      );
      // infra/local may use everything, the stack included.
      expect(violations.some((v) => v.includes('infra/local/runtime.ts → infra/stack.ts'))).toBe(false);
    }, 60_000);
  });
});
