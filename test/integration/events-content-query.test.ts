import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiUrl, call, createUser, expectError, type TestUser } from '../setup/api';

/**
 * Content queries on events.get (Pryv API reference §2.2.1, v2): `content` / `clientData`
 * conditions, strict JSON typing, AND of all conditions, with every other filter, over HTTP,
 * callBatch and a socket, and precise 400s for malformed conditions.
 */

let user: TestUser;
const ids: Record<string, string> = {};
const T0 = 1_700_000_000;

/** key → [stream, time offset (s), type, content, clientData] */
const FIXTURE: Array<[string, string, number, string, unknown, unknown]> = [
  ['drugA', 'meds', 1, 'drug/atc', { drug: { codes: { atc: 'G03DA01' } }, dose: 2 }, { source: 'pharmacy' }],
  ['drugA2', 'meds', 2, 'drug/atc', { drug: { codes: { atc: 'G03DA01' } }, dose: 5 }, null],
  ['drugB', 'meds', 3, 'drug/atc', { drug: { codes: { atc: 'N02BE01' } }, dose: '5' }, { source: 'doctor' }],
  ['drugOther', 'other', 4, 'drug/atc', { drug: { codes: { atc: 'G03DA01' } }, dose: 1 }, null],
  ['mass70', 'body', 5, 'value/any', 70, null],
  ['massStr', 'body', 6, 'value/any', '70', null],
  ['flagTrue', 'body', 7, 'flag/any', { flag: true }, null],
  ['flagOne', 'body', 8, 'flag/any', { flag: 1 }, null],
  ['nullVal', 'body', 9, 'flag/any', { flag: null }, null],
];

beforeAll(async () => {
  user = await createUser();
  for (const id of ['meds', 'other', 'body']) {
    const res = await call('POST', `/${user.username}/streams`, { token: user.token, body: { id, name: id } });
    expect(res.status).toBe(201);
  }
  for (const [key, streamId, dt, type, content, clientData] of FIXTURE) {
    const body: Record<string, unknown> = { streamIds: [streamId], time: T0 + dt, type, content };
    if (clientData !== null) body.clientData = clientData;
    const res = await call('POST', `/${user.username}/events`, { token: user.token, body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    ids[res.body.event.id] = key;
  }
});

const keysOf = (events: Array<{ id: string }>) => events.map((e) => ids[e.id] ?? e.id).sort();

async function query(params: Record<string, unknown>, token = user.token) {
  const qs = new URLSearchParams({ fromTime: String(T0), toTime: String(T0 + 100) });
  for (const [k, v] of Object.entries(params)) {
    // Conditions go stringified (as the pryv library sends them); other lists as repeated keys.
    if (k !== 'content' && k !== 'clientData' && Array.isArray(v)) for (const x of v) qs.append(k, String(x));
    else qs.set(k, typeof v === 'string' ? v : JSON.stringify(v));
  }
  return call('GET', `/${user.username}/events?${qs}`, { token });
}

async function keys(params: Record<string, unknown>, token = user.token): Promise<string[]> {
  const res = await query(params, token);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return keysOf(res.body.events);
}

describe('events.get content queries', () => {
  it('service info announces them', async () => {
    const info = await call('GET', '/service/info');
    expect(info.body.features).toEqual({ contentQueries: true });
  });

  it('eq on a nested path: the reference tool query answers the matching events only', async () => {
    expect(await keys({ content: [{ path: 'drug.codes.atc', eq: 'G03DA01' }] })).toEqual(['drugA', 'drugA2', 'drugOther']);
  });

  it('every operator, with strict JSON typing', async () => {
    expect(await keys({ content: [{ path: 'dose', in: [2, '5'] }] })).toEqual(['drugA', 'drugB']);
    expect(await keys({ content: [{ path: 'dose', gt: 1 }] })).toEqual(['drugA', 'drugA2']);
    expect(await keys({ content: [{ path: 'dose', gte: 1 }] })).toEqual(['drugA', 'drugA2', 'drugOther']);
    expect(await keys({ content: [{ path: 'dose', lt: 5 }] })).toEqual(['drugA', 'drugOther']);
    expect(await keys({ content: [{ path: 'dose', lte: 5 }] })).toEqual(['drugA', 'drugA2', 'drugOther']);
    expect(await keys({ content: [{ path: 'drug.codes.atc', prefix: 'G03' }] })).toEqual(['drugA', 'drugA2', 'drugOther']);
    expect(await keys({ content: [{ path: 'flag', exists: true }] })).toEqual(['flagOne', 'flagTrue', 'nullVal']);
    expect(await keys({ content: [{ path: 'flag', exists: false }], streams: ['body'] })).toEqual(['mass70', 'massStr']);
    expect(await keys({ content: [{ path: 'flag', eq: true }] })).toEqual(['flagTrue']);
    expect(await keys({ content: [{ path: 'flag', eq: 1 }] })).toEqual(['flagOne']);
    // `$` is the content itself: 70 (a number) is not "70" (a string).
    expect(await keys({ content: [{ path: '$', eq: 70 }] })).toEqual(['mass70']);
    expect(await keys({ content: [{ path: '$', eq: '70' }] })).toEqual(['massStr']);
  });

  it('neq compares present values only; a missing value never matches it', async () => {
    // drugB's dose is the string "5": different from the number 2, so it matches too.
    expect(await keys({ content: [{ path: 'dose', neq: 2 }] })).toEqual(['drugA2', 'drugB', 'drugOther']);
  });

  it('conditions are AND-ed, on content and clientData, with the other filters', async () => {
    expect(
      await keys({
        content: [
          { path: 'drug.codes.atc', eq: 'G03DA01' },
          { path: 'dose', gte: 2 },
        ],
        streams: ['meds'],
      }),
    ).toEqual(['drugA', 'drugA2']);
    expect(await keys({ content: [{ path: 'drug.codes.atc', eq: 'G03DA01' }], clientData: [{ path: 'source', eq: 'pharmacy' }] })).toEqual([
      'drugA',
    ]);
    expect(await keys({ clientData: [{ path: 'source', exists: true }] })).toEqual(['drugA', 'drugB']);
    expect(await keys({ content: [{ path: 'dose', exists: true }], types: ['drug/atc'], streams: ['other'] })).toEqual(['drugOther']);
  });

  it('skip and limit count matching events only', async () => {
    const res = await query({ content: [{ path: 'drug.codes.atc', eq: 'G03DA01' }], limit: 2, sortAscending: true });
    expect(res.body.events.map((e: { id: string }) => ids[e.id])).toEqual(['drugA', 'drugA2']);
    const next = await query({ content: [{ path: 'drug.codes.atc', eq: 'G03DA01' }], skip: 2, limit: 2, sortAscending: true });
    expect(next.body.events.map((e: { id: string }) => ids[e.id])).toEqual(['drugOther']);
  });

  it('a restricted token gets the matches among what it may read', async () => {
    const created = await call('POST', `/${user.username}/accesses`, {
      token: user.token,
      body: { name: 'doctor', type: 'shared', permissions: [{ streamId: 'other', level: 'read' }] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(await keys({ content: [{ path: 'drug.codes.atc', eq: 'G03DA01' }] }, created.body.access.token)).toEqual(['drugOther']);
  });

  it('malformed conditions: 400 invalid-parameters-format, naming the parameter', async () => {
    const bad: unknown[] = [
      'not json',
      '{"path":"a","eq":1}',
      [{ eq: 1 }],
      [{ path: '', eq: 1 }],
      [{ path: 'a..b', eq: 1 }],
      [{ path: 'a b', eq: 1 }],
      [{ path: 'a', eq: 1, neq: 2 }],
      [{ path: 'a' }],
      [{ path: 'a', like: 'x' }],
      [{ path: 'a', eq: null }],
      [{ path: 'a', eq: { x: 1 } }],
      [{ path: 'a', in: [] }],
      [{ path: 'a', in: Array.from({ length: 101 }, (_, i) => i) }],
      [{ path: 'a', exists: 'yes' }],
      [{ path: 'a', gt: '3' }],
      [{ path: 'a', prefix: '' }],
      Array.from({ length: 11 }, () => ({ path: 'a', exists: true })),
    ];
    for (const content of bad) {
      const res = await query({ content });
      expectError(res, 400, 'invalid-parameters-format');
      expect(res.body.error.message).toContain('"content"');
    }
    expectError(await query({ clientData: [{ path: 'x', lt: true }] }), 400, 'invalid-parameters-format');
  });

  it('through callBatch, with native arrays', async () => {
    const res = await call('POST', `/${user.username}`, {
      token: user.token,
      body: [
        { method: 'events.get', params: { fromTime: T0, toTime: T0 + 100, content: [{ path: 'dose', gt: 1 }] } },
        { method: 'events.get', params: { fromTime: T0, toTime: T0 + 100, content: [{ path: 'dose', gt: 'x' }] } },
      ],
    });
    expect(res.status).toBe(200);
    expect(keysOf(res.body.results[0].events)).toEqual(['drugA', 'drugA2']);
    expect(res.body.results[1].error.id).toBe('invalid-parameters-format');
  });

  describe('over a socket', () => {
    let socket: Socket;
    afterAll(() => socket?.close());
    it('answers the same matches', async () => {
      socket = io(`${apiUrl()}/${user.username}/${user.username}?auth=${encodeURIComponent(user.token)}`, {
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      const [err, res] = await new Promise<[any, any]>((resolve) =>
        socket.emit(
          'events.get',
          { fromTime: T0, toTime: T0 + 100, content: [{ path: 'drug.codes.atc', prefix: 'N02' }] },
          (e: any, r: any) => resolve([e, r]),
        ),
      );
      expect(err).toBeNull();
      expect(keysOf(res.events)).toEqual(['drugB']);
    });
  });

  it('audit streams do not take content queries: 400 invalid-operation', async () => {
    const res = await call(
      'GET',
      `/${user.username}/events?streams=${encodeURIComponent('[":_audit:"]')}&content=${encodeURIComponent('[{"path":"a","eq":1}]')}`,
      {
        token: user.token,
      },
    );
    expectError(res, 400, 'invalid-operation');
  });
});
