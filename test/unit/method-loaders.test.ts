import { describe, expect, it } from 'vitest';
import { LOADABLE_METHOD_IDS, loadMethod } from '../../shared/api/method-loaders';
import { METHODS } from '../../shared/api/registry';

describe('method loaders (what callBatch and sockets run)', () => {
  it('load exactly the methods of the registry, each its own declaration', async () => {
    expect([...LOADABLE_METHOD_IDS].sort()).toEqual(METHODS.map((m) => m.id).sort());
    for (const method of METHODS) {
      // The same object: same parameters, routes, capabilities and implementation.
      expect(await loadMethod(method.id), method.id).toBe(method);
    }
  });

  it('find nothing for an id no method has, inherited object keys included', async () => {
    for (const id of ['events.nope', 'toString', '__proto__', 'constructor', '']) expect(await loadMethod(id)).toBeUndefined();
  });
});
