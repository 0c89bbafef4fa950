import { describe, expect, it } from 'vitest';
import { StreamTree, streamForApi } from '../../shared/domain/streams/tree';
import type { StoredStream } from '../../shared/model/streams';

function s(id: string, parentId: string | null, extra: Partial<StoredStream> = {}): StoredStream {
  return {
    id,
    name: extra.name ?? id.toUpperCase(),
    parentId,
    created: 1,
    createdBy: 'acc',
    modified: 2,
    modifiedBy: 'acc',
    ...extra,
  };
}

// health                (name "Health")
//   heart               (name "Zz heart": sorts after sleep)
//     bp
//   sleep               (name "Sleep")
// work                  (name "Work")
//   proj-a
//   proj-b (trashed)
//     proj-b-notes
const streams: StoredStream[] = [
  s('proj-b-notes', 'proj-b'),
  s('bp', 'heart'),
  s('work', null, { name: 'Work', clientData: { color: 'red' } }),
  s('heart', 'health', { name: 'Zz heart' }),
  s('proj-b', 'work', { trashed: true }),
  s('sleep', 'health', { name: 'Sleep', clientData: null }),
  s('health', null, { name: 'Health' }),
  s('proj-a', 'work', { trashed: false }),
];
const tree = new StreamTree(streams);

describe('StreamTree navigation', () => {
  it('has/get/size', () => {
    expect(tree.size).toBe(8);
    expect(tree.has('bp')).toBe(true);
    expect(tree.has('nope')).toBe(false);
    expect(tree.get('heart')?.name).toBe('Zz heart');
    expect(tree.get('nope')).toBeUndefined();
  });

  it('children and roots are sorted by name', () => {
    expect(tree.roots().map((x) => x.id)).toEqual(['health', 'work']);
    expect(tree.children(null).map((x) => x.id)).toEqual(['health', 'work']);
    expect(tree.children('health').map((x) => x.id)).toEqual(['sleep', 'heart']);
    expect(tree.children('work').map((x) => x.id)).toEqual(['proj-a', 'proj-b']);
    expect(tree.children('bp')).toEqual([]);
    expect(tree.children('nope')).toEqual([]);
  });

  it('ancestors: parent first, up to the root, excluding self', () => {
    expect(tree.ancestors('bp')).toEqual(['heart', 'health']);
    expect(tree.ancestors('health')).toEqual([]);
    expect(tree.ancestors('nope')).toEqual([]);
    expect(tree.parentOf('bp')).toBe('heart');
    expect(tree.parentOf('health')).toBeNull();
    expect(tree.parentOf('nope')).toBeUndefined();
  });

  it('descendants (excluding self) and subtree (self first), depth-first by name', () => {
    expect(tree.descendants('health')).toEqual(['sleep', 'heart', 'bp']);
    expect(tree.subtree('health')).toEqual(['health', 'sleep', 'heart', 'bp']);
    expect(tree.descendants('bp')).toEqual([]);
    expect(tree.subtree('bp')).toEqual(['bp']);
    expect(tree.subtree('nope')).toEqual([]);
    expect(tree.descendants('nope')).toEqual([]);
    expect(tree.ids()).toEqual(['health', 'sleep', 'heart', 'bp', 'work', 'proj-a', 'proj-b', 'proj-b-notes']);
  });

  it('isTrashed: self or any ancestor', () => {
    expect(tree.isTrashed('proj-b')).toBe(true);
    expect(tree.isTrashed('proj-b-notes')).toBe(true);
    expect(tree.isTrashed('proj-a')).toBe(false);
    expect(tree.isTrashed('work')).toBe(false);
    expect(tree.isTrashed('nope')).toBe(false);
  });

  it('wouldCreateCycle', () => {
    expect(tree.wouldCreateCycle('health', 'health')).toBe(true);
    expect(tree.wouldCreateCycle('health', 'bp')).toBe(true);
    expect(tree.wouldCreateCycle('health', 'heart')).toBe(true);
    expect(tree.wouldCreateCycle('heart', 'work')).toBe(false);
    expect(tree.wouldCreateCycle('bp', 'health')).toBe(false);
    expect(tree.wouldCreateCycle('bp', null)).toBe(false);
    expect(tree.wouldCreateCycle('health', 'nope')).toBe(false);
  });
});

describe('StreamTree with malformed data', () => {
  it('treats a missing or self parent as root', () => {
    const t = new StreamTree([s('orphan', 'missing'), s('self', 'self'), s('kid', 'orphan')]);
    expect(t.roots().map((x) => x.id)).toEqual(['orphan', 'self']);
    expect(t.parentOf('orphan')).toBeNull();
    expect(t.ancestors('kid')).toEqual(['orphan']);
    expect(t.get('orphan')?.parentId).toBe('missing'); // stored data untouched
    const forest = t.toApiForest();
    expect(forest.map((x) => [x.id, x.parentId])).toEqual([
      ['orphan', null],
      ['self', null],
    ]);
    expect(forest[0]!.children.map((x) => [x.id, x.parentId])).toEqual([['kid', 'orphan']]);
  });

  it('breaks parent cycles at the smallest id and never loops', () => {
    // stored parents: c → d → b → c (cycle), e → c (hangs on the cycle), r is a normal root;
    // broken at b: b ⊃ d ⊃ c ⊃ e
    const t = new StreamTree([s('c', 'd'), s('d', 'b'), s('b', 'c'), s('e', 'c'), s('r', null)]);
    expect(t.parentOf('b')).toBeNull();
    expect(t.roots().map((x) => x.id)).toEqual(['b', 'r']);
    expect(t.ancestors('c')).toEqual(['d', 'b']);
    expect(t.ancestors('e')).toEqual(['c', 'd', 'b']);
    expect(t.subtree('b')).toEqual(['b', 'd', 'c', 'e']);
    expect(t.ids().sort()).toEqual(['b', 'c', 'd', 'e', 'r']);
    expect(t.wouldCreateCycle('b', 'd')).toBe(true);
    expect(t.isTrashed('d')).toBe(false);
    const forest = t.toApiForest();
    expect(forest.map((x) => x.id)).toEqual(['b', 'r']);
    expect(forest[0]!.children.map((x) => [x.id, x.parentId])).toEqual([['d', 'b']]);
    expect(forest[0]!.children[0]!.children.map((x) => x.id)).toEqual(['c']);
    expect(forest[0]!.children[0]!.children[0]!.children.map((x) => x.id)).toEqual(['e']);
  });

  it('handles a 2-cycle with trashed member and a duplicate id (first wins)', () => {
    const t = new StreamTree([s('x', 'y', { trashed: true }), s('y', 'x'), s('x', null, { name: 'dup' })]);
    expect(t.size).toBe(2);
    expect(t.get('x')?.trashed).toBe(true);
    expect(t.roots().map((r) => r.id)).toEqual(['x']);
    expect(t.isTrashed('y')).toBe(true);
    expect(t.toApiForest()).toEqual([]);
  });

  it('handles a long chain without recursion limits', () => {
    const chain = Array.from({ length: 20000 }, (_, i) => s(`n${i}`, i === 0 ? null : `n${i - 1}`));
    const t = new StreamTree(chain);
    expect(t.ancestors('n19999')).toHaveLength(19999);
    expect(t.descendants('n0')).toHaveLength(19999);
    expect(t.toApiForest()).toHaveLength(1);
  });
});

describe('streamForApi', () => {
  it('omits null/undefined props, keeps parentId null, trashed only when true', () => {
    expect(streamForApi(s('a', null, { clientData: null, trashed: false }))).toEqual({
      id: 'a',
      name: 'A',
      parentId: null,
      created: 1,
      createdBy: 'acc',
      modified: 2,
      modifiedBy: 'acc',
    });
    const out = streamForApi(s('b', 'a', { clientData: { k: 1 }, trashed: true }));
    expect(out).toMatchObject({ parentId: 'a', clientData: { k: 1 }, trashed: true });
    expect('children' in out).toBe(false);
  });
});

describe('StreamTree.toApiForest', () => {
  const meta = { created: 1, createdBy: 'acc', modified: 2, modifiedBy: 'acc' };

  it('returns the nested streams.get shape; default state hides trashed subtrees', () => {
    expect(tree.toApiForest()).toEqual([
      {
        id: 'health',
        name: 'Health',
        parentId: null,
        ...meta,
        children: [
          { id: 'sleep', name: 'Sleep', parentId: 'health', ...meta, children: [] },
          {
            id: 'heart',
            name: 'Zz heart',
            parentId: 'health',
            ...meta,
            children: [{ id: 'bp', name: 'BP', parentId: 'heart', ...meta, children: [] }],
          },
        ],
      },
      {
        id: 'work',
        name: 'Work',
        parentId: null,
        clientData: { color: 'red' },
        ...meta,
        children: [{ id: 'proj-a', name: 'PROJ-A', parentId: 'work', ...meta, children: [] }],
      },
    ]);
    const sleep = tree.toApiForest()[0]!.children[0]!;
    expect('clientData' in sleep).toBe(false);
    expect('trashed' in tree.toApiForest()[1]!.children[0]!).toBe(false);
  });

  it('state all shows trashed streams (trashed: true only on them)', () => {
    const work = tree.toApiForest({ state: 'all' })[1]!;
    expect(work.children.map((x) => x.id)).toEqual(['proj-a', 'proj-b']);
    const projB = work.children[1]!;
    expect(projB.trashed).toBe(true);
    expect(projB.children).toEqual([{ id: 'proj-b-notes', name: 'PROJ-B-NOTES', parentId: 'proj-b', ...meta, children: [] }]);
  });

  it('a listable stream whose parent is not listable becomes a root with parentId null', () => {
    const listable = new Set(['heart', 'bp', 'proj-a', 'work']);
    const forest = tree.toApiForest({ isListable: (id) => listable.has(id) });
    // answer roots sorted by name: "Work" < "Zz heart"
    expect(forest.map((x) => [x.id, x.parentId])).toEqual([
      ['work', null],
      ['heart', null],
    ]);
    expect(forest[1]!.children.map((x) => [x.id, x.parentId])).toEqual([['bp', 'heart']]);
    expect(forest[0]!.children.map((x) => x.id)).toEqual(['proj-a']);
  });

  it('an unlisted middle stream splits the tree (none mask with a deeper grant)', () => {
    const forest = tree.toApiForest({ isListable: (id) => id !== 'heart' });
    expect(forest.map((x) => [x.id, x.parentId])).toEqual([
      ['bp', null],
      ['health', null],
      ['work', null],
    ]);
    expect(forest[1]!.children.map((x) => x.id)).toEqual(['sleep']);
  });

  it('with parentId: the visible streams below it', () => {
    expect(tree.toApiForest({ parentId: 'health' }).map((x) => [x.id, x.parentId])).toEqual([
      ['sleep', 'health'],
      ['heart', 'health'],
    ]);
    // an unlisted child: its listable children become answer roots with parentId null
    const forest = tree.toApiForest({ parentId: 'health', isListable: (id) => id !== 'heart' });
    expect(forest.map((x) => [x.id, x.parentId])).toEqual([
      ['bp', null],
      ['sleep', 'health'],
    ]);
    expect(tree.toApiForest({ parentId: 'bp' })).toEqual([]);
    expect(tree.toApiForest({ parentId: 'nope' })).toEqual([]);
  });

  it('with a trashed parentId: nothing in default state, its children with state all', () => {
    expect(tree.toApiForest({ parentId: 'proj-b' })).toEqual([]);
    expect(tree.toApiForest({ parentId: 'proj-b', state: 'all' }).map((x) => x.id)).toEqual(['proj-b-notes']);
  });
});

describe('values derived from one tree', () => {
  const ids = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `s${i}`, name: `s${i}`, parentId: null }) as StoredStream);

  it('built once per key, kept per tree', () => {
    const tree = new StreamTree(ids(3));
    let builds = 0;
    const build = () => ({ n: ++builds });
    const first = tree.derived('k', build);
    expect(tree.derived('k', build)).toBe(first);
    expect(tree.derived('other', build)).not.toBe(first);
    expect(new StreamTree(ids(3)).derived('k', build)).not.toBe(first);
    expect(builds).toBe(3);
  });

  it('bounded by the ids the values hold: the oldest go first; one larger than the bound is not kept', () => {
    const tree = new StreamTree(ids(10));
    // The bound: 8 × (10 + 200) = 1,680 ids.
    let builds = 0;
    const build = () => ++builds;
    tree.derived('a', build, () => 1000);
    tree.derived('b', build, () => 600);
    expect(tree.derived('a', build)).toBe(1);
    tree.derived('c', build, () => 500); // over the bound: 'a', the oldest, goes
    expect(tree.derived('b', build)).toBe(2);
    expect(tree.derived('a', build, () => 1000)).toBe(4);
    expect(tree.derived('huge', build, () => 5000)).toBe(5);
    expect(tree.derived('huge', build, () => 5000)).toBe(6);
  });

  it('bounded in number too: many small values (a streams parameter each) push the oldest out', () => {
    const tree = new StreamTree(ids(10));
    let builds = 0;
    const build = () => ++builds;
    for (let i = 0; i < 300; i++) tree.derived(`read ${i}`, build, () => 1);
    expect(tree.derived('read 299', build)).toBe(300);
    expect(tree.derived('read 0', build)).toBe(301);
  });
});
