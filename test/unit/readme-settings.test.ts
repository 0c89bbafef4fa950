import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTING_NAMES } from '../../infra/settings';

/** The README's deploy settings table names every setting infra/settings.ts reads, and no other. */

const README = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');

function settingsTableNames(): string[] {
  const start = README.indexOf('### Settings\n');
  const end = README.indexOf('\n### ', start + 1);
  expect(start).toBeGreaterThan(0);
  const rows = README.slice(start, end)
    .split('\n')
    .filter((line) => line.startsWith('| `'));
  return rows.flatMap((row) => [...row.split('|')[1]!.matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1]!));
}

describe('the README settings table', () => {
  it('holds every deploy setting once, and only those', () => {
    const names = settingsTableNames();
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual([...SETTING_NAMES].sort());
  });
});
