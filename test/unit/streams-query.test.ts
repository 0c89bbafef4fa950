import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AccessPermissions } from '../../shared/domain/accesses/permissions';
import {
  eventMatches,
  eventMatchesAny,
  expandStreamsQueries,
  isValidStreamId,
  parseStreamsParam,
  slugifyStreamId,
  storeIdOf,
  streamsMatcher,
} from '../../shared/domain/streams/query';
import { StreamTree } from '../../shared/domain/streams/tree';
import { PryvError } from '../../shared/errors';
import type { Access, AccessType, Permission } from '../../shared/model/accesses';
import type { ExpandedQuery, StoredStream } from '../../shared/model/streams';

function catchPryv(fn: () => unknown): PryvError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PryvError);
    return e as PryvError;
  }
  throw new Error('expected a PryvError');
}

function expectBadQuery(raw: unknown, messagePart?: string | RegExp): void {
  const err = catchPryv(() => parseStreamsParam(raw));
  expect(err.id).toBe('invalid-request-structure');
  expect(err.status).toBe(400);
  if (messagePart) expect(err.message).toMatch(messagePart);
}

describe('parseStreamsParam: accepted forms', () => {
  it('undefined means all accessible streams', () => {
    expect(parseStreamsParam(undefined)).toBeUndefined();
  });

  it('a single id', () => {
    expect(parseStreamsParam('diary')).toEqual([{ any: ['diary'] }]);
    expect(parseStreamsParam('*')).toEqual([{ any: ['*'] }]);
    expect(parseStreamsParam('diary!')).toEqual([{ any: ['diary!'] }]);
  });

  it('an array of ids (also a repeated HTTP param) is one any-query', () => {
    expect(parseStreamsParam(['a', 'b!'])).toEqual([{ any: ['a', 'b!'] }]);
  });

  it('a query object and an array of queries', () => {
    expect(parseStreamsParam({ any: ['a'], all: ['b'], not: ['c!'] })).toEqual([{ any: ['a'], all: ['b'], not: ['c!'] }]);
    expect(parseStreamsParam([{ any: ['a'] }, { any: ['*'], not: ['x'] }])).toEqual([{ any: ['a'] }, { any: ['*'], not: ['x'] }]);
    expect(parseStreamsParam({ any: ['*'], all: [] })).toEqual([{ any: ['*'], all: [] }]);
  });

  it('JSON strings starting with [ or {', () => {
    expect(parseStreamsParam('["a","b"]')).toEqual([{ any: ['a', 'b'] }]);
    expect(parseStreamsParam('{"any":["a"],"not":["b"]}')).toEqual([{ any: ['a'], not: ['b'] }]);
    expect(parseStreamsParam('[{"any":["a"]},{"any":["b"],"all":["c"]}]')).toEqual([{ any: ['a'] }, { any: ['b'], all: ['c'] }]);
  });

  it('store-prefixed ids: local system prefixes mix with local ids', () => {
    expect(parseStreamsParam({ any: ['diary', ':_system:language', ':system:email'] })).toHaveLength(1);
    expect(storeIdOf(':_audit:access-x')).toBe('_audit');
    expect(storeIdOf(':_system:account')).toBe('local');
    expect(storeIdOf('diary!')).toBe('local');
  });
});

describe('parseStreamsParam: errors (400 invalid-request-structure)', () => {
  it('invalid JSON', () => {
    expectBadQuery('[a', /not valid JSON/);
    expectBadQuery('{"any":', /not valid JSON/);
  });

  it('wrong shapes', () => {
    expectBadQuery(null);
    expectBadQuery(42);
    expectBadQuery(true);
    expectBadQuery([], /must not be empty/);
    expectBadQuery(['a', { any: ['b'] }], /cannot mix/);
    expectBadQuery('["a",{"any":["b"]}]', /cannot mix/);
    expectBadQuery(['a', 3]);
    expectBadQuery([['a']]);
  });

  it('any is required and non-empty; only any/all/not; arrays of strings', () => {
    expectBadQuery({ all: ['a'] }, /"any" is required/);
    expectBadQuery({ any: [] }, /"any" must not be empty/);
    expectBadQuery({ any: ['a'], other: ['b'] }, /unknown property "other"/);
    expectBadQuery({ any: 'a' }, /must be an array/);
    expectBadQuery({ any: ['a'], not: 'b' }, /"not" must be an array/);
    expectBadQuery({ any: ['a'], all: null }, /"all" must be an array/);
    expectBadQuery({ any: ['a', 1] }, /only stream id strings/);
    expectBadQuery({ any: [''] }, /empty stream id/);
    expectBadQuery({ any: ['!'] }, /empty stream id/);
  });

  it('* only in any, alone, not with all; #* rejected', () => {
    expectBadQuery({ any: ['*', 'a'] }, /alone/);
    expectBadQuery(['a', '*'], /alone/);
    expectBadQuery({ any: ['*'], all: ['a'] }, /combined with "all"/);
    expectBadQuery({ any: ['a'], not: ['*'] }, /only allowed in "any"/);
    expectBadQuery({ any: ['a'], all: ['*'] }, /only allowed in "any"/);
    expectBadQuery({ any: ['*!'] }, /suffixed/);
    expectBadQuery({ any: ['#*'] }, /#\*/);
    expectBadQuery('#*', /#\*/);
    expectBadQuery({ any: ['a'], not: ['#*'] }, /#\*/);
  });

  it('forbidden characters in ids', () => {
    for (const c of ['"', "'", '\\', '\0', '\b', '\t', '\n', '\r', '\x1a']) {
      expectBadQuery({ any: [`a${c}b`] }, /forbidden character/);
      expectBadQuery({ any: ['a'], not: [`x${c}`] }, /forbidden character/);
    }
    expectBadQuery(['ok', 'b"ad'], /forbidden character/);
  });

  it('streams of one query must belong to one store', () => {
    expectBadQuery({ any: ['diary', ':_audit:access-x'] }, /same store/);
    expectBadQuery({ any: ['diary'], not: [':_audit:x'] }, /same store/);
  });
});

describe('stream id helpers', () => {
  it('isValidStreamId', () => {
    expect(isValidStreamId('diary')).toBe(true);
    expect(isValidStreamId(':_system:account')).toBe(true);
    expect(isValidStreamId('')).toBe(false);
    expect(isValidStreamId('*')).toBe(false);
    expect(isValidStreamId('null')).toBe(false);
    expect(isValidStreamId('undefined')).toBe(false);
    expect(isValidStreamId('a"b')).toBe(false);
    expect(isValidStreamId('a\nb')).toBe(false);
    expect(isValidStreamId(12)).toBe(false);
  });

  it('slugifyStreamId keeps case and unreserved chars, replaces the rest by single dashes', () => {
    expect(slugifyStreamId('My Diary')).toBe('My-Diary');
    expect(slugifyStreamId('a.b_c~d-e')).toBe('a.b_c~d-e');
    expect(slugifyStreamId('a  /  b')).toBe('a-b');
    expect(slugifyStreamId('a--b')).toBe('a-b');
    expect(slugifyStreamId('Café au lait')).toBe('Cafe-au-lait');
    expect(slugifyStreamId(' trim me! ')).toBe('trim-me');
    expect(slugifyStreamId('!!!')).toBe('');
    expect(slugifyStreamId('cjld2cjxh0000qzrmn831i7rn')).toBe('cjld2cjxh0000qzrmn831i7rn');
  });
});

// diary
//   diary-home
//   diary-work
//     diary-work-new
//     diary-work-old (trashed)
//       diary-work-old-x
// health
//   heart
//   sleep
// archive (trashed)
//   archive-x
function s(id: string, parentId: string | null, trashed = false): StoredStream {
  return { id, name: id, parentId, created: 1, createdBy: 'x', modified: 1, modifiedBy: 'x', ...(trashed ? { trashed } : {}) };
}
const tree = new StreamTree([
  s('diary', null),
  s('diary-home', 'diary'),
  s('diary-work', 'diary'),
  s('diary-work-new', 'diary-work'),
  s('diary-work-old', 'diary-work', true),
  s('diary-work-old-x', 'diary-work-old'),
  s('health', null),
  s('heart', 'health'),
  s('sleep', 'health'),
  s('archive', null, true),
  s('archive-x', 'archive'),
]);

function perms(type: AccessType, permissions: Permission[], t: StreamTree = tree): AccessPermissions {
  const access: Access = {
    id: 'acc',
    token: 't',
    type,
    name: 'n',
    permissions,
    created: 1,
    createdBy: 'x',
    modified: 1,
    modifiedBy: 'x',
  };
  return new AccessPermissions(access, t);
}
const personal = perms('personal', []);

const expandAll = (raw: unknown, p: AccessPermissions = personal, state: 'default' | 'trashed' | 'all' = 'default') =>
  expandStreamsQueries(parseStreamsParam(raw), tree, p, { state });
/** The expansion over the user's own streams (the account system streams' part is tested on its own below). */
const userPart = (id: string) => !id.startsWith(':_system:') && !id.startsWith(':system:');
const expand = (raw: unknown, p: AccessPermissions = personal, state: 'default' | 'trashed' | 'all' = 'default') =>
  expandAll(raw, p, state).map((q) => ({
    any: q.any.filter(userPart),
    all: q.all.map((set) => set.filter(userPart)),
    not: q.not.filter(userPart),
  }));

describe('expandStreamsQueries: account system streams', () => {
  const hidden = [':_system:appId', ':_system:invitationToken', ':_system:referer'];
  const shown = [
    ':_system:account',
    ':_system:attachedFiles',
    ':_system:dbDocuments',
    ':_system:language',
    ':_system:storageUsed',
    ':system:email',
  ];
  it('"*" covers the shown ones for the personal access; hidden fields are always excluded', () => {
    const [q] = expandAll('*');
    expect(q!.any.filter((id) => !userPart(id)).sort()).toEqual(shown);
    expect(q!.not).toEqual(expect.arrayContaining(hidden));
  });
  it('never through a "*" permission; an explicit one reaches its system subtree', () => {
    const star = perms('shared', [{ streamId: '*', level: 'read' }]);
    expect(expandAll('*', star)[0]!.any.filter((id) => !userPart(id))).toEqual([]);
    const account = perms('shared', [{ streamId: ':_system:storageUsed', level: 'read' }]);
    expect(expandAll('*', account)[0]!.any.sort()).toEqual([':_system:attachedFiles', ':_system:dbDocuments', ':_system:storageUsed']);
    expect(expandAll(':_system:storageUsed!', account)[0]!.any).toEqual([':_system:storageUsed']);
  });
});

const sorted = (ids: string[]) => [...ids].sort();

describe('expandStreamsQueries: expansion', () => {
  it('no streams param = * = every non-trashed stream for personal', () => {
    const [q, ...rest] = expand(undefined);
    expect(rest).toEqual([]);
    expect(q).toEqual({
      any: ['diary', 'diary-home', 'diary-work', 'diary-work-new', 'health', 'heart', 'sleep'],
      all: [],
      not: [],
    });
    expect(expand('*')).toEqual(expand(undefined));
  });

  it('state trashed/all expand trashed streams too', () => {
    const all = expand(undefined, personal, 'all')[0]!;
    expect(sorted(all.any)).toEqual(sorted(tree.ids()));
    expect(sorted(expand('*', personal, 'trashed')[0]!.any)).toEqual(sorted(tree.ids()));
    expect(expand('diary-work', personal, 'all')[0]!.any).toEqual(['diary-work', 'diary-work-new', 'diary-work-old', 'diary-work-old-x']);
  });

  it('default state: trashed streams are dropped with their subtrees, a named one included (spec §2.2.1)', () => {
    expect(expand('diary-work')[0]!.any).toEqual(['diary-work', 'diary-work-new']);
    expect(expand('diary-work-old')[0]!.any).toEqual([]);
    expect(expand('diary-work-old-x')[0]!.any).toEqual([]);
    expect(expand('archive')[0]!.any).toEqual([]);
    expect(expand('archive!')[0]!.any).toEqual([]);
    expect(expand('archive', personal, 'all')[0]!.any).toEqual(['archive', 'archive-x']);
  });

  it('a trailing ! means the stream without descendants', () => {
    expect(expand('diary!')[0]).toEqual({ any: ['diary'], all: [], not: [] });
    expect(expand({ any: ['diary'], not: ['diary-work!'] })[0]).toEqual({
      any: ['diary', 'diary-home', 'diary-work-new'],
      all: [],
      not: ['diary-work'],
    });
    expect(expand({ any: ['diary'], all: ['health!'] })[0]!.all).toEqual([['health']]);
  });

  it('all: one expanded set per stream; not: fully expanded (trashed included) and removed from any', () => {
    const q = expand({ any: ['diary'], all: ['health', 'diary-work'], not: ['diary-work'] })[0]!;
    expect(q.all).toEqual([
      ['health', 'heart', 'sleep'],
      ['diary-work', 'diary-work-new'],
    ]);
    expect(q.not).toEqual(['diary-work', 'diary-work-new', 'diary-work-old', 'diary-work-old-x']);
    expect(q.any).toEqual(['diary', 'diary-home']);
  });

  it('unknown ids in all/not are not errors: they stand for themselves', () => {
    const q = expand({ any: ['diary'], all: ['ghost'], not: ['ghost2'] })[0]!;
    expect(q.all).toEqual([['ghost']]);
    expect(q.not).toEqual(['ghost2']);
    expect(eventMatches(['diary'], q)).toBe(false);
    expect(eventMatches(['diary', 'ghost'], q)).toBe(true);
  });

  it('an array of queries is kept as an OR list', () => {
    const qs = expand([{ any: ['heart'] }, { any: ['diary-home'] }]);
    expect(qs.map((q) => q.any)).toEqual([['heart'], ['diary-home']]);
    expect(eventMatchesAny(['diary-home'], qs)).toBe(true);
    expect(eventMatchesAny(['sleep'], qs)).toBe(false);
  });
});

describe('expandStreamsQueries: errors', () => {
  it('unknown any ids → 400 unknown-referenced-resource with data.streams (all queries)', () => {
    const err = catchPryv(() => expand([{ any: ['diary', 'nope'] }, { any: ['nope2!', 'nope'] }]));
    expect(err.id).toBe('unknown-referenced-resource');
    expect(err.status).toBe(400);
    expect(err.data).toEqual({ streams: ['nope', 'nope2'] });
  });

  it('unreadable any ids → 403 forbidden; unknown ids are reported first', () => {
    const p = perms('shared', [{ streamId: 'diary', level: 'read' }]);
    const err = catchPryv(() => expand({ any: ['health'] }, p));
    expect(err.id).toBe('forbidden');
    expect(err.status).toBe(403);
    expect(err.message).toContain('"health"');
    expect(catchPryv(() => expand({ any: ['health', 'nope'] }, p)).id).toBe('unknown-referenced-resource');
  });

  it('create-only and none streams cannot be named in any', () => {
    const p = perms('shared', [
      { streamId: 'diary', level: 'contribute' },
      { streamId: 'diary-work', level: 'create-only' },
      { streamId: 'health', level: 'none' },
    ]);
    expect(catchPryv(() => expand('diary-work', p)).id).toBe('forbidden');
    expect(catchPryv(() => expand('diary-work-new!', p)).id).toBe('forbidden');
    expect(catchPryv(() => expand('heart', p)).id).toBe('forbidden');
    // all/not are not permission-checked
    expect(() => expand({ any: ['diary'], all: ['heart'], not: ['health'] }, p)).not.toThrow();
  });
});

describe('expandStreamsQueries: permissions', () => {
  it('* without a readable * permission becomes the readable roots', () => {
    const p = perms('shared', [
      { streamId: 'diary', level: 'read' },
      { streamId: 'diary-home', level: 'none' },
      { streamId: 'heart', level: 'contribute' },
    ]);
    const q = expand('*', p)[0]!;
    expect(q.any).toEqual(['diary', 'diary-work', 'diary-work-new', 'heart']);
    expect(q.not).toEqual(['diary-home']);
    expect(expand(undefined, p)).toEqual([q]);
    expect(eventMatches(['diary-work'], q)).toBe(true);
    expect(eventMatches(['sleep'], q)).toBe(false);
    expect(eventMatches(['heart', 'diary-home'], q)).toBe(false);
  });

  it('* with a readable * permission is every stream, minus none/create-only subtrees', () => {
    const p = perms('shared', [
      { streamId: '*', level: 'read' },
      { streamId: 'health', level: 'none' },
      { streamId: 'diary-home', level: 'create-only' },
    ]);
    const q = expand('*', p)[0]!;
    expect(q.any).toEqual(['diary', 'diary-work', 'diary-work-new']);
    expect(sorted(q.not)).toEqual(['diary-home', 'health', 'heart', 'sleep']);
  });

  it('* with a create-only * permission keeps only explicitly readable streams', () => {
    const p = perms('shared', [
      { streamId: '*', level: 'create-only' },
      { streamId: 'heart', level: 'read' },
    ]);
    const q = expand('*', p)[0]!;
    expect(q.any).toEqual(['heart']);
    expect(q.not).toContain('health');
    expect(q.not).not.toContain('heart');
  });

  it('a readable root under a trashed stream is dropped from * in default state only', () => {
    const p = perms('shared', [
      { streamId: 'archive-x', level: 'read' },
      { streamId: 'heart', level: 'read' },
    ]);
    expect(expand('*', p)[0]!.any).toEqual(['heart']);
    expect(expand('*', p, 'all')[0]!.any).toEqual(['archive-x', 'heart']);
  });

  it('none masks a subtree in reads, a deeper explicit read re-allows a stream', () => {
    const p = perms('shared', [
      { streamId: 'diary', level: 'read' },
      { streamId: 'diary-work', level: 'none' },
      { streamId: 'diary-work-new', level: 'read' },
    ]);
    const q = expand('diary', p)[0]!;
    expect(q.any).toEqual(['diary', 'diary-home', 'diary-work-new']);
    expect(q.not).toContain('diary-work');
    expect(q.not).not.toContain('diary-work-new');
    expect(eventMatches(['diary-work-new'], q)).toBe(true);
    expect(eventMatches(['diary-work'], q)).toBe(false);
    expect(eventMatches(['diary-work-new', 'diary-work'], q)).toBe(false);
    expect(expand('diary-work-new', p)[0]!.any).toEqual(['diary-work-new']);
  });

  it('create-only streams below a readable one are excluded from reads', () => {
    const p = perms('shared', [
      { streamId: 'diary', level: 'contribute' },
      { streamId: 'diary-work', level: 'create-only' },
    ]);
    const q = expand('diary', p)[0]!;
    expect(q.any).toEqual(['diary', 'diary-home']);
    expect(sorted(q.not)).toEqual(['diary-work', 'diary-work-new', 'diary-work-old', 'diary-work-old-x']);
  });

  it('a query whose any ends up empty matches nothing', () => {
    const nothing = perms('shared', [{ streamId: '*', level: 'none' }]);
    const q = expand(undefined, nothing)[0]!;
    expect(q.any).toEqual([]);
    expect(eventMatches(['diary'], q)).toBe(false);
    const q2 = expand({ any: ['diary'], not: ['diary'] })[0]!;
    expect(q2.any).toEqual([]);
    expect(eventMatchesAny(['diary'], [q2])).toBe(false);
  });
});

describe('eventMatches reference semantics', () => {
  const q: ExpandedQuery = { any: ['a', 'b'], all: [['c', 'c1'], ['d']], not: ['x'] };
  it('needs one any, each all set, and no not', () => {
    expect(eventMatches(['a', 'c1', 'd'], q)).toBe(true);
    expect(eventMatches(['b', 'c', 'd'], q)).toBe(true);
    expect(eventMatches(['c', 'd'], q)).toBe(false);
    expect(eventMatches(['a', 'd'], q)).toBe(false);
    expect(eventMatches(['a', 'c', 'd', 'x'], q)).toBe(false);
    expect(eventMatches([], q)).toBe(false);
    expect(eventMatchesAny(['a', 'c', 'd'], [])).toBe(false);
    expect(eventMatchesAny(['z'], [q, { any: ['z'], all: [], not: [] }])).toBe(true);
  });
});

describe('expansion on malformed trees', () => {
  it('terminates on parent cycles and covers every stream', () => {
    const cyclic = new StreamTree([s('a', 'c'), s('b', 'a'), s('c', 'b'), s('d', 'missing')]);
    const p = perms('personal', [], cyclic);
    const [q] = expandStreamsQueries(undefined, cyclic, p, { state: 'default' });
    expect(sorted(q!.any.filter(userPart))).toEqual(['a', 'b', 'c', 'd']);
    const [q2] = expandStreamsQueries([{ any: ['b'] }], cyclic, p, { state: 'default' });
    expect(q2!.any).toEqual(['b', 'c']);
    const shared = perms('shared', [{ streamId: 'b', level: 'read' }], cyclic);
    expect(expandStreamsQueries(undefined, cyclic, shared, { state: 'all' })[0]!.any).toEqual(['b', 'c']);
  });
});

describe('streamsMatcher', () => {
  it('answers as eventMatchesAny for any queries and event streams', () => {
    const id = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f');
    const ids = fc.array(id, { maxLength: 4 });
    const query = fc.record({ any: ids, all: fc.array(ids, { maxLength: 2 }), not: ids });
    fc.assert(
      fc.property(fc.array(query, { maxLength: 3 }), fc.array(ids, { maxLength: 5 }), (qs: ExpandedQuery[], events) => {
        const matches = streamsMatcher(qs);
        for (const streamIds of events) expect(matches(streamIds)).toBe(eventMatchesAny(streamIds, qs));
      }),
      { numRuns: 500 },
    );
  });
});
