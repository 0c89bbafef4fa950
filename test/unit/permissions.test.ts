import { describe, expect, it } from 'vitest';
import {
  AccessPermissions,
  canDeleteAccess,
  checkAccessCreation,
  isSystemStreamId,
  LEVEL_RANK,
  levelRank,
} from '../../shared/domain/accesses/permissions';
import { StreamTree } from '../../shared/domain/streams/tree';
import { PryvError } from '../../shared/errors';
import type { Access, AccessType, Permission } from '../../shared/model/accesses';
import type { StoredStream } from '../../shared/model/streams';

function s(id: string, parentId: string | null): StoredStream {
  return { id, name: id, parentId, created: 1, createdBy: 'x', modified: 1, modifiedBy: 'x' };
}

// A
//   B
//     C
//   D
// E
const tree = new StreamTree([s('A', null), s('B', 'A'), s('C', 'B'), s('D', 'A'), s('E', null)]);

function access(type: AccessType, permissions: Permission[], extra: Partial<Access> = {}): Access {
  return {
    id: extra.id ?? `${type}-id`,
    token: 'tok',
    type,
    name: 'n',
    permissions,
    created: 1,
    createdBy: 'creator',
    modified: 1,
    modifiedBy: 'creator',
    ...extra,
  };
}

const perms = (type: AccessType, permissions: Permission[], extra: Partial<Access> = {}) =>
  new AccessPermissions(access(type, permissions, extra), tree);

function expectForbidden(fn: () => void, message: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PryvError);
    const err = e as PryvError;
    expect(err.id).toBe('forbidden');
    expect(err.status).toBe(403);
    expect(err.message).toBe(message);
    return;
  }
  throw new Error('expected a forbidden error');
}

describe('levels', () => {
  it('rank as in spec §4.1', () => {
    expect(LEVEL_RANK).toEqual({ none: -1, read: 0, 'create-only': 1, contribute: 1, manage: 2 });
    expect(levelRank(undefined)).toBeLessThan(levelRank('none'));
    expect(levelRank('create-only')).toBe(levelRank('contribute'));
  });
  it('system stream ids', () => {
    expect(isSystemStreamId(':_system:account')).toBe(true);
    expect(isSystemStreamId(':system:email')).toBe(true);
    expect(isSystemStreamId(':_audit:access-x')).toBe(false);
    expect(isSystemStreamId('diary')).toBe(false);
  });
});

describe('AccessPermissions resolution', () => {
  it('personal is manage everywhere', () => {
    const p = perms('personal', []);
    expect(p.isPersonal).toBe(true);
    for (const id of ['A', 'C', 'E', 'unknown', '*']) expect(p.level(id)).toBe('manage');
    expect(p.canManage('C')).toBe(true);
    expect(p.canCreateRootStreams()).toBe(true);
    expect(p.hasReadableStar()).toBe(true);
    expect(p.unreadableStreams().size).toBe(0);
    expect(p.readableRoots()).toEqual(['A', 'E']);
  });

  it('inherits from the nearest explicit permission; a child override wins even when lower', () => {
    const p = perms('app', [
      { streamId: 'A', level: 'manage' },
      { streamId: 'B', level: 'read' },
    ]);
    expect(p.isPersonal).toBe(false);
    expect(p.level('A')).toBe('manage');
    expect(p.level('D')).toBe('manage');
    expect(p.level('B')).toBe('read');
    expect(p.level('C')).toBe('read');
    expect(p.canManage('C')).toBe(false);
    expect(p.canUpdateEvents('C')).toBe(false);
    expect(p.canReadEvents('C')).toBe(true);
    expect(p.canManage('D')).toBe(true);
    expect(p.level('E')).toBeUndefined();
    expect(p.canList('E')).toBe(false);
    expect(p.level('*')).toBeUndefined();
    expect(p.explicitLevel('C')).toBeUndefined();
    expect(p.explicitLevel('B')).toBe('read');
  });

  it('falls back to the * permission, except for account system streams', () => {
    const p = perms('shared', [
      { streamId: '*', level: 'read' },
      { streamId: 'B', level: 'contribute' },
    ]);
    expect(p.level('E')).toBe('read');
    expect(p.level('A')).toBe('read');
    expect(p.level('C')).toBe('contribute');
    expect(p.level('not-in-tree')).toBe('read');
    expect(p.level('*')).toBe('read');
    expect(p.starLevel).toBe('read');
    expect(p.level(':_system:account')).toBeUndefined();
    expect(p.level(':system:email')).toBeUndefined();
    const q = perms('shared', [
      { streamId: '*', level: 'manage' },
      { streamId: ':_system:account', level: 'read' },
    ]);
    expect(q.level(':_system:account')).toBe('read');
  });

  it('none masks a subtree, a deeper explicit permission re-allows a stream', () => {
    const p = perms('shared', [
      { streamId: '*', level: 'read' },
      { streamId: 'A', level: 'none' },
      { streamId: 'C', level: 'read' },
    ]);
    expect(p.level('B')).toBe('none');
    expect(p.level('D')).toBe('none');
    expect(p.canList('A')).toBe(false);
    expect(p.canReadEvents('B')).toBe(false);
    expect(p.level('C')).toBe('read');
    expect(p.canReadEvents('C')).toBe(true);
    expect(p.canList('C')).toBe(true);
    expect([...p.unreadableStreams()].sort()).toEqual(['A', 'B', 'D']);
  });

  it('create-only: listable, can create, cannot read nor update', () => {
    const p = perms('shared', [{ streamId: 'A', level: 'create-only' }]);
    expect(p.canList('C')).toBe(true);
    expect(p.canCreateEvents('C')).toBe(true);
    expect(p.canReadEvents('C')).toBe(false);
    expect(p.canUpdateEvents('C')).toBe(false);
    expect(p.canManage('C')).toBe(false);
    expect(p.canReadEvent(['C'])).toBe(false);
    expect([...p.unreadableStreams()].sort()).toEqual(['A', 'B', 'C', 'D']);
    expect(p.readableRoots()).toEqual([]);
  });

  it('capabilities per level (spec §4.1 table)', () => {
    const cases: Array<[Permission['level'], boolean[]]> = [
      // list, read, create, update, manage
      ['none', [false, false, false, false, false]],
      ['read', [true, true, false, false, false]],
      ['create-only', [true, false, true, false, false]],
      ['contribute', [true, true, true, true, false]],
      ['manage', [true, true, true, true, true]],
    ];
    for (const [level, expected] of cases) {
      const p = perms('shared', [{ streamId: 'E', level }]);
      expect([p.canList('E'), p.canReadEvents('E'), p.canCreateEvents('E'), p.canUpdateEvents('E'), p.canManage('E')], level).toEqual(
        expected,
      );
    }
  });

  it('the last permission on the same stream wins; non-stream entries are ignored', () => {
    const p = perms('shared', [
      { streamId: 'A', level: 'none' },
      { streamId: 'A', level: 'read' },
      { feature: 'selfRevoke', setting: 'forbidden' },
      { streamId: 'E', level: 'bogus' as Permission['level'] },
    ]);
    expect(p.level('A')).toBe('read');
    expect(p.level('E')).toBeUndefined();
    expect(p.explicitStreamIds()).toEqual(['A']);
  });

  it('root stream creation needs manage on *', () => {
    expect(perms('app', [{ streamId: '*', level: 'manage' }]).canCreateRootStreams()).toBe(true);
    expect(perms('app', [{ streamId: '*', level: 'contribute' }]).canCreateRootStreams()).toBe(false);
    expect(perms('app', [{ streamId: 'A', level: 'manage' }]).canCreateRootStreams()).toBe(false);
  });

  it('readable roots: top-most readable streams, through none masks', () => {
    const p = perms('shared', [
      { streamId: 'A', level: 'read' },
      { streamId: 'B', level: 'none' },
      { streamId: 'C', level: 'contribute' },
    ]);
    expect(p.hasReadableStar()).toBe(false);
    expect(p.readableRoots()).toEqual(['A', 'C']);
    expect(p.readableRoots(tree)).toEqual(['A', 'C']);
    const q = perms('shared', [
      { streamId: '*', level: 'create-only' },
      { streamId: 'D', level: 'read' },
    ]);
    expect(q.hasReadableStar()).toBe(false);
    expect(q.readableRoots()).toEqual(['D']);
    expect([...q.unreadableStreams()].sort()).toEqual(['A', 'B', 'C', 'E']);
    expect(perms('shared', [{ streamId: '*', level: 'read' }]).hasReadableStar()).toBe(true);
  });

  it('unreadable streams include explicit none/create-only ids outside the tree', () => {
    const p = perms('shared', [
      { streamId: ':_system:account', level: 'none' },
      { streamId: 'ghost', level: 'create-only' },
      { streamId: 'A', level: 'read' },
    ]);
    expect([...p.unreadableStreams()].sort()).toEqual([':_system:account', 'ghost']);
  });

  it('feature settings', () => {
    const p = perms('app', [{ feature: 'selfRevoke', setting: 'forbidden' }]);
    expect(p.featureSetting('selfRevoke')).toBe('forbidden');
    expect(p.featureSetting('selfAudit')).toBeUndefined();
    expect(p.canSelfRevoke()).toBe(false);
    expect(perms('app', []).canSelfRevoke()).toBe(true);
  });
});

describe('event-level checks (§4.3)', () => {
  const p = perms('shared', [
    { streamId: 'A', level: 'contribute' },
    { streamId: 'B', level: 'read' },
    { streamId: 'D', level: 'create-only' },
    { streamId: 'E', level: 'none' },
  ]);

  it('read: at least one readable stream', () => {
    expect(p.canReadEvent(['C', 'E'])).toBe(true);
    expect(p.canReadEvent(['E'])).toBe(false);
    expect(p.canReadEvent(['D'])).toBe(false);
    expect(p.canReadEvent([])).toBe(false);
  });

  it('create: create right on all streams', () => {
    expect(p.canCreateEvent(['A', 'D'])).toBe(true);
    expect(p.canCreateEvent(['A', 'B'])).toBe(false);
    expect(p.canCreateEvent(['E'])).toBe(false);
    expect(p.canCreateEvent([])).toBe(false);
  });

  it('update: one current updatable stream plus every added/removed stream', () => {
    expect(p.canUpdateEvent(['A', 'B'])).toBe(true);
    expect(p.canUpdateEvent(['A', 'B'], ['A', 'B'])).toBe(true);
    expect(p.canUpdateEvent(['B'])).toBe(false);
    expect(p.canUpdateEvent(['A'], ['A', 'B'])).toBe(false); // adds a read-only stream
    expect(p.canUpdateEvent(['A', 'B'], ['A'])).toBe(false); // removes a read-only stream
    expect(p.canUpdateEvent(['A', 'B'], ['D', 'B'])).toBe(false); // D is create-only
    expect(p.canUpdateEvent(['A', 'B'], ['A', 'B', 'D'])).toBe(false);
    const q = perms('shared', [{ streamId: 'A', level: 'contribute' }]);
    expect(q.canUpdateEvent(['B'], ['D'])).toBe(true);
    expect(q.canUpdateEvent(['B'], ['E'])).toBe(false);
  });

  it('delete: update right on at least one stream', () => {
    expect(p.canDeleteEvent(['B', 'A'])).toBe(true);
    expect(p.canDeleteEvent(['B'])).toBe(false);
    expect(p.canDeleteEvent(['D'])).toBe(false);
  });
});

describe('checkAccessCreation (§4.4)', () => {
  const INSUFFICIENT = 'Your access token has insufficient permissions to create this new access.';
  const PERSONAL = 'Personal accesses are created automatically on login.';
  const personal = perms('personal', []);
  const app = perms('app', [
    { streamId: '*', level: 'read' },
    { streamId: 'A', level: 'contribute' },
    { streamId: 'D', level: 'create-only' },
    { streamId: 'E', level: 'manage' },
  ]);

  it('nobody creates personal accesses', () => {
    expectForbidden(() => checkAccessCreation(personal, { type: 'personal', permissions: [] }), PERSONAL);
    expectForbidden(() => checkAccessCreation(app, { type: 'personal', permissions: [] }), PERSONAL);
  });

  it('personal creates app and shared accesses without constraint', () => {
    const permissions: Permission[] = [
      { streamId: '*', level: 'manage' },
      { streamId: 'unknown', level: 'manage' },
    ];
    expect(() => checkAccessCreation(personal, { type: 'app', permissions })).not.toThrow();
    expect(() => checkAccessCreation(personal, { type: 'shared', permissions })).not.toThrow();
    expect(() => checkAccessCreation(personal, { type: 'shared', permissions: [] })).not.toThrow();
  });

  it('app delegates within its levels', () => {
    const ok = (permissions: Permission[]) => expect(() => checkAccessCreation(app, { type: 'shared', permissions })).not.toThrow();
    ok([{ streamId: 'A', level: 'contribute' }]);
    ok([{ streamId: 'A', level: 'read' }]);
    ok([{ streamId: 'C', level: 'contribute' }]); // inherited from A
    ok([{ streamId: 'E', level: 'manage' }]);
    ok([{ streamId: '*', level: 'read' }]);
    ok([{ streamId: 'B', level: 'create-only' }]); // contribute ≥ create-only
    ok([{ streamId: 'A', level: 'none' }]);
    ok([
      { streamId: 'A', level: 'read' },
      { feature: 'selfRevoke', setting: 'forbidden' },
    ]);
  });

  it('app is refused above its levels, on create-only, without stream permission, or for app accesses', () => {
    const refused = (permissions: Permission[], type: AccessType = 'shared') =>
      expectForbidden(() => checkAccessCreation(app, { type, permissions }), INSUFFICIENT);
    refused([{ streamId: 'A', level: 'manage' }]);
    refused([{ streamId: '*', level: 'contribute' }]);
    refused([{ streamId: 'unknown', level: 'contribute' }]); // falls back to * = read
    refused([{ streamId: 'D', level: 'create-only' }]);
    refused([{ streamId: 'D', level: 'read' }]);
    refused([
      { streamId: 'A', level: 'read' },
      { streamId: 'E', level: 'manage' },
      { streamId: 'D', level: 'none' },
    ]);
    refused([]);
    refused([{ feature: 'selfRevoke', setting: 'forbidden' }]);
    refused([{ streamId: 'A', level: 'read' }], 'app');
    refused([{ streamId: 'A' }]); // no level
    const noStar = perms('app', [{ streamId: 'A', level: 'manage' }]);
    expectForbidden(() => checkAccessCreation(noStar, { type: 'shared', permissions: [{ streamId: 'E', level: 'read' }] }), INSUFFICIENT);
    expectForbidden(() => checkAccessCreation(noStar, { type: 'shared', permissions: [{ streamId: '*', level: 'read' }] }), INSUFFICIENT);
  });

  it('shared creates nothing', () => {
    const shared = perms('shared', [{ streamId: '*', level: 'manage' }]);
    expectForbidden(() => checkAccessCreation(shared, { type: 'shared', permissions: [{ streamId: 'A', level: 'read' }] }), INSUFFICIENT);
  });

  it('selfRevoke: only if the creator can self-revoke or requests its own setting', () => {
    const forbiddenApp = perms('app', [
      { streamId: 'A', level: 'read' },
      { feature: 'selfRevoke', setting: 'forbidden' },
    ]);
    const base: Permission = { streamId: 'A', level: 'read' };
    expect(() =>
      checkAccessCreation(forbiddenApp, { type: 'shared', permissions: [base, { feature: 'selfRevoke', setting: 'forbidden' }] }),
    ).not.toThrow();
    expectForbidden(
      () => checkAccessCreation(forbiddenApp, { type: 'shared', permissions: [base, { feature: 'selfRevoke', setting: 'allowed' }] }),
      INSUFFICIENT,
    );
    const freeApp = perms('app', [{ streamId: 'A', level: 'read' }]);
    expect(() =>
      checkAccessCreation(freeApp, { type: 'shared', permissions: [base, { feature: 'selfRevoke', setting: 'forbidden' }] }),
    ).not.toThrow();
  });

  it('selfAudit: only if the creator has no setting or the same', () => {
    const base: Permission = { streamId: 'A', level: 'read' };
    const audited = perms('app', [base, { feature: 'selfAudit', setting: 'forbidden' }]);
    expect(() =>
      checkAccessCreation(audited, { type: 'shared', permissions: [base, { feature: 'selfAudit', setting: 'forbidden' }] }),
    ).not.toThrow();
    expectForbidden(
      () => checkAccessCreation(audited, { type: 'shared', permissions: [base, { feature: 'selfAudit', setting: 'allowed' }] }),
      INSUFFICIENT,
    );
    const plain = perms('app', [base]);
    expect(() =>
      checkAccessCreation(plain, { type: 'shared', permissions: [base, { feature: 'selfAudit', setting: 'forbidden' }] }),
    ).not.toThrow();
  });
});

describe('canDeleteAccess (§4.5)', () => {
  const personal = access('personal', [], { id: 'p' });
  const app = access('app', [], { id: 'app1' });
  const ownShared = access('shared', [], { id: 'sh1', createdBy: 'app1' });
  const otherShared = access('shared', [], { id: 'sh2', createdBy: 'p' });

  it('personal deletes any access', () => {
    expect(canDeleteAccess(personal, app)).toBe(true);
    expect(canDeleteAccess(personal, otherShared)).toBe(true);
    expect(canDeleteAccess(personal, personal)).toBe(true);
  });

  it('any access deletes itself unless selfRevoke is forbidden', () => {
    expect(canDeleteAccess(app, app)).toBe(true);
    expect(canDeleteAccess(ownShared, ownShared)).toBe(true);
    const locked = access('shared', [{ feature: 'selfRevoke', setting: 'forbidden' }], { id: 'locked' });
    expect(canDeleteAccess(locked, locked)).toBe(false);
    const lockedApp = access('app', [{ feature: 'selfRevoke', setting: 'forbidden' }], { id: 'lockedApp' });
    expect(canDeleteAccess(lockedApp, lockedApp)).toBe(false);
  });

  it('app deletes what it created; shared nothing else', () => {
    expect(canDeleteAccess(app, ownShared)).toBe(true);
    expect(canDeleteAccess(app, otherShared)).toBe(false);
    expect(canDeleteAccess(app, personal)).toBe(false);
    expect(canDeleteAccess(ownShared, otherShared)).toBe(false);
    expect(canDeleteAccess(ownShared, app)).toBe(false);
  });
});

describe('resolution shared by the calls on one tree', () => {
  const restricted = (id: string, permissions: Permission[]) => new AccessPermissions(access('shared', permissions, { id }), tree);

  it('accesses with the same permissions share what they resolve; other permissions resolve their own', () => {
    const a = restricted('a', [
      { streamId: 'A', level: 'read' },
      { streamId: 'B', level: 'none' },
    ]);
    const b = restricted('b', [
      { streamId: 'A', level: 'read' },
      { streamId: 'B', level: 'none' },
    ]);
    const c = restricted('c', [{ streamId: 'A', level: 'read' }]);
    expect(b.unreadableStreams()).toBe(a.unreadableStreams());
    expect([...a.unreadableStreams()].sort()).toEqual(['B', 'C']);
    expect([...c.unreadableStreams()]).toEqual([]);
    expect(c.canReadEvents('C')).toBe(true);
    expect(b.canReadEvents('C')).toBe(false);
    // Each keeps its own access: what depends on it is not shared.
    expect(b.access.id).toBe('b');
  });

  it('readable roots: the caller gets its own copy of the shared list', () => {
    const a = restricted('a', [
      { streamId: 'B', level: 'read' },
      { streamId: 'E', level: 'contribute' },
    ]);
    const roots = a.readableRoots();
    expect(roots).toEqual(['B', 'E']);
    roots.push('X');
    expect(
      restricted('b', [
        { streamId: 'B', level: 'read' },
        { streamId: 'E', level: 'contribute' },
      ]).readableRoots(),
    ).toEqual(['B', 'E']);
  });

  it('another tree (a stream moved) resolves again', () => {
    const moved = new StreamTree([s('A', null), s('B', 'E'), s('C', 'B'), s('D', 'A'), s('E', null)]);
    const permissions: Permission[] = [
      { streamId: 'E', level: 'none' },
      { streamId: '*', level: 'read' },
    ];
    const before = new AccessPermissions(access('shared', permissions), tree);
    const after = new AccessPermissions(access('shared', permissions), moved);
    expect([...before.unreadableStreams()].sort()).toEqual(['E']);
    expect([...after.unreadableStreams()].sort()).toEqual(['B', 'C', 'E']);
    expect(before.canReadEvents('C')).toBe(true);
    expect(after.canReadEvents('C')).toBe(false);
  });
});
