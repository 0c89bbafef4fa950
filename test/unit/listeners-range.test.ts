import { describe, expect, it } from 'vitest';
import { keys } from '../../shared/store/keys';
import { LISTENERS_RANGE } from '../../shared/store/listeners';

/**
 * The fan-out reads a user's webhooks and connections in one Query over a sort-key range
 * (shared/store/listeners.ts): every other item kind of the user partition must sort outside
 * it, or each batch would read (and pay for) items it drops. Every key builder of keys.ts is
 * called with sample values; those of the user partition are sorted against the range.
 */
const inRange = (sk: string) =>
  Buffer.compare(Buffer.from(sk), Buffer.from(LISTENERS_RANGE.from)) >= 0 &&
  Buffer.compare(Buffer.from(sk), Buffer.from(LISTENERS_RANGE.to)) <= 0;

const LISTENER_KINDS = new Set(['webhook', 'webhookUrl', 'userSocket']);

function userPartitionKeys(): Array<{ name: string; sk: string }> {
  const found: Array<{ name: string; sk: string }> = [];
  for (const [name, build] of Object.entries(keys)) {
    if (typeof build !== 'function') continue;
    // Sample ids at both ends of what ids hold (ASCII): a low and a high first character.
    for (const sample of ['0', 'a', 'zzzz', '~']) {
      let key: unknown;
      try {
        key = (build as (...args: unknown[]) => unknown)('alice', sample, sample, sample);
      } catch {
        key = (build as (...args: unknown[]) => unknown)(1, 'alice', sample);
      }
      const { pk, sk } = (key ?? {}) as { pk?: unknown; sk?: unknown };
      if (typeof pk === 'string' && pk.startsWith(keys.userPartitionPrefix) && typeof sk === 'string') found.push({ name, sk });
    }
  }
  return found;
}

describe('the listeners range of the user partition', () => {
  it('holds webhooks, their URL claims and bound connections, and no other item kind', () => {
    const all = userPartitionKeys();
    expect(all.length).toBeGreaterThan(20); // the builders were reached
    const names = new Set(all.map((k) => k.name));
    for (const kind of LISTENER_KINDS) expect(names.has(kind)).toBe(true);
    for (const { name, sk } of all) expect({ name, sk, inRange: inRange(sk) }).toEqual({ name, sk, inRange: LISTENER_KINDS.has(name) });
  });

  it('holds the data meta and socket push records outside', () => {
    expect(inRange(keys.dataMeta('alice').sk)).toBe(false);
    expect(inRange(keys.socketPush('alice', 'p1').sk)).toBe(false);
    expect(inRange(keys.userSocket('alice', 'Zz09-_=~').sk)).toBe(true);
  });
});
