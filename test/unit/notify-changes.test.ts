import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { handler } from '../../functions/notify/fanout';
import { changesFromRecords, collectChanges } from '../../shared/notify/changes';
import { clearSinks, registerSink } from '../../shared/notify/dispatch';

const STREAM_ARN = 'arn:aws:dynamodb:us-east-1:000000000000:table/pryv-main/stream/2026-11-29T00:00:00.000';
let sequence = 100_000_000_000_000_000_000n;

type Item = Record<string, unknown> & { pk: string; sk: string };
const image = (item: Item) => marshall(item, { removeUndefinedValues: true }) as unknown as Record<string, AttributeValue>;

/** A stream record as Lambda hands it over (NEW_AND_OLD_IMAGES). */
function record(eventName: 'INSERT' | 'MODIFY' | 'REMOVE', oldItem: Item | undefined, newItem: Item | undefined): DynamoDBRecord {
  const key = (newItem ?? oldItem)!;
  return {
    eventID: `id-${sequence}`,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    eventSourceARN: STREAM_ARN,
    dynamodb: {
      ApproximateCreationDateTime: 1_795_000_000,
      Keys: image({ pk: key.pk, sk: key.sk }),
      NewImage: newItem ? image(newItem) : undefined,
      OldImage: oldItem ? image(oldItem) : undefined,
      SequenceNumber: String(sequence++),
      SizeBytes: 200,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}
const insert = (item: Item) => record('INSERT', undefined, item);
const modify = (oldItem: Item, newItem: Item) => record('MODIFY', oldItem, newItem);
const remove = (item: Item) => record('REMOVE', item, undefined);

const event = (_u: string, id: string, extra: Record<string, unknown> = {}) => ({
  id,
  streamIds: ['health'],
  type: 'mass/kg',
  content: 72.5,
  time: 1_795_000_000.5,
  created: 1_795_000_000.5,
  modified: 1_795_000_000.5,
  ...extra,
});
/** What events.create writes: the head and its index copies. */
function eventCreation(u: string, id: string): DynamoDBRecord[] {
  const e = event(u, id);
  return [
    insert({ pk: `EV#${u}`, sk: id, ...e, ix: [`ES#${u}#health#a\u0000d#x#${id}`], endTime: e.time }),
    insert({ pk: `ES#${u}#health#a`, sk: `d#x#${id}`, ...e }),
    insert({ pk: `ES#${u}#*#a`, sk: `i#x#${id}`, ...e }),
    insert({ pk: `EM#${u}`, sk: `y#${id}`, ...e }),
  ];
}
const access = (u: string, extra: Record<string, unknown> = {}): Item => ({
  pk: `USER#${u}`,
  sk: 'ACCESS#tok-123',
  id: 'acc1',
  token: 'tok-123',
  type: 'app',
  name: 'my app',
  permissions: [{ streamId: 'health', level: 'read' }],
  created: 1_795_000_000,
  calls: { 'events:get': 3 },
  lastUsed: 1_795_000_100,
  ...extra,
});

const asObject = (m: Map<string, Set<string>>) => Object.fromEntries([...m].map(([u, s]) => [u, [...s].sort()]));

describe('changesFromRecords', () => {
  it('gives one eventsChanged per user for events created, updated and deleted', () => {
    const records = [
      ...eventCreation('alice', 'ev1'),
      modify(
        { pk: 'EV#alice', sk: 'ev1', ...event('alice', 'ev1') },
        { pk: 'EV#alice', sk: 'ev1', ...event('alice', 'ev1', { content: 73 }) },
      ),
      remove({ pk: 'EV#alice', sk: 'ev2', ...event('alice', 'ev2') }),
    ];
    expect(asObject(changesFromRecords(records))).toEqual({ alice: ['eventsChanged'] });
  });

  it("carries the writer's push mark of this version only: an update without one is the fan-out's to tell", () => {
    const mark = { id: 'push-1', by: 1_795_000_003_000 };
    const marked = { pk: 'EV#alice', sk: 'ev1', ...event('alice', 'ev1'), ps: mark };
    const unmarked = { pk: 'EV#alice', sk: 'ev1', ...event('alice', 'ev1', { content: 74 }) };
    const details = collectChanges([insert(marked), modify(marked, unmarked)]).get('alice')!.details;
    expect(details).toHaveLength(2);
    expect(details[0]).toMatchObject({ kind: 'event', id: 'ev1', push: mark });
    expect(details[1]).toMatchObject({ kind: 'event', id: 'ev1' });
    expect(details[1]).not.toHaveProperty('push');
    // A malformed mark is no mark: the fan-out tells every socket rather than trusting it.
    const broken = collectChanges([insert({ ...marked, ps: { id: 7 } })]).get('alice')!.details;
    expect(broken[0]).not.toHaveProperty('push');
  });

  it('coalesces a burst of 1,000 event writes into one message', () => {
    const records = Array.from({ length: 1000 }, (_, i) => eventCreation('bob', `ev${i}`)).flat();
    const changes = changesFromRecords(records);
    expect(asObject(changes)).toEqual({ bob: ['eventsChanged'] });
  });

  it('ignores index copies, history and every non-head item on their own', () => {
    const e = event('alice', 'ev1');
    const records = [
      insert({ pk: 'ES#alice#health#a', sk: 'd#x#ev1', ...e }),
      remove({ pk: 'ES#alice#*#a', sk: 'i#x#ev1', ...e }),
      insert({ pk: 'EM#alice', sk: 'y#ev1', ...e }),
      insert({ pk: 'ER#alice', sk: 'ev1', ...e }),
      insert({ pk: 'EH#alice#ev1', sk: 'y#1', ...e }),
      insert({ pk: 'USER#alice', sk: 'ACCOUNT', username: 'alice', email: 'a@example.com' }),
      modify({ pk: 'USER#alice', sk: 'ACCOUNT', storageUsed: 1 }, { pk: 'USER#alice', sk: 'ACCOUNT', storageUsed: 2 }),
      insert({ pk: 'EMAIL#a@example.com', sk: 'EMAIL', username: 'alice' }),
      modify({ pk: 'USER#alice', sk: 'STREAM#', maxDuration: 0 }, { pk: 'USER#alice', sk: 'STREAM#', maxDuration: 60 }),
      insert({ pk: 'USER#alice', sk: 'STREAMNAME##Health', id: 'health' }),
      insert({ pk: 'USER#alice', sk: 'ACCESSID#acc1', token: 'tok-123' }),
      insert({ pk: 'USER#alice', sk: 'ACCESSKEY#app#my app#', token: 'tok-123', accessId: 'acc1' }),
      insert({ ...access('alice'), sk: 'ACCESSHIST#acc1#0000000000' }),
    ];
    expect(changesFromRecords(records).size).toBe(0);
  });

  it('reports stream creations, updates and deletion records; a bare removal is not told', () => {
    const stream = { pk: 'USER#carol', sk: 'STREAM#health', id: 'health', name: 'Health', parentId: null };
    expect(asObject(changesFromRecords([insert(stream)]))).toEqual({ carol: ['streamsChanged'] });
    expect(asObject(changesFromRecords([modify(stream, { ...stream, name: 'Santé' })]))).toEqual({ carol: ['streamsChanged'] });
    // streams.delete writes a deletion record in the same transaction; a removal alone is account deletion
    expect(asObject(changesFromRecords([remove(stream)]))).toEqual({});
    expect(asObject(changesFromRecords([insert({ pk: 'USER#carol', sk: 'STREAMDEL#health', id: 'health', deleted: 1 })]))).toEqual({
      carol: ['streamsChanged'],
    });
  });

  it('reports access creations, real updates and deletions', () => {
    const created = insert(access('dave'));
    const deleted = [remove(access('dave')), insert({ ...access('dave'), sk: 'ACCESSDEL#acc1', deleted: 1_795_000_200 })];
    const renamed = modify(access('dave'), access('dave', { name: 'other name' }));
    const newPermission = modify(access('dave'), access('dave', { permissions: [{ streamId: 'health', level: 'contribute' }] }));
    for (const records of [[created], deleted, [renamed], [newPermission]]) {
      expect(asObject(changesFromRecords(records))).toEqual({ dave: ['accessesChanged'] });
    }
  });

  it('gives an accessUpdated (versioned id, serial) for each access whose serial moved, nothing for other access changes', () => {
    const v0 = access('gina');
    const v1 = access('gina', { name: 'renamed', serial: 1 });
    const v2 = access('gina', { name: 'again', serial: 2 });
    const usage = { ...v2, lastUsed: 1_795_000_900 };
    const records = [insert(v0), modify(v0, v1), modify(v1, v2), modify(v2, usage), modify(v2, { ...v2, calls: {} })];
    const gina = collectChanges(records).get('gina')!;
    expect([...gina.messages]).toEqual(['accessesChanged']);
    expect(gina.accessUpdates.map((u) => u.message)).toEqual([
      { type: 'access-updated', accessId: 'acc1:1', serial: 1 },
      { type: 'access-updated', accessId: 'acc1:2', serial: 2 },
    ]);
    // what listeners of that token keep from then on: the access as the update left it
    expect(gina.accessUpdates.map((u) => u.token)).toEqual(['tok-123', 'tok-123']);
    expect(gina.accessUpdates[1]!.snapshot).toEqual({
      accessId: 'acc1',
      accessType: 'app',
      permissions: [{ streamId: 'health', level: 'read' }],
    });
    expect(collectChanges([insert(v0), modify(v0, access('gina', { name: 'x' }))]).get('gina')!.accessUpdates).toEqual([]);
  });

  it('ignores access updates that only track usage (lastUsed, calls, sessionExpires)', () => {
    const before = access('erin', { type: 'personal', sessionExpires: 1_796_000_000 });
    const usage = modify(before, {
      ...before,
      lastUsed: 1_795_000_500,
      calls: { 'events:get': 4, 'streams:get': 1 },
      sessionExpires: 1_796_000_500,
    });
    const firstUse = modify(access('erin', { calls: {}, lastUsed: undefined }), access('erin'));
    const logout = modify(before, { ...before, sessionExpires: 1_795_000_600 });
    expect(changesFromRecords([usage, firstUse, logout]).size).toBe(0);
    // the same update with a real change beside the counters is a change
    const both = modify(before, { ...before, lastUsed: 1_795_000_500, name: 'renamed' });
    expect(asObject(changesFromRecords([usage, both]))).toEqual({ erin: ['accessesChanged'] });
  });

  it("does not count the writer's request id (rq) as a change: it says who wrote, not what changed", () => {
    const before = access('ivan', { rq: 'req-create' });
    // a usage write keeps rq as it is; a rewrite that changed rq alone changed nothing clients see
    const usage = modify(before, { ...before, lastUsed: 1_795_000_700 });
    const rqOnly = modify(before, { ...before, rq: 'req-other' });
    expect(changesFromRecords([usage, rqOnly]).size).toBe(0);
    const renamed = modify(before, { ...before, name: 'renamed', rq: 'req-update' });
    expect(asObject(changesFromRecords([renamed]))).toEqual({ ivan: ['accessesChanged'] });
  });

  it('compares maps and sets regardless of attribute order', () => {
    const a = access('frank', { clientData: { x: 1, y: new Set(['a', 'b']) } });
    const reordered: Record<string, AttributeValue> = {};
    const img = image(a);
    for (const k of Object.keys(img).reverse()) reordered[k] = img[k]!;
    reordered.clientData = { M: { y: { SS: ['b', 'a'] }, x: { N: '1' } } };
    const r = modify(a, { ...a, lastUsed: 1_795_009_999 });
    r.dynamodb!.OldImage = reordered;
    expect(changesFromRecords([r]).size).toBe(0);
  });

  it('sees a change anywhere in an access beside its usage counters, at any depth and of any type', () => {
    const before = access('hugo', {
      permissions: [
        { streamId: 'health', level: 'read' },
        { streamId: 'diary', level: 'contribute' },
      ],
      clientData: { tags: new Set(['a', 'b']), n: new Set([1, 2]), deep: [{ x: 1 }] },
    });
    const used = (extra: Record<string, unknown>) =>
      modify(before, { ...before, lastUsed: 1_795_000_800, calls: { 'events:create': 9 }, ...extra });
    expect(changesFromRecords([used({})]).size).toBe(0);
    const changed = [
      used({
        permissions: [
          { streamId: 'health', level: 'read' },
          { streamId: 'diary', level: 'manage' },
        ],
      }),
      used({
        permissions: [
          { streamId: 'diary', level: 'contribute' },
          { streamId: 'health', level: 'read' },
        ],
      }), // list order counts
      used({ clientData: { tags: new Set(['a', 'c']), n: new Set([1, 2]), deep: [{ x: 1 }] } }),
      used({ clientData: { tags: new Set(['a', 'b']), n: new Set([1, 3]), deep: [{ x: 1 }] } }),
      used({ clientData: { tags: new Set(['a', 'b']), n: new Set([1, 2]), deep: [{ x: 2 }] } }),
      used({ clientData: { tags: new Set(['a', 'b']), n: new Set([1, 2]), deep: [{ x: '1' }] } }), // a number became a string
      used({ clientData: { tags: new Set(['a', 'b']), n: new Set([1, 2]), deep: [{ x: 1, y: null }] } }),
      used({ clientData: { tags: new Set(['a', 'b']), n: new Set([1, 2]), deep: [] } }),
      used({ expires: 1_796_000_000 }), // an attribute added
    ];
    for (const r of changed) expect(asObject(changesFromRecords([r]))).toEqual({ hugo: ['accessesChanged'] });
    const dropped = modify(before, access('hugo', { clientData: before.clientData })); // permissions changed back to the default
    expect(asObject(changesFromRecords([dropped]))).toEqual({ hugo: ['accessesChanged'] });
  });

  it('still refuses an access record it cannot read when only its usage counters differ (set aside, as any unreadable record)', () => {
    const before = access('iris');
    const r = modify(before, { ...before, lastUsed: 1_795_000_900 });
    r.dynamodb!.NewImage!.calls = { M: { 'events:get': { XX: '4' } as unknown as AttributeValue } };
    expect(() => changesFromRecords([r])).toThrow(/Unsupported type/);
  });

  it('keeps users apart and gives each the kinds of change it had', () => {
    const records = [
      ...eventCreation('alice', 'ev1'),
      insert({ pk: 'USER#bob', sk: 'STREAM#work', id: 'work', name: 'Work' }),
      insert(access('carol')),
      ...eventCreation('bob', 'ev9'),
      modify(access('alice'), access('alice', { lastUsed: 1_795_999_999 })),
    ];
    expect(asObject(changesFromRecords(records))).toEqual({
      alice: ['eventsChanged'],
      bob: ['eventsChanged', 'streamsChanged'],
      carol: ['accessesChanged'],
    });
  });

  it('ignores TTL expiries (removals done by the service)', () => {
    const r = remove({ pk: 'EV#alice', sk: 'ev1', ...event('alice', 'ev1') });
    r.userIdentity = { type: 'Service', principalId: 'dynamodb.amazonaws.com' };
    expect(changesFromRecords([r]).size).toBe(0);
  });
});

describe('fan-out handler', () => {
  beforeAll(() => {
    process.env.LOG_LEVEL = 'silent'; // failures below are expected and logged
    clearSinks(); // the module registers the webhook sink at import; these tests bring their own
  });
  afterEach(() => clearSinks());
  const streamEvent = (records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });

  it('hands each user its coalesced messages, once per sink', async () => {
    const calls: Array<[string, string[]]> = [];
    registerSink(async (u, m) => void calls.push([u, m]));
    registerSink(async (u, m) => void calls.push([`second:${u}`, m]));
    const out = await handler(streamEvent([...eventCreation('alice', 'a'), insert(access('alice')), ...eventCreation('bob', 'b')]));
    expect(out.batchItemFailures).toEqual([]);
    expect(calls.sort()).toEqual([
      ['alice', ['accessesChanged', 'eventsChanged']],
      ['bob', ['eventsChanged']],
      ['second:alice', ['accessesChanged', 'eventsChanged']],
      ['second:bob', ['eventsChanged']],
    ]);
  });

  it('reports the first record of a failing user so the batch is retried from there', async () => {
    registerSink(async (u) => {
      if (u === 'bob') throw new Error('receiver down');
    });
    const alice = eventCreation('alice', 'a');
    const bobStream = insert({ pk: 'USER#bob', sk: 'STREAM#work', id: 'work' });
    const bobEvents = eventCreation('bob', 'b');
    const out = await handler(streamEvent([...alice, bobStream, ...bobEvents]));
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: bobStream.dynamodb!.SequenceNumber }]);
  });

  it('skips a record it cannot read instead of blocking the shard', async () => {
    const calls: string[] = [];
    registerSink(async (u) => void calls.push(u));
    const bad = insert({ pk: 'EV#alice', sk: 'x' });
    bad.dynamodb!.Keys = { pk: { XX: 'EV#alice' } as unknown as AttributeValue, sk: { S: 'x' } }; // unknown type: unmarshall throws
    const out = await handler(streamEvent([bad, ...eventCreation('bob', 'b')]));
    expect(out.batchItemFailures).toEqual([]);
    expect(calls).toEqual(['bob']);
  });

  it('does nothing for a batch without changes of interest', async () => {
    const calls: string[] = [];
    registerSink(async (u) => void calls.push(u));
    const out = await handler(streamEvent([modify(access('alice'), access('alice', { lastUsed: 1 }))]));
    expect(out.batchItemFailures).toEqual([]);
    expect(calls).toEqual([]);
  });
});
