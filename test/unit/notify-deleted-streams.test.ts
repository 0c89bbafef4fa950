import { describe, expect, it } from 'vitest';
import { Audience } from '../../shared/domain/notifications/audience';
import { withDeletedStreams } from '../../shared/domain/notifications/deleted-streams';
import { StreamTree } from '../../shared/domain/streams/tree';
import type { AccessSnapshot, ChangeDetail } from '../../shared/model/notifications';
import type { StoredStream } from '../../shared/model/streams';

/**
 * Events deleted with their stream (shared/domain/notifications/deleted-streams.ts): the
 * fan-out decides on the tree plus the deleted streams, put back where their deletion
 * records say they were. The tree left: health ⊃ weight; `health/diary` and its child
 * `health/diary/night` were deleted, with their events.
 */
const s = (id: string, parentId: string | null = null): StoredStream => ({
  id,
  name: id,
  parentId,
  created: 0,
  createdBy: 'x',
  modified: 0,
  modifiedBy: 'x',
});
const tree = new StreamTree([s('health'), s('weight', 'health'), s('work')]);
const doctor: AccessSnapshot = { accessId: 'doc', accessType: 'shared', permissions: [{ streamId: 'health', level: 'read' }] };
const deletedEvent = (streamIds: string[]): ChangeDetail => ({ kind: 'event', id: 'e', before: { streamIds } });
const records = new Map<string, string | null>([
  ['diary', 'health'],
  ['night', 'diary'],
]);

function reader() {
  const asked: string[][] = [];
  const read = async (_u: string, ids: string[]) => {
    asked.push([...ids].sort());
    return new Map(ids.filter((id) => records.has(id)).map((id) => [id, records.get(id)!]));
  };
  return { asked, read };
}

describe('withDeletedStreams', () => {
  it('puts deleted streams back where they were, so their events are told to who could read them', async () => {
    const { asked, read } = reader();
    const changes = [deletedEvent(['night'])];
    expect(new Audience(changes, tree, 'access').tell(doctor).messages).toEqual([]); // the current tree alone
    const decided = await withDeletedStreams('ann', tree, changes, read);
    expect(asked).toEqual([['night'], ['diary']]); // one read per level of deleted ancestors
    expect(decided.parentOf('night')).toBe('diary');
    expect(decided.parentOf('diary')).toBe('health');
    expect(decided.isTrashed('night')).toBe(true);
    expect(new Audience(changes, decided, 'access').tell(doctor).messages).toEqual(['eventsChanged']);
    // not to an access that could not read them
    const app: AccessSnapshot = { accessId: 'app', accessType: 'app', permissions: [{ streamId: 'work', level: 'read' }] };
    expect(new Audience(changes, decided, 'access').tell(app).messages).toEqual([]);
  });

  it('takes the places the batch itself tells (its deletion records) without reading', async () => {
    const { asked, read } = reader();
    const changes: ChangeDetail[] = [
      { kind: 'stream', id: 'diary', places: ['health'] },
      { kind: 'stream', id: 'night', places: ['diary'] },
      deletedEvent(['night']),
    ];
    const decided = await withDeletedStreams('ann', tree, changes, read);
    expect(asked).toEqual([]);
    expect(decided.ancestors('night')).toEqual(['diary', 'health']);
    expect(new Audience(changes, decided, 'access').tell(doctor).messages).toEqual(['eventsChanged', 'streamsChanged']);
  });

  it('reads nothing and keeps the tree when every stream named is in it; an unknown stream stays unknown', async () => {
    const { asked, read } = reader();
    expect(await withDeletedStreams('ann', tree, [deletedEvent(['weight'])], read)).toBe(tree);
    expect(asked).toEqual([]);
    const decided = await withDeletedStreams('ann', tree, [deletedEvent(['never-was'])], read);
    expect(asked).toEqual([['never-was']]);
    expect(decided.has('never-was')).toBe(false);
  });
});
