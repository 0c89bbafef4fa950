import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../shared/config';
import { deleteAccount } from '../../shared/domain/accounts/deletion';
import { seriesAnswer } from '../../shared/domain/series/large-answers';
import { addCounters } from '../../shared/store/call-records';
import { keys } from '../../shared/store/keys';
import { partitionKeys, queryAll } from '../../shared/store/query';
import {
  COMPACT_SEGMENTS,
  compactSeries,
  MAX_CHUNK_ROWS,
  readSeries,
  SETTLED_AFTER_MS,
  type SeriesReadStats,
  writeSeries,
} from '../../shared/store/series/chunks';
import { loadSeriesStates } from '../../shared/store/series/state';
import { insertAccess } from '../setup/accesses';
import { apiUrl, call, createUser, expectError, type TestUser, useRuntimeStore } from '../setup/api';

/** HF series through the local runtime (Pryv API reference §2.2.7). */

function as(username: string, token: string) {
  const base = `/${username}`;
  return {
    get: (path: string) => call('GET', base + path, { token }),
    post: (path: string, body: unknown) => call('POST', base + path, { token, body }),
    put: (path: string, body: unknown) => call('PUT', base + path, { token, body }),
    del: (path: string) => call('DELETE', base + path, { token }),
  };
}
type Client = ReturnType<typeof as>;

const sid = (prefix = 's') => `${prefix}-${randomBytes(4).toString('hex')}`;
const flat = (fields: string[], points: unknown[][]) => ({ format: 'flatJSON', fields, points });

let user: TestUser;
let me: Client;
const S = { data: 'data', other: 'other' };

async function holder(api: Client, type = 'series:mass/kg', streamIds = [S.data], extra: Record<string, unknown> = {}) {
  const res = await api.post('/events', { streamIds, type, ...extra });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.event;
}

const points = async (api: Client, id: string, query = '') => {
  const res = await api.get(`/events/${id}/series${query}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.points as unknown[][];
};

/** Items holding points: chunks and segments (not the `~writes` item nor the tally). */
const chunkCount = async (eventId: string) =>
  (await partitionKeys(keys.seriesChunks(user.username, eventId))).filter(
    (k) => k.sk !== keys.seriesWrites(user.username, eventId).sk && k.sk !== keys.seriesTally(user.username, eventId).sk,
  ).length;
const segmentCount = async (eventId: string) =>
  (await partitionKeys(keys.seriesChunks(user.username, eventId))).filter((k) => k.sk.startsWith(keys.seriesSegmentPrefix)).length;
/** The encoded bytes a series holds, chunks and segments: what storageUsed.dbDocuments counts for it. */
const storedBytes = async (eventId: string) =>
  (
    await queryAll({
      TableName: config().tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.seriesChunks(user.username, eventId) },
    })
  ).reduce((sum, item) => sum + ((item.d as Uint8Array | undefined)?.byteLength ?? 0), 0);
const dbDocuments = async () => (await me.get('/account')).body.account.storageUsed.dbDocuments as number;

beforeAll(async () => {
  useRuntimeStore();
  user = await createUser();
  me = as(user.username, user.token);
  for (const id of [S.data, S.other]) expect((await me.post('/streams', { id, name: id })).status).toBe(201);
});

describe('series holders (events of type series:{class}/{format})', () => {
  it('get server-set content {elementType, fields, required} and duration 0', async () => {
    const mass = await holder(me, 'series:mass/kg', [S.data], { time: 1_700_000_000 });
    expect(mass.duration ?? 0).toBe(0); // 0 is answered as a point event's: no duration
    expect(mass).toMatchObject({
      type: 'series:mass/kg',
      content: { elementType: 'mass/kg', fields: ['deltaTime', 'value'], required: ['deltaTime', 'value'] },
    });
    const gps = await holder(me, 'series:position/wgs84');
    expect(gps.content.elementType).toBe('position/wgs84');
    expect(gps.content.fields).toEqual(expect.arrayContaining(['deltaTime', 'latitude', 'longitude', 'altitude']));
    expect(gps.content.fields[0]).toBe('deltaTime');
    expect(gps.content.required).toEqual(['deltaTime', 'latitude', 'longitude']);
    expect((await me.get(`/events/${mass.id}`)).body.event.content).toEqual(mass.content);
  });

  it("update like other events: content stays the server's; given content → 400; a new series type gets its content", async () => {
    const h = await holder(me);
    const updated = await me.put(`/events/${h.id}`, { description: 'weight', clientData: { a: 1 } });
    expect(updated.status).toBe(200);
    expect(updated.body.event).toMatchObject({ description: 'weight', content: h.content });
    expectError(await me.put(`/events/${h.id}`, { content: 3 }), 400, 'invalid-parameters-format');
    expect((await me.put(`/events/${h.id}`, { content: null })).body.event.content).toEqual(h.content);
    const retyped = await me.put(`/events/${h.id}`, { type: 'series:mass/g' });
    expect(retyped.body.event.content).toEqual({ elementType: 'mass/g', fields: ['deltaTime', 'value'], required: ['deltaTime', 'value'] });
    expectError(await me.put(`/events/${h.id}`, { type: 'series:nothing/known' }), 400, 'invalid-event-type');
  });
});

describe('POST and GET /events/{id}/series', () => {
  it('stores points and reads them back ascending, as flatJSON; re-adding a deltaTime overwrites it', async () => {
    const h = await holder(me, 'series:mass/kg', [S.data], { time: Date.now() / 1000 - 1000 });
    const added = await me.post(
      `/events/${h.id}/series`,
      flat(
        ['deltaTime', 'value'],
        [
          [2, 20],
          [0, 1.5],
          [1, 10],
        ],
      ),
    );
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    expect(added.body.status).toBe('ok');
    const read = await me.get(`/events/${h.id}/series`);
    expect(read.body).toMatchObject({
      format: 'flatJSON',
      fields: ['deltaTime', 'value'],
      points: [
        [0, 1.5],
        [1, 10],
        [2, 20],
      ],
    });
    // Overwrite one, add one; within one request the last value given for a time wins.
    expect(
      (
        await me.post(
          `/events/${h.id}/series`,
          flat(
            ['value', 'deltaTime'],
            [
              [11, 1],
              [99, 3],
              [12, 1],
            ],
          ),
        )
      ).status,
    ).toBe(200);
    expect(await points(me, h.id)).toEqual([
      [0, 1.5],
      [1, 12],
      [2, 20],
      [3, 99],
    ]);
  });

  it('fromDeltaTime / toDeltaTime select a closed range; toDeltaTime defaults to now; to < from → 400', async () => {
    const time = Date.now() / 1000 - 100;
    const h = await holder(me, 'series:mass/kg', [S.data], { time });
    const rows = [-5, 0, 10, 50, 99, 1000, 5000].map((dt) => [dt, dt * 2]);
    expect((await me.post(`/events/${h.id}/series`, flat(['deltaTime', 'value'], rows))).status).toBe(200);
    // Default: every point up to now (≈ 100 s after the holder's time), the future ones are not yet due.
    expect(await points(me, h.id)).toEqual([
      [-5, -10],
      [0, 0],
      [10, 20],
      [50, 100],
      [99, 198],
    ]);
    expect(await points(me, h.id, '?fromDeltaTime=10&toDeltaTime=99')).toEqual([
      [10, 20],
      [50, 100],
      [99, 198],
    ]);
    expect(await points(me, h.id, '?fromDeltaTime=11&toDeltaTime=10000')).toEqual([
      [50, 100],
      [99, 198],
      [1000, 2000],
      [5000, 10000],
    ]);
    expect(await points(me, h.id, '?fromDeltaTime=6000&toDeltaTime=7000')).toEqual([]);
    expectError(await me.get(`/events/${h.id}/series?fromDeltaTime=10&toDeltaTime=9`), 400, 'invalid-parameters-format');
  });

  it("a timestamp field is converted to deltaTime from the holder's time", async () => {
    const h = await holder(me, 'series:mass/kg', [S.data], { time: 1_000_000 });
    expect(
      (
        await me.post(
          `/events/${h.id}/series`,
          flat(
            ['timestamp', 'value'],
            [
              [1_000_010, 1],
              [1_000_000.5, 2],
            ],
          ),
        )
      ).status,
    ).toBe(200);
    expect(await points(me, h.id, '?toDeltaTime=100')).toEqual([
      [0.5, 2],
      [10, 1],
    ]);
  });

  it("object types: the type's properties as fields, optional ones may be left out or null", async () => {
    const h = await holder(me, 'series:position/wgs84');
    const res = await me.post(
      `/events/${h.id}/series`,
      flat(
        ['deltaTime', 'latitude', 'longitude', 'altitude'],
        [
          [0, 46.5, 6.6, 372],
          [1, 46.6, 6.7, null],
        ],
      ),
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((await me.post(`/events/${h.id}/series`, flat(['deltaTime', 'longitude', 'latitude'], [[2, 7, 47]]))).status).toBe(200);
    const read = (await me.get(`/events/${h.id}/series?toDeltaTime=10`)).body;
    const col = (name: string) => read.fields.indexOf(name);
    expect(read.points).toHaveLength(3);
    expect(read.points.map((p: unknown[]) => [p[0], p[col('latitude')], p[col('longitude')], p[col('altitude')]])).toEqual([
      [0, 46.5, 6.6, 372],
      [1, 46.6, 6.7, null],
      [2, 47, 7, null],
    ]);
  });

  it('bad points → a precise 400 and nothing stored', async () => {
    const h = await holder(me);
    const bad = async (body: unknown, id = 'invalid-parameters-format') => {
      const res = await me.post(`/events/${h.id}/series`, body);
      expectError(res, 400, id);
      return res.body.error;
    };
    expect(
      (
        await bad(
          flat(
            ['deltaTime', 'value'],
            [
              [0, 1],
              [1, 'heavy'],
            ],
          ),
        )
      ).data,
    ).toMatchObject({ point: 1 });
    expect((await bad(flat(['deltaTime', 'value'], [[0, 1], [1]]))).data).toMatchObject({ point: 1 });
    expect((await bad(flat(['deltaTime', 'value'], [['x', 1]]))).data).toMatchObject({ point: 0, field: 'deltaTime' });
    expect((await bad(flat(['deltaTime', 'value', 'color'], [[0, 1, 'red']]))).data).toMatchObject({ fields: ['color'] });
    await bad(flat(['deltaTime'], [[0]]));
    await bad(flat(['value'], [[1]]));
    await bad(flat(['deltaTime', 'timestamp', 'value'], [[0, 1, 2]]));
    await bad(flat(['deltaTime', 'value', 'value'], [[0, 1, 1]]));
    await bad({ format: 'csv', fields: ['deltaTime', 'value'], points: [[0, 1]] });
    await bad({ format: 'flatJSON', fields: ['deltaTime', 'value'] });
    const gps = await holder(me, 'series:position/wgs84');
    expectError(await me.post(`/events/${gps.id}/series`, flat(['deltaTime', 'latitude'], [[0, 1]])), 400, 'invalid-parameters-format');
    expect(await points(me, h.id)).toEqual([]);
    expect(await chunkCount(h.id)).toBe(0);
  });

  it('unknown event → 404; a normal event → 400 invalid-operation; the token must be in the Authorization header', async () => {
    expectError(await me.post('/events/cxxxxxxxxxxxxxxxxxxxxxxxx/series', flat(['deltaTime', 'value'], [[0, 1]])), 404, 'unknown-resource');
    const normal = (await me.post('/events', { streamIds: [S.data], type: 'mass/kg', content: 1 })).body.event;
    expectError(await me.post(`/events/${normal.id}/series`, flat(['deltaTime', 'value'], [[0, 1]])), 400, 'invalid-operation');
    expectError(await me.get(`/events/${normal.id}/series`), 400, 'invalid-operation');
    const h = await holder(me);
    const viaQuery = await call('GET', `/${user.username}/events/${h.id}/series?auth=${user.token}`);
    expectError(viaQuery, 401, 'missing-header');
    expect((await call('GET', `/${user.username}/events/${h.id}/series`)).status).toBe(401);
  });

  it('many points: chunks split within their limits, any range reads exactly its points', async () => {
    const h = await holder(me, 'series:mass/kg', [S.data], { time: 0 });
    const n = Math.round(MAX_CHUNK_ROWS * 3.5);
    const all = Array.from({ length: n }, (_, i) => [i * 0.01, Math.sin(i)]);
    // In two writes, the second one interleaved with the first.
    const even = all.filter((_, i) => i % 2 === 0);
    const odd = all.filter((_, i) => i % 2 === 1);
    expect((await me.post(`/events/${h.id}/series`, flat(['deltaTime', 'value'], even))).status).toBe(200);
    expect((await me.post(`/events/${h.id}/series`, flat(['deltaTime', 'value'], odd))).status).toBe(200);
    expect(await chunkCount(h.id)).toBeGreaterThanOrEqual(4);
    expect(await points(me, h.id)).toEqual(all);
    const from = 1234;
    const to = 2987;
    expect(await points(me, h.id, `?fromDeltaTime=${all[from]![0]}&toDeltaTime=${all[to]![0]}`)).toEqual(all.slice(from, to + 1));
  });

  it('read after write: segments and the chunks a compaction just wrote are read strongly, the others eventually consistent', async () => {
    const h = await holder(me, 'series:mass/kg', [S.data], { time: 0 });
    const n = Math.round(MAX_CHUNK_ROWS * 3.5);
    const all = Array.from({ length: n }, (_, i) => [i * 0.01, 60 + Math.sin(i / 50) * 10]);
    // Written and compacted long enough ago to have settled.
    const old = Date.now() - SETTLED_AFTER_MS - 5000;
    const rows = { deltaTimes: all.map((p) => p[0]!), columns: { value: all.map((p) => p[1]!) } };
    await writeSeries(user.username, [{ eventId: h.id, rows }], { now: old });
    await compactSeries(user.username, h.id, old);
    expect(await segmentCount(h.id)).toBe(0);
    const chunks = await chunkCount(h.id);
    expect(chunks).toBeGreaterThanOrEqual(4);
    const read = async (now?: number) => {
      const stats: SeriesReadStats = { chunks: 0 };
      const got = await readSeries(user.username, h.id, -Infinity, 1e9, stats, now);
      return { points: got.deltaTimes.map((t, i) => [t, got.columns.value![i]]), stats };
    };
    // At rest: every chunk but the one the first Query finds is read eventually consistent.
    const rest = await read();
    expect(rest.points).toEqual(all);
    expect(rest.stats).toEqual({ chunks, settled: chunks - 1, segments: 0 });
    // Right after the compaction wrote them, the same chunks are read strongly.
    expect((await read(old + 1000)).stats).toEqual({ chunks, settled: 0, segments: 0 });

    // A client overwrites a point in a middle chunk and appends more than a chunk holds, then
    // reads: what it wrote is there, from its segments (read strongly).
    const middle = Math.round(MAX_CHUNK_ROWS * 2.5); // in the third chunk
    const added = Array.from({ length: MAX_CHUNK_ROWS }, (_, i) => [(n + i) * 0.01, i]);
    const body = flat(['deltaTime', 'value'], [[all[middle]![0], -1], ...added]);
    expect((await me.post(`/events/${h.id}/series`, body)).status).toBe(200);
    const expected = [...all.slice(0, middle), [all[middle]![0], -1], ...all.slice(middle + 1), ...added];
    expect(await points(me, h.id)).toEqual(expected);
    const pending = await read();
    expect(pending.points).toEqual(expected);
    expect(pending.stats).toEqual({ chunks, settled: chunks - 1, segments: 2 }); // 1,001 rows: two segments
    // Compacted: the points are in chunks, read strongly from the third one (the lowest written) on.
    await compactSeries(user.username, h.id);
    expect(await segmentCount(h.id)).toBe(0);
    const after = await read();
    expect(after.points).toEqual(expected);
    const chunksNow = await chunkCount(h.id);
    expect(chunksNow).toBeGreaterThan(chunks);
    // Settled: the chunks keyed below the third one, but the first (read by the first Query).
    expect(after.stats).toEqual({ chunks: chunksNow, settled: 1, segments: 0 });
    expect((await read(Date.now() + SETTLED_AFTER_MS + 1000)).stats.settled).toBe(chunksNow - 1);
  });

  it('each write takes one more than the tally it read and adds to it before answering; compaction at the segment or byte bound', async () => {
    const h = await holder(me, 'series:mass/kg', [S.data], { time: 0 });
    const tally = async () =>
      (
        await queryAll({
          TableName: config().tableName,
          KeyConditionExpression: 'pk = :pk AND sk = :sk',
          ExpressionAttributeValues: { ':pk': keys.seriesChunks(user.username, h.id), ':sk': keys.seriesTally(user.username, h.id).sk },
          ConsistentRead: true,
        })
      )[0];
    const segmentCounters = async () =>
      (await partitionKeys(keys.seriesChunks(user.username, h.id)))
        .filter((k) => k.sk.startsWith(keys.seriesSegmentPrefix))
        .map((k) => parseInt(k.sk.slice(keys.seriesSegmentPrefix.length, keys.seriesSegmentPrefix.length + 12), 16));
    // Small writes, one after the other: the first starts the tally, the others add to it (in the call's records request).
    const before = await dbDocuments();
    for (let i = 0; i < COMPACT_SEGMENTS - 1; i++) {
      expect((await me.post(`/events/${h.id}/series`, flat(['deltaTime', 'value'], [[i, i]]))).status).toBe(200);
    }
    expect(await segmentCounters()).toEqual(Array.from({ length: COMPACT_SEGMENTS - 1 }, (_, i) => i + 1));
    const t = await tally();
    expect(t?.w).toBe(COMPACT_SEGMENTS - 1);
    expect(t?.b).toBe(await storedBytes(h.id));
    expect((await dbDocuments()) - before).toBe(await storedBytes(h.id));
    // The write that makes the count compacts: no segment left, storage usage still the bytes stored.
    expect((await me.post(`/events/${h.id}/series`, flat(['deltaTime', 'value'], [[100, 100]]))).status).toBe(200);
    expect(await segmentCount(h.id)).toBe(0);
    expect((await tally())?.w).toBe(COMPACT_SEGMENTS);
    expect((await dbDocuments()) - before).toBe(await storedBytes(h.id));
    // A write past the byte bound compacts at once; the next write's counter is above every folded one.
    const big = Array.from({ length: 5000 }, (_, i) => [1000 + i, Math.random()]); // random doubles: ~8 bytes a point
    expect((await me.post(`/events/${h.id}/series`, flat(['deltaTime', 'value'], big))).status).toBe(200);
    expect(await segmentCount(h.id)).toBe(0);
    expect((await me.post(`/events/${h.id}/series`, flat(['deltaTime', 'value'], [[5, -5]]))).status).toBe(200);
    expect(await segmentCounters()).toEqual([COMPACT_SEGMENTS + 2]);
    const got = await points(me, h.id);
    expect(got).toHaveLength(COMPACT_SEGMENTS + 5000);
    expect(got[5]).toEqual([5, -5]);
    expect((await dbDocuments()) - before).toBe(await storedBytes(h.id));
  });

  it('after a compaction the pending count is the writes it left, also when overlapping writers took the same counter', async () => {
    const h = await holder(me, 'series:mass/kg', [S.data], { time: 0 });
    const u = user.username;
    const state = async () => (await loadSeriesStates(u, [h.id])).get(h.id)!;
    const rows = (from: number, n: number) => ({
      deltaTimes: Array.from({ length: n }, (_, i) => from + i),
      columns: { value: Array.from({ length: n }, (_, i) => i) },
    });
    /** A write as `series.add` makes it, from the state it read: its segment, then its tally add. */
    const write = async (read: Awaited<ReturnType<typeof state>>, from: number, n: number) => {
      const done = await writeSeries(u, [{ eventId: h.id, rows: rows(from, n) }], { states: new Map([[h.id, read]]) });
      await Promise.all(done.counters.map(addCounters));
    };
    expect((await me.post(`/events/${h.id}/series`, flat(['deltaTime', 'value'], [[0, 0]]))).status).toBe(200);
    // Four writers that overlap read the same state: they take the same counter, each adds one write to the tally.
    const seen = await state();
    for (let k = 1; k <= 4; k++) await write(seen, k * 10, 5);
    expect(await state()).toMatchObject({ counter: 5, pendingSegments: 5 });
    await compactSeries(u, h.id);
    expect(await segmentCount(h.id)).toBe(0);
    expect(await state()).toMatchObject({ pendingSegments: 0, pendingBytes: 0 });
    // A compaction that leaves segments (at most 20,000 rows at once): three writes of 8,000 rows,
    // 24 segments; it folds 20, a part of the third write stays: one write, its bytes, pending.
    for (let k = 0; k < 3; k++) await write(await state(), 1000 + k * 8000, 8000);
    await compactSeries(u, h.id);
    expect(await segmentCount(h.id)).toBe(4);
    const left = await storedBytes(h.id);
    expect(await state()).toMatchObject({ pendingSegments: 1 });
    const after = await state();
    expect(after.pendingBytes).toBeGreaterThan(0);
    expect(after.pendingBytes).toBeLessThan(left);
    const got = await points(me, h.id);
    expect(got).toHaveLength(1 + 4 * 5 + 24_000);
    expect(got.at(-1)).toEqual([1000 + 24_000 - 1, 7999]);
  });

  it('a compaction leaves a full chunk that every new row comes after as it is', async () => {
    const h = await holder(me, 'series:mass/kg', [S.data], { time: 0 });
    const chunkItems = async () =>
      (
        await queryAll({
          TableName: config().tableName,
          KeyConditionExpression: 'pk = :pk AND sk < :tail',
          ExpressionAttributeValues: { ':pk': keys.seriesChunks(user.username, h.id), ':tail': '~' },
          ConsistentRead: true,
        })
      ).map((item) => ({ sk: item.sk as string, v: item.v as number, n: item.n as number }));
    const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => [from + i, (from + i) / 7]);
    expect((await me.post(`/events/${h.id}/series`, flat(['deltaTime', 'value'], rows(0, MAX_CHUNK_ROWS)))).status).toBe(200);
    await compactSeries(user.username, h.id);
    const [full] = await chunkItems();
    expect(full).toMatchObject({ v: 1, n: MAX_CHUNK_ROWS });
    expect((await me.post(`/events/${h.id}/series`, flat(['deltaTime', 'value'], rows(MAX_CHUNK_ROWS, 10)))).status).toBe(200);
    await compactSeries(user.username, h.id);
    const after = await chunkItems();
    expect(after).toEqual([full, { sk: keys.seriesChunk(user.username, h.id, MAX_CHUNK_ROWS).sk, v: 1, n: 10 }]);
    // Rows before the full chunk's last one are merged into it as ever.
    expect((await me.post(`/events/${h.id}/series`, flat(['deltaTime', 'value'], [[3.5, -1]]))).status).toBe(200);
    await compactSeries(user.username, h.id);
    expect((await chunkItems())[0]).toMatchObject({ sk: full!.sk, v: 2 });
    const got = await points(me, h.id);
    expect(got).toHaveLength(MAX_CHUNK_ROWS + 11);
    expect(got[4]).toEqual([3.5, -1]);
  });

  it('a compaction of large appends keeps their segments as chunks, bytes as written; other writes merge', async () => {
    const h = await holder(me, 'series:mass/kg', [S.data], { time: 0 });
    const items = async (below: string) =>
      (
        await queryAll({
          TableName: config().tableName,
          KeyConditionExpression: 'pk = :pk AND sk < :below',
          ExpressionAttributeValues: { ':pk': keys.seriesChunks(user.username, h.id), ':below': below },
          ConsistentRead: true,
        })
      ).map((item) => ({ sk: item.sk as string, v: item.v as number, n: item.n as number, d: Buffer.from(item.d as Uint8Array) }));
    const segments = async () => (await items('~t')).filter((item) => item.sk.startsWith(keys.seriesSegmentPrefix));
    const chunks = () => items('~');
    const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => [from + i, Math.round(((from + i) / 7) * 100) / 100]);
    const before = await dbDocuments();
    // Three writes of a chunk's worth, not in time order, their ranges apart.
    for (const from of [2000, 0, 1000]) {
      expect((await me.post(`/events/${h.id}/series`, flat(['deltaTime', 'value'], rows(from, MAX_CHUNK_ROWS)))).status).toBe(200);
    }
    const written = await segments();
    expect(written).toHaveLength(3);
    await compactSeries(user.username, h.id);
    expect(await segmentCount(h.id)).toBe(0);
    // In time order, the first keyed −∞ as a series' first chunk always is, each the bytes of one write.
    const kept = await chunks();
    expect(kept.map(({ sk, v, n }) => ({ sk, v, n }))).toEqual([
      { sk: keys.seriesChunk(user.username, h.id, -Infinity).sk, v: 1, n: MAX_CHUNK_ROWS },
      { sk: keys.seriesChunk(user.username, h.id, 1000).sk, v: 1, n: MAX_CHUNK_ROWS },
      { sk: keys.seriesChunk(user.username, h.id, 2000).sk, v: 1, n: MAX_CHUNK_ROWS },
    ]);
    const byFirstWrite = [written[1]!, written[2]!, written[0]!]; // written in seq order: 2000, 0, 1000
    expect(kept.map((chunk, k) => chunk.d.equals(byFirstWrite[k]!.d))).toEqual([true, true, true]);
    expect(await points(me, h.id)).toEqual(rows(0, 3 * MAX_CHUNK_ROWS));
    // A later append of over half a chunk: a chunk of its own after the last one.
    expect((await me.post(`/events/${h.id}/series`, flat(['deltaTime', 'value'], rows(3000, 600)))).status).toBe(200);
    await compactSeries(user.username, h.id);
    expect((await chunks()).at(-1)).toMatchObject({ sk: keys.seriesChunk(user.username, h.id, 3000).sk, v: 1, n: 600 });
    // The next one too: the chunk before it is left as it is, not full.
    expect((await me.post(`/events/${h.id}/series`, flat(['deltaTime', 'value'], rows(3600, MAX_CHUNK_ROWS)))).status).toBe(200);
    const [appended] = await segments();
    await compactSeries(user.username, h.id);
    const top = (await chunks()).slice(-2);
    expect(top.map(({ sk, v, n }) => ({ sk, v, n }))).toEqual([
      { sk: keys.seriesChunk(user.username, h.id, 3000).sk, v: 1, n: 600 },
      { sk: keys.seriesChunk(user.username, h.id, 3600).sk, v: 1, n: MAX_CHUNK_ROWS },
    ]);
    expect(top[1]!.d.equals(appended!.d)).toBe(true);
    expect(await points(me, h.id)).toEqual(rows(0, 4600));
    // Bytes moved as they were: the storage usage counted at the writes is still what is stored.
    expect((await dbDocuments()) - before).toBe(await storedBytes(h.id));
    // A large write into stored times is merged into the chunks it falls in, as ever; its rows win.
    const over = rows(2500, MAX_CHUNK_ROWS).map(([t]) => [t, -1]);
    expect((await me.post(`/events/${h.id}/series`, flat(['deltaTime', 'value'], over))).status).toBe(200);
    await compactSeries(user.username, h.id);
    expect(await segmentCount(h.id)).toBe(0);
    const merged = await chunks();
    expect(merged.find((chunk) => chunk.sk === keys.seriesChunk(user.username, h.id, 2000).sk)?.v).toBe(2);
    expect(merged.find((chunk) => chunk.sk === keys.seriesChunk(user.username, h.id, 3000).sk)?.v).toBe(2);
    expect(await points(me, h.id)).toEqual([...rows(0, 2500), ...over, ...rows(3500, 1100)]);
  });

  it('concurrent writers to one series lose nothing', async () => {
    const h = await holder(me, 'series:mass/kg', [S.data], { time: 0 });
    const writers = 8;
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        const rows = Array.from({ length: 50 }, (_, i) => [i * writers + w, w]);
        const res = await me.post(`/events/${h.id}/series`, flat(['deltaTime', 'value'], rows));
        expect(res.status, JSON.stringify(res.body)).toBe(200);
      }),
    );
    const read = await points(me, h.id);
    expect(read).toHaveLength(writers * 50);
    expect(read).toEqual(Array.from({ length: writers * 50 }, (_, i) => [i, i % writers]));
  });

  it('concurrent writers of the same deltaTimes: each point is one writer’s whole row; a later write wins, before and after compaction', async () => {
    const h = await holder(me, 'series:position/wgs84', [S.data], { time: 0 });
    const fields = ['deltaTime', 'latitude', 'longitude'];
    const writers = 6;
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        const res = await me.post(
          `/events/${h.id}/series`,
          flat(
            fields,
            Array.from({ length: 20 }, (_, i) => [i, w, 10 + w]),
          ),
        );
        expect(res.status, JSON.stringify(res.body)).toBe(200);
      }),
    );
    const mixed = await points(me, h.id);
    expect(mixed.map((p) => p[0])).toEqual(Array.from({ length: 20 }, (_, i) => i));
    for (const [, latitude, longitude] of mixed) expect(longitude).toBe((latitude as number) + 10);
    // One after the other, enough to go through compactions: each write replaces the previous one's values.
    for (let round = 0; round < COMPACT_SEGMENTS + 3; round++) {
      expect(
        (
          await me.post(
            `/events/${h.id}/series`,
            flat(fields, [
              [5, round, 100 + round],
              [50 + round, round, 0],
            ]),
          )
        ).status,
      ).toBe(200);
      const got = await points(me, h.id);
      expect(got.find((p) => p[0] === 5)?.slice(0, 3)).toEqual([5, round, 100 + round]); // the type's other fields: null
      expect(got).toHaveLength(20 + round + 1);
    }
    expect(await segmentCount(h.id)).toBeLessThan(COMPACT_SEGMENTS);
  });

  it('compactions racing writers lose no point, and storage usage stays the bytes stored', async () => {
    const before = await dbDocuments();
    const h = await holder(me, 'series:mass/kg', [S.data], { time: 0 });
    const writers = 4;
    const rounds = 6;
    const compacting = (async () => {
      let bytes = 0;
      for (let i = 0; i < 2 * rounds; i++) bytes += await compactSeries(user.username, h.id);
      return bytes;
    })();
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let r = 0; r < rounds; r++) {
          // 300 rows each: writes start compactions of their own too.
          const rows = Array.from({ length: 300 }, (_, i) => [(r * 300 + i) * writers + w, w * 1000 + r]);
          const res = await me.post(`/events/${h.id}/series`, flat(['deltaTime', 'value'], rows));
          expect(res.status, JSON.stringify(res.body)).toBe(200);
        }
      }),
    );
    const compactedBytes = await compacting;
    const expected = Array.from({ length: writers * rounds * 300 }, (_, t) => {
      const w = t % writers;
      const r = Math.floor(t / writers / 300);
      return [t, w * 1000 + r];
    });
    expect(await points(me, h.id)).toEqual(expected);
    // Compactions started by writes are counted in storage usage; the ones called here directly are added.
    const apiCounted = (await dbDocuments()) - before;
    expect(apiCounted + compactedBytes).toBe(await storedBytes(h.id));
    await compactSeries(user.username, h.id);
    expect(await points(me, h.id)).toEqual(expected);
  });
});

describe('POST /series/batch', () => {
  it('writes several series in one call; one bad entry → 400 and nothing stored anywhere', async () => {
    const a = await holder(me, 'series:mass/kg', [S.data], { time: 0 });
    const b = await holder(me, 'series:position/wgs84', [S.data], { time: 0 });
    const batch = (entries: unknown[]) => me.post('/series/batch', { format: 'seriesBatch', data: entries });
    const good = [
      {
        eventId: a.id,
        data: flat(
          ['deltaTime', 'value'],
          [
            [1, 1],
            [2, 2],
          ],
        ),
      },
      { eventId: b.id, data: flat(['deltaTime', 'latitude', 'longitude'], [[1, 10, 20]]) },
    ];
    const bad = await batch([...good, { eventId: a.id, data: flat(['deltaTime', 'value'], [[3, 'x']]) }]);
    expectError(bad, 400, 'invalid-parameters-format');
    expect(bad.body.error.message).toMatch(/entry 2/);
    expectError(
      await batch([...good, { eventId: 'cxxxxxxxxxxxxxxxxxxxxxxxx', data: flat(['deltaTime', 'value'], [[3, 3]]) }]),
      400,
      'unknown-referenced-resource',
    );
    expectError(await me.post('/series/batch', { format: 'flatJSON', data: good }), 400, 'invalid-parameters-format');
    expect(await points(me, a.id)).toEqual([]);
    expect(await points(me, b.id)).toEqual([]);

    const done = await batch([
      ...good,
      {
        eventId: a.id,
        data: flat(
          ['deltaTime', 'value'],
          [
            [2, 22],
            [3, 3],
          ],
        ),
      },
    ]);
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body.status).toBe('ok');
    expect(await points(me, a.id)).toEqual([
      [1, 1],
      [2, 22],
      [3, 3],
    ]);
    expect(await points(me, b.id)).toHaveLength(1);
  });
});

describe('permissions (like the holder event: read to read, contribute to write)', () => {
  it('per token type and level', async () => {
    const h = await holder(me);
    expect((await me.post(`/events/${h.id}/series`, flat(['deltaTime', 'value'], [[0, 1]]))).status).toBe(200);
    const tokenFor = async (type: 'app' | 'shared', level: string, streamId = S.data) =>
      (await insertAccess(user.username, type, { permissions: [{ streamId, level } as never] })).token;
    const reader = as(user.username, await tokenFor('shared', 'read'));
    const contributor = as(user.username, await tokenFor('app', 'contribute'));
    const stranger = as(user.username, await tokenFor('shared', 'manage', S.other));
    expect(await points(reader, h.id, '?toDeltaTime=10')).toEqual([[0, 1]]);
    expectError(await reader.post(`/events/${h.id}/series`, flat(['deltaTime', 'value'], [[1, 1]])), 403, 'forbidden');
    expect((await contributor.post(`/events/${h.id}/series`, flat(['deltaTime', 'value'], [[1, 2]]))).status).toBe(200);
    expect(
      (
        await contributor.post('/series/batch', {
          format: 'seriesBatch',
          data: [{ eventId: h.id, data: flat(['deltaTime', 'value'], [[2, 3]]) }],
        })
      ).status,
    ).toBe(200);
    expectError(await stranger.get(`/events/${h.id}/series`), 403, 'forbidden');
    expectError(await stranger.post(`/events/${h.id}/series`, flat(['deltaTime', 'value'], [[9, 9]])), 403, 'forbidden');
    expectError(
      await stranger.post('/series/batch', {
        format: 'seriesBatch',
        data: [{ eventId: h.id, data: flat(['deltaTime', 'value'], [[9, 9]]) }],
      }),
      403,
      'forbidden',
    );
    expect(await points(me, h.id, '?toDeltaTime=10')).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
    // Another user's token never reaches these points.
    const other = await createUser();
    expect((await call('GET', `/${user.username}/events/${h.id}/series`, { token: other.token })).status).toBe(403);
  });
});

describe('deletion cascades and storage usage', () => {
  it('deleting the holder for good removes its points and their bytes from storageUsed.dbDocuments', async () => {
    const before = await dbDocuments();
    const h = await holder(me);
    expect(
      (
        await me.post(
          `/events/${h.id}/series`,
          flat(
            ['deltaTime', 'value'],
            Array.from({ length: 500 }, (_, i) => [i, Math.random()]),
          ),
        )
      ).status,
    ).toBe(200);
    const used = await dbDocuments();
    expect(used).toBeGreaterThan(before + 500); // random doubles do not compress much
    expect(await chunkCount(h.id)).toBe(1);
    expect((await me.del(`/events/${h.id}`)).status).toBe(200); // trashed: points kept
    expect(await chunkCount(h.id)).toBe(1);
    expect((await me.del(`/events/${h.id}`)).status).toBe(200);
    expect(await chunkCount(h.id)).toBe(0);
    expect(await dbDocuments()).toBe(before);
  });

  it("deleting the holder's stream removes its points", async () => {
    const stream = sid('hf');
    expect((await me.post('/streams', { id: stream, name: stream })).status).toBe(201);
    const h = await holder(me, 'series:mass/kg', [stream]);
    expect((await me.post(`/events/${h.id}/series`, flat(['deltaTime', 'value'], [[0, 1]]))).status).toBe(200);
    expect((await me.del(`/streams/${stream}`)).status).toBe(200);
    expect((await me.del(`/streams/${stream}?mergeEventsWithParent=false`)).status).toBe(200);
    expect(await chunkCount(h.id)).toBe(0);
  });

  it('deleting the account removes its points', async () => {
    const victim = await createUser();
    const api = as(victim.username, victim.token);
    expect((await api.post('/streams', { id: 'd', name: 'd' })).status).toBe(201);
    const h = (await api.post('/events', { streamIds: ['d'], type: 'series:mass/kg' })).body.event;
    expect((await api.post(`/events/${h.id}/series`, flat(['deltaTime', 'value'], [[0, 1]]))).status).toBe(200);
    expect((await partitionKeys(keys.seriesChunks(victim.username, h.id))).length).toBe(2); // the write's segment, the tally
    await deleteAccount(victim.username);
    expect((await partitionKeys(keys.seriesChunks(victim.username, h.id))).length).toBe(0);
  });
});

describe('answers too large for a Lambda response', () => {
  it('go to the bucket behind a short-lived link holding the same JSON', async () => {
    const answer = {
      format: 'flatJSON' as const,
      fields: ['deltaTime', 'value'],
      points: Array.from({ length: 3000 }, (_, i) => [i, i / 3]),
    };
    const caller = {
      username: user.username,
      access: {} as never,
      now: Date.now() / 1000,
      author: 'test',
      config: { ...config(), directTransferMaxBytes: 10_000 },
    };
    const stored = await seriesAnswer(caller, answer);
    expect(stored).toEqual({ location: expect.any(String) });
    const res = await fetch((stored as { location: string }).location);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(answer);
    // Small enough: answered directly, with the JSON the transport sends.
    const small = { ...answer, points: answer.points.slice(0, 10) };
    expect(await seriesAnswer(caller, small)).toEqual({ json: JSON.stringify(small) });
  });
});

describe('service info', () => {
  it('no longer says noHF', async () => {
    const info = (await fetch(`${apiUrl()}/service/info`).then((r) => r.json())) as { features?: { noHF?: boolean } };
    expect(info.features?.noHF).toBeUndefined();
  });
});
