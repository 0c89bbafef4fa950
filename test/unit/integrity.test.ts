import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accessFields } from '../../shared/domain/accesses/view';
import { eventForApi } from '../../shared/domain/events/fields';
import {
  accessCanonicalForm,
  accessIntegrity,
  canonicalJson,
  eventCanonicalForm,
  eventIntegrity,
  sri,
} from '../../shared/domain/integrity/canonical';
import type { Access } from '../../shared/model/accesses';
import type { StoredEvent } from '../../shared/model/events';

/**
 * The canonical form and hash of Pryv API reference §3.8 (shared/domain/integrity/canonical.ts).
 * The expected texts below were written by hand from the rules, and their SHA-256 computed
 * apart from this code: `printf '%s' '<text>' | openssl dgst -sha256 -binary | base64` (on
 * the UTF-8 bytes of the text).
 */

const event: Record<string, unknown> = {
  id: 'ckoxy0giw000hrs9yvi3rnlfm',
  streamIds: ['diary', 'health'],
  streamId: 'diary',
  time: 1621578570.151,
  duration: 0,
  type: 'note/txt',
  content: 'Hé "quoted"\n',
  description: null,
  tags: [],
  trashed: false,
  clientData: { zeta: 1, alpha: { b: null, a: [1, null, 'x'] } },
  attachments: [{ id: 'f1', fileName: 'a.txt', type: 'text/plain', size: 3, readToken: 'r-1', integrity: 'sha256-xyz' }],
  created: 1621578570.151,
  createdBy: 'acc1',
  modified: 1621578571,
  modifiedBy: 'acc1',
  integrity: 'EVENT:0:sha256-a-previous-value',
};
const EVENT_TEXT =
  '{"attachments":[{"fileName":"a.txt","id":"f1","integrity":"sha256-xyz","size":3,"type":"text/plain"}],' +
  '"clientData":{"alpha":{"a":[1,null,"x"]},"zeta":1},"content":"Hé \\"quoted\\"\\n","created":1621578570.151,' +
  '"createdBy":"acc1","id":"ckoxy0giw000hrs9yvi3rnlfm","modified":1621578571,"modifiedBy":"acc1",' +
  '"streamIds":["diary","health"],"time":1621578570.151,"type":"note/txt"}';
const EVENT_HASH = 'EVENT:0:sha256-WFpIWjsdZ9wOsDASvySUKas3mmqEOXE1Cl3OM+TiPuQ=';

const access: Record<string, unknown> = {
  id: 'cacc:2',
  token: 'tok-1',
  type: 'shared',
  name: 'Doctor',
  permissions: [{ streamId: 'diary', level: 'read' }],
  lastUsed: 1700000100,
  calls: { 'events:get': 3 },
  apiEndpoint: 'https://tok-1@example.com/u/',
  expires: null,
  created: 1700000000,
  createdBy: 'p1',
  modified: 1700000050,
  modifiedBy: 'p1',
  integrity: 'ACCESS:0:sha256-a-previous-value',
};
const ACCESS_TEXT =
  '{"created":1700000000,"createdBy":"p1","id":"cacc:2","modified":1700000050,"modifiedBy":"p1","name":"Doctor",' +
  '"permissions":[{"level":"read","streamId":"diary"}],"token":"tok-1","type":"shared"}';
const ACCESS_HASH = 'ACCESS:0:sha256-xj/yAXmEl8EebytyFF7eA/VAV7IcNvfhcraq59CbTwQ=';

describe('integrity: canonical form and hash (fixtures computed by hand)', () => {
  it('an event: defaults, nulls, integrity, readToken and v1 streamId left out; keys sorted at every depth', () => {
    expect(eventCanonicalForm(event)).toBe(EVENT_TEXT);
    expect(eventIntegrity(event)).toBe(EVENT_HASH);
  });

  it('an access: lastUsed, calls, apiEndpoint, integrity and nulls left out', () => {
    expect(accessCanonicalForm(access)).toBe(ACCESS_TEXT);
    expect(accessIntegrity(access)).toBe(ACCESS_HASH);
  });

  it('a deletion record is hashed like an event', () => {
    expect(eventCanonicalForm({ id: 'ckoxy0giw000hrs9yvi3rnlfm', deleted: 1700000123.5 })).toBe(
      '{"deleted":1700000123.5,"id":"ckoxy0giw000hrs9yvi3rnlfm"}',
    );
    expect(eventIntegrity({ id: 'ckoxy0giw000hrs9yvi3rnlfm', deleted: 1700000123.5 })).toBe(
      'EVENT:0:sha256-JZ/javYDeXkJzLgoIgCTCQiqu4U71RIXJcskxApn2Yc=',
    );
  });

  it('keys by UTF-16 code units (an astral character before U+E000), numbers as JavaScript writes them, escapes', () => {
    const value = {
      é: 1e21,
      '\ue000': 'x',
      '😀': [],
      b: '\u2028\u00ad\u007f\t',
      ab: -0,
      a: { aa: false, '': true },
      Z: 0.1,
      B: 1,
    };
    const text = '{"B":1,"Z":0.1,"a":{"":true,"aa":false},"ab":0,"b":"\\u2028\\u00ad\\u007f\\t","é":1e+21,"😀":[],"\ue000":"x"}';
    expect(canonicalJson(value)).toBe(text);
    expect(sri(canonicalJson(value))).toBe('sha256-+ZTD9pgHMA9Yys2IVYNe+orgV0QvJYgyX4QOGoc+AEQ=');
  });

  it('separators around left-out properties and nulls in arrays; escapes in keys; strings with and without escapes side by side', () => {
    const value = { a: null, b: undefined, c: [null, { x: undefined, y: 'q"' }, 'plain', ['\\', []]], 'k"\n\u0085': 2, z: null };
    expect(canonicalJson(value)).toBe('{"c":[null,{"y":"q\\""},"plain",["\\\\",[]]],"k\\"\\n\\u0085":2}');
    expect(canonicalJson({ only: null })).toBe('{}');
    expect(canonicalJson([])).toBe('[]');
    expect(canonicalJson([undefined, 'x'])).toBe('[null,"x"]');
  });

  it('refuses what JSON cannot hold', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson({ a: Number.POSITIVE_INFINITY })).toThrow(TypeError);
    expect(() => canonicalJson({ a: () => 1 })).toThrow(TypeError);
  });

  it('a wrong implementation is caught: one changed value, one extra field, or a reordered array changes the hash', () => {
    expect(eventIntegrity({ ...event, modified: 1621578571.001 })).not.toBe(EVENT_HASH);
    expect(eventIntegrity({ ...event, description: '' })).not.toBe(EVENT_HASH);
    expect(eventIntegrity({ ...event, streamIds: ['health', 'diary'] })).not.toBe(EVENT_HASH);
    expect(eventIntegrity({ ...event, trashed: true })).not.toBe(EVENT_HASH);
    expect(accessIntegrity({ ...access, token: 'tok-2' })).not.toBe(ACCESS_HASH);
  });
});

describe('integrity: answers and stored items agree', () => {
  const stored: StoredEvent & { tags?: string[] } = {
    id: 'ckoxy0giw000hrs9yvi3rnlfm',
    streamIds: ['diary'],
    time: 10,
    type: 'note/txt',
    content: 'x',
    attachments: [{ id: 'f1', fileName: 'a.txt', type: 'text/plain', size: 3, integrity: 'sha256-xyz' }],
    created: 10,
    createdBy: 'a',
    modified: 11,
    modifiedBy: 'a',
  };

  it('an event as answered to a reader (v1 streamId, tags: [], per-reader read tokens) hashes as stored', () => {
    const answered = eventForApi(stored, { secret: 'secret', access: { id: 'reader', token: 'reader-token' } });
    expect(answered.streamId).toBe('diary');
    expect(answered.tags).toEqual([]);
    expect((answered.attachments as Array<{ readToken?: string }>)[0]!.readToken).toBeDefined();
    expect(eventIntegrity(answered)).toBe(eventIntegrity(stored as unknown as Record<string, unknown>));
  });

  it('an access as answered (apiEndpoint, versioned id) hashes as its fields, and usage does not count', () => {
    const a: Access = {
      id: 'base',
      serial: 3,
      token: 't',
      type: 'app',
      name: 'n',
      permissions: [],
      created: 1,
      createdBy: 'p',
      modified: 2,
      modifiedBy: 'p',
    };
    const fields = accessFields(a);
    expect(fields.id).toBe('base:3');
    const used = accessFields({ ...a, lastUsed: 99, calls: { 'events:get': 1 } });
    expect(accessIntegrity({ ...used, apiEndpoint: 'https://t@h/u/', lastUsed: 99 })).toBe(accessIntegrity(fields));
  });
});

/** The same value with every object's keys inserted in reverse order. */
function reordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reordered);
  if (value === null || typeof value !== 'object') return value;
  // fromEntries: own properties even for a `__proto__` key, as JSON.parse makes them.
  return Object.fromEntries(
    Object.keys(value)
      .reverse()
      .map((key) => [key, reordered((value as Record<string, unknown>)[key])]),
  );
}

/** The value without its null properties (at any depth), as the canonical form keeps it. */
function withoutNullProperties(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNullProperties);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, withoutNullProperties(v)]),
  );
}

describe('integrity: properties', () => {
  const json = fc.jsonValue({ stringUnit: 'binary', maxDepth: 4 });

  it('is valid JSON holding the value less its null properties', () => {
    fc.assert(
      fc.property(json, (value) => {
        const expected = JSON.parse(JSON.stringify(withoutNullProperties(value)) ?? 'null');
        expect(JSON.parse(canonicalJson(value))).toEqual(expected);
      }),
    );
  });

  it('does not depend on the order of keys', () => {
    fc.assert(
      fc.property(json, (value) => {
        expect(canonicalJson(reordered(value))).toBe(canonicalJson(value));
      }),
    );
  });

  const eventArb = fc.record(
    {
      id: fc.string({ minLength: 1 }),
      streamIds: fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 3 }),
      time: fc.double({ noNaN: true, noDefaultInfinity: true }),
      duration: fc.option(fc.double({ min: 0.001, max: 1e9, noNaN: true })),
      type: fc.constantFrom('note/txt', 'mass/kg'),
      content: json,
      description: fc.option(fc.string()),
      clientData: fc.option(fc.dictionary(fc.string(), json)),
      modified: fc.double({ noNaN: true, noDefaultInfinity: true }),
      modifiedBy: fc.string(),
    },
    { requiredKeys: ['id', 'streamIds', 'time', 'type', 'modified', 'modifiedBy'] },
  );

  it('an event hashes the same with its defaults spelled out (tags: [], trashed: false, duration: 0, nulls) or in another key order', () => {
    fc.assert(
      fc.property(eventArb, (e) => {
        const plain = e.duration == null ? (({ duration: _d, ...rest }) => rest)(e) : e;
        const spelled = { ...plain, tags: [], trashed: false, deleted: null, integrity: 'EVENT:0:sha256-x', streamId: e.streamIds[0] };
        if (e.duration == null) Object.assign(spelled, { duration: 0 });
        expect(eventIntegrity(reordered(spelled) as Record<string, unknown>)).toBe(eventIntegrity(plain));
      }),
    );
  });

  it('an event hashes differently once trashed, or with one more tag', () => {
    fc.assert(
      fc.property(eventArb, fc.string({ minLength: 1 }), (e, tag) => {
        expect(eventIntegrity({ ...e, trashed: true })).not.toBe(eventIntegrity(e));
        expect(eventIntegrity({ ...e, tags: [tag] })).not.toBe(eventIntegrity(e));
      }),
    );
  });
});
