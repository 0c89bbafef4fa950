import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { Audience } from '../../shared/domain/notifications/audience';
import { parseNamedScopes } from '../../shared/domain/notifications/scopes';
import { StreamTree } from '../../shared/domain/streams/tree';
import type { AccessSnapshot, ChangeDetail } from '../../shared/model/notifications';
import type { StoredStream } from '../../shared/model/streams';
import { collectChanges } from '../../shared/notify/changes';

/**
 * Who hears of what (shared/domain/notifications/audience.ts), from table records to the
 * messages each listener gets. The tree: health ⊃ (weight, private), work; `private` is
 * hidden from the doctor by an explicit `none`.
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
const tree = new StreamTree([s('health'), s('weight', 'health'), s('private', 'health'), s('work')]);

const personal: AccessSnapshot = { accessId: 'p', accessType: 'personal', permissions: [] };
const doctor: AccessSnapshot = {
  accessId: 'doc',
  accessType: 'shared',
  permissions: [
    { streamId: 'health', level: 'read' },
    { streamId: 'private', level: 'none' },
  ],
};
const app: AccessSnapshot = { accessId: 'app', accessType: 'app', permissions: [{ streamId: 'work', level: 'manage' }] };

const ev = (before?: string[], after?: string[], type = 'note/txt'): ChangeDetail => ({
  kind: 'event',
  id: 'e',
  ...(before ? { before: { streamIds: before, type } } : {}),
  ...(after ? { after: { streamIds: after, type } } : {}),
});
const tell = (changes: ChangeDetail[], who: AccessSnapshot, mode: 'access' | 'user' = 'access', scopes?: unknown) =>
  new Audience(changes, tree, mode).tell(who, scopes === undefined ? undefined : parseNamedScopes(scopes));

describe('Audience: access mode (the default)', () => {
  it('tells an event change to accesses that can read one of its streams before or after', () => {
    expect(tell([ev(undefined, ['weight'])], doctor).messages).toEqual(['eventsChanged']); // inherited read
    expect(tell([ev(undefined, ['work'])], doctor).messages).toEqual([]);
    expect(tell([ev(['work'], ['weight'])], doctor).messages).toEqual(['eventsChanged']); // moved in
    expect(tell([ev(['weight'], ['work'])], doctor).messages).toEqual(['eventsChanged']); // moved out
    expect(tell([ev(['weight'], undefined)], doctor).messages).toEqual(['eventsChanged']); // deleted: the tombstone's old image
    expect(tell([ev(undefined, ['private'])], doctor).messages).toEqual([]); // explicit none below a read
    // as events.get: an event also in a hidden stream is not readable through the other one
    expect(tell([ev(undefined, ['weight', 'private'])], doctor).messages).toEqual([]);
    expect(tell([ev(undefined, ['private'])], personal).messages).toEqual(['eventsChanged']);
  });

  it('tells a stream change where the stream is or was visible', () => {
    const stream = (id: string, places: Array<string | null | undefined>): ChangeDetail => ({ kind: 'stream', id, places });
    expect(tell([stream('weight', ['health'])], doctor).messages).toEqual(['streamsChanged']);
    expect(tell([stream('new', ['work'])], doctor).messages).toEqual([]);
    expect(tell([stream('moved', ['work', 'health'])], doctor).messages).toEqual(['streamsChanged']);
    expect(tell([stream('gone', ['health'])], doctor).messages).toEqual(['streamsChanged']); // no longer in the tree
    expect(tell([stream('private', ['health'])], doctor).messages).toEqual([]);
    expect(tell([stream('weight', [undefined])], doctor).messages).toEqual(['streamsChanged']); // place unknown: where it is now
    expect(tell([stream('top', [null])], app).messages).toEqual([]); // a root stream: only a `*` permission sees it
  });

  it('tells an access change to the access itself, its creator, and personal accesses', () => {
    const access = (id: string, createdBy: string): ChangeDetail => ({ kind: 'access', id, createdBy, type: 'shared', streamIds: [] });
    expect(tell([access('doc', 'p')], doctor).messages).toEqual(['accessesChanged']);
    expect(tell([access('other', 'app')], app).messages).toEqual(['accessesChanged']);
    expect(tell([access('other', 'app some-caller-id')], app).messages).toEqual(['accessesChanged']);
    expect(tell([access('other', 'app')], doctor).messages).toEqual([]);
    expect(tell([access('other', 'app')], personal).messages).toEqual(['accessesChanged']);
  });

  it('coalesces a batch into one message per kind the listener may hear of', () => {
    const batch: ChangeDetail[] = [
      ev(undefined, ['work']),
      ev(undefined, ['weight']),
      ev(undefined, ['weight']),
      { kind: 'stream', id: 'x', places: ['work'] },
    ];
    expect(tell(batch, doctor).messages).toEqual(['eventsChanged']);
    expect(tell(batch, app).messages).toEqual(['eventsChanged', 'streamsChanged']);
  });
});

describe('Audience: user mode (NOTIFICATION_SCOPE=user)', () => {
  it('tells every listener of every change', () => {
    const batch: ChangeDetail[] = [ev(undefined, ['work']), { kind: 'access', id: 'z', createdBy: 'p', streamIds: [] }];
    expect(new Audience(batch, undefined, 'user').tell(doctor).messages).toEqual(['accessesChanged', 'eventsChanged']);
  });
});

describe('Audience: named scopes', () => {
  it('gives the keys of the scopes a change fell in, within what the access may read, and no coarse message', () => {
    const scopes = {
      notes: { kind: 'events', query: { streams: ['health'], types: ['note/*'] } },
      weight: { kind: 'events', query: { streams: ['weight'] } },
      tree: { kind: 'streams', query: {} },
    };
    expect(tell([ev(undefined, ['weight'], 'mass/kg')], doctor, 'access', scopes)).toEqual({ messages: [], keys: ['weight'] });
    expect(tell([ev(undefined, ['weight'], 'note/txt')], doctor, 'access', scopes)).toEqual({ messages: [], keys: ['notes', 'weight'] });
    expect(tell([ev(undefined, ['private'], 'note/txt')], doctor, 'access', scopes)).toEqual({ messages: [], keys: [] });
    expect(tell([{ kind: 'stream', id: 'n', places: ['health'] }], doctor, 'access', scopes)).toEqual({ messages: [], keys: ['tree'] });
  });

  it("an events scope's state filters trash changes as events.get's state does (default when not given)", () => {
    const version = (trashed: boolean) => ({ streamIds: ['weight'], type: 'mass/kg', ...(trashed ? { trashed: true } : {}) });
    const change = (before?: boolean, after?: boolean): ChangeDetail => ({
      kind: 'event',
      id: 'e',
      ...(before !== undefined ? { before: version(before) } : {}),
      ...(after !== undefined ? { after: version(after) } : {}),
    });
    const scopes = {
      unset: { kind: 'events', query: { streams: ['weight'] } },
      live: { kind: 'events', query: { streams: ['weight'], state: 'default' } },
      bin: { kind: 'events', query: { streams: ['weight'], state: 'trashed' } },
      every: { kind: 'events', query: { streams: ['weight'], state: 'all' } },
    };
    const keysFor = (c: ChangeDetail) => tell([c], doctor, 'access', scopes).keys;
    expect(keysFor(change(undefined, false))).toEqual(['every', 'live', 'unset']); // created
    expect(keysFor(change(false, false))).toEqual(['every', 'live', 'unset']); // updated out of the trash
    expect(keysFor(change(false, true))).toEqual(['bin', 'every', 'live', 'unset']); // trashed: leaves one, enters the other
    expect(keysFor(change(true, true))).toEqual(['bin', 'every']); // updated in the trash
    expect(keysFor(change(true, undefined))).toEqual(['bin', 'every']); // a trashed event deleted
    expect(keysFor(change(true, false))).toEqual(['bin', 'every', 'live', 'unset']); // restored
  });

  it('a scope whose stream is gone matches nothing instead of failing the batch', () => {
    const scopes = { old: { kind: 'events', query: { streams: ['deleted-stream'] } }, all: { kind: 'events', query: {} } };
    expect(tell([ev(undefined, ['weight'])], doctor, 'access', scopes)).toEqual({ messages: [], keys: ['all'] });
  });

  it('content conditions: a change falls in the scope if the event meets them before or after it', () => {
    const version = (content: unknown, clientData?: unknown) => ({
      streamIds: ['weight'],
      type: 'mass/kg',
      content,
      ...(clientData !== undefined ? { clientData } : {}),
    });
    const change = (before: unknown, after: unknown, clientData?: unknown): ChangeDetail => ({
      kind: 'event',
      id: 'e',
      ...(before !== undefined ? { before: version(before, clientData) } : {}),
      ...(after !== undefined ? { after: version(after, clientData) } : {}),
    });
    const scopes = {
      heavy: { kind: 'events', query: { streams: ['health'], content: [{ path: '$', gt: 100 }] } },
      // stringified, as events.get takes it over HTTP
      drug: { kind: 'events', query: { content: '[{"path":"drug.atc","prefix":"G03"}]', clientData: [{ path: 'app', eq: 'x' }] } },
    };
    const keys = (c: ChangeDetail, who = doctor) => tell([c], who, 'access', scopes).keys;
    expect(keys(change(undefined, 120))).toEqual(['heavy']); // created matching
    expect(keys(change(undefined, 80))).toEqual([]); // created not matching
    expect(keys(change(120, 80))).toEqual(['heavy']); // moved out of the condition
    expect(keys(change(80, 120))).toEqual(['heavy']); // moved in
    expect(keys(change(120, undefined))).toEqual(['heavy']); // deleted: the old image
    expect(keys(change('120', undefined))).toEqual([]); // strict typing: a string is not a number
    // both parameters must hold (AND)
    expect(keys(change(undefined, { drug: { atc: 'G03DA01' } }, { app: 'x' }))).toEqual(['drug']);
    expect(keys(change(undefined, { drug: { atc: 'G03DA01' } }, { app: 'y' }))).toEqual([]);
    expect(keys(change(undefined, { drug: { atc: 'G03DA01' } }))).toEqual([]);
    // the condition narrows what the access may read, never widens it
    const hidden: ChangeDetail = { kind: 'event', id: 'e', after: { streamIds: ['private'], type: 'mass/kg', content: 500 } };
    expect(keys(hidden)).toEqual([]);
    expect(keys(hidden, personal)).toEqual(['heavy']);
  });

  it('checks content conditions as events.get does: precise 400s naming the scope, refused on audit streams', () => {
    const parse = (query: unknown) => () => parseNamedScopes({ s1: { kind: 'events', query } });
    expect(parse({ content: [{ path: 'a', gt: 'x' }] })).toThrow(
      expect.objectContaining({ id: 'invalid-parameters-format', status: 400, data: { param: 'content' } }),
    );
    expect(parse({ content: [{ path: 'a', gt: 'x' }] })).toThrow(
      /Scope "s1": The "content" parameter: condition 1: "gt" takes a finite number/,
    );
    expect(parse({ clientData: '[{"path":"a b","eq":1}]' })).toThrow(
      /Scope "s1": The "clientData" parameter: condition 1: path segment "a b"/,
    );
    expect(parse({ content: 'not json' })).toThrow(expect.objectContaining({ id: 'invalid-parameters-format' }));
    expect(parse({ streams: [':_audit:access-x'], content: [{ path: 'a', eq: 1 }] })).toThrow(
      expect.objectContaining({ id: 'invalid-operation', status: 400 }),
    );
    // only events scopes take them
    expect(() => parseNamedScopes({ s1: { kind: 'streams', query: { content: [{ path: 'a', eq: 1 }] } } })).toThrow(
      expect.objectContaining({ id: 'invalid-request-structure' }),
    );
    expect(parse({ content: [{ path: 'a', eq: 1 }], clientData: null })().s1!.query.content).toEqual([{ path: 'a', eq: 1 }]);
  });

  it('accesses scopes match on id, type and permission streams, for personal accesses', () => {
    const change: ChangeDetail = { kind: 'access', id: 'a1', createdBy: 'p', type: 'shared', streamIds: ['weight'] };
    const scopes = {
      byId: { kind: 'accesses', query: { accessIds: ['a1'] } },
      apps: { kind: 'accesses', query: { types: ['app'] } },
      health: { kind: 'accesses', query: { streams: ['health'] } },
    };
    expect(tell([change], personal, 'access', scopes).keys).toEqual(['byId', 'health']);
  });
});

describe('changes → details', () => {
  const image = (item: Record<string, unknown>) =>
    marshall(item, { removeUndefinedValues: true }) as unknown as Record<string, AttributeValue>;
  let seq = 1;
  const rec = (
    eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
    oldItem?: Record<string, unknown>,
    newItem?: Record<string, unknown>,
  ): DynamoDBRecord => {
    const k = (newItem ?? oldItem)!;
    return {
      eventName,
      dynamodb: {
        Keys: image({ pk: k.pk, sk: k.sk }),
        ...(oldItem ? { OldImage: image(oldItem) } : {}),
        ...(newItem ? { NewImage: image(newItem) } : {}),
        SequenceNumber: String(seq++),
      },
    };
  };

  it("keeps an event's streams before and after; a tombstone keeps what the head had", () => {
    const head = { pk: 'EV#ann', sk: 'e1', id: 'e1', streamIds: ['weight'], type: 'mass/kg' };
    const moved = { ...head, streamIds: ['work'] };
    const tomb = { pk: 'EV#ann', sk: 'e1', id: 'e1', deleted: 5 };
    const user = collectChanges([rec('MODIFY', head, moved), rec('MODIFY', moved, tomb)]).get('ann')!;
    expect(user.details).toEqual([
      { kind: 'event', id: 'e1', before: { streamIds: ['weight'], type: 'mass/kg' }, after: { streamIds: ['work'], type: 'mass/kg' } },
      { kind: 'event', id: 'e1', before: { streamIds: ['work'], type: 'mass/kg' } },
    ]);
  });

  it("keeps whether an event is in the trash, before and after, for scopes' state", () => {
    const head = { pk: 'EV#ann', sk: 'e1', id: 'e1', streamIds: ['weight'], type: 'mass/kg' };
    const trashed = { ...head, trashed: true };
    const user = collectChanges([
      rec('MODIFY', head, trashed),
      rec('MODIFY', trashed, { pk: 'EV#ann', sk: 'e1', id: 'e1', deleted: 5 }),
    ]).get('ann')!;
    expect(user.details).toEqual([
      {
        kind: 'event',
        id: 'e1',
        before: { streamIds: ['weight'], type: 'mass/kg' },
        after: { streamIds: ['weight'], type: 'mass/kg', trashed: true },
      },
      { kind: 'event', id: 'e1', before: { streamIds: ['weight'], type: 'mass/kg', trashed: true } },
    ]);
  });

  it("keeps an event's content and clientData as read, for content conditions", () => {
    const head = { pk: 'EV#ann', sk: 'e1', id: 'e1', streamIds: ['weight'], type: 'mass/kg', content: 72.5, clientData: { app: { v: 2 } } };
    const user = collectChanges([
      rec('MODIFY', head, { ...head, content: { a: [1, 'b'] } }),
      rec('INSERT', undefined, { ...head, sk: 'e2', id: 'e2', content: undefined, clientData: undefined }),
    ]).get('ann')!;
    expect(user.details).toEqual([
      {
        kind: 'event',
        id: 'e1',
        before: { streamIds: ['weight'], type: 'mass/kg', content: 72.5, clientData: { app: { v: 2 } } },
        after: { streamIds: ['weight'], type: 'mass/kg', content: { a: [1, 'b'] }, clientData: { app: { v: 2 } } },
      },
      { kind: 'event', id: 'e2', after: { streamIds: ['weight'], type: 'mass/kg' } },
    ]);
  });

  it("keeps a stream's place before and after, and the deleted stream's parent", () => {
    const stream = { pk: 'USER#ann', sk: 'STREAM#w', id: 'w', name: 'w', parentId: 'health' };
    const user = collectChanges([
      rec('MODIFY', stream, { ...stream, parentId: null }),
      rec('INSERT', undefined, { pk: 'USER#ann', sk: 'STREAMDEL#w', id: 'w', deleted: 1, parentId: 'health' }),
      rec('INSERT', undefined, { pk: 'USER#ann', sk: 'STREAMDEL#old', id: 'old', deleted: 1 }),
    ]).get('ann')!;
    expect(user.details).toEqual([
      { kind: 'stream', id: 'w', places: ['health', null] },
      { kind: 'stream', id: 'w', places: ['health'] },
      { kind: 'stream', id: 'old', places: [undefined] },
    ]);
  });

  it('tells nothing of removals (account deletion), but notes the tokens of accesses that ended', () => {
    const now = 1_800_000_000;
    const access = { pk: 'USER#ann', sk: 'ACCESS#tok1', id: 'a1', type: 'shared', permissions: [], createdBy: 'p' };
    const session = { pk: 'USER#ann', sk: 'ACCESS#tok2', id: 'a2', type: 'personal', permissions: [], sessionExpires: now + 100 };
    const changes = collectChanges(
      [
        rec('REMOVE', { pk: 'EV#ann', sk: 'e1', id: 'e1', streamIds: ['weight'] }),
        rec('REMOVE', { pk: 'USER#ann', sk: 'STREAM#w', id: 'w', parentId: null }),
        rec('REMOVE', access),
        rec('MODIFY', session, { ...session, sessionExpires: now - 1 }), // logout
      ],
      undefined,
      now,
    );
    const user = changes.get('ann')!;
    expect(user.messages.size).toBe(0);
    expect(user.details).toEqual([]);
    expect([...user.endedTokens].sort()).toEqual(['tok1', 'tok2']);
  });
});
