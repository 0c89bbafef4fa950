import { describe, expect, it } from 'vitest';
import { independentCreates } from '../../shared/api/batch';

const create = (id?: string) => ({ method: 'events.create', params: id ? { id } : {} });

describe('callBatch: which calls may run together', () => {
  it('groups consecutive events.create calls, up to 8', () => {
    const calls = [...Array.from({ length: 10 }, () => create()), { method: 'streams.get', params: {} }, create()];
    expect(independentCreates(calls, 0)).toBe(8);
    expect(independentCreates(calls, 8)).toBe(2);
    expect(independentCreates(calls, 10)).toBe(1); // anything else runs alone
    expect(independentCreates(calls, 11)).toBe(1);
  });

  it('cuts a run before a repeated explicit id, so the first one listed wins', () => {
    const calls = [create('a'), create('b'), create('a'), create('c')];
    expect(independentCreates(calls, 0)).toBe(2);
    expect(independentCreates(calls, 2)).toBe(2);
  });

  it('never runs a non-create with anything', () => {
    const calls = [{ method: 'events.update', params: {} }, create()];
    expect(independentCreates(calls, 0)).toBe(1);
  });
});
