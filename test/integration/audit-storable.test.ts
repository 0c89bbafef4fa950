import { beforeAll, describe, expect, it } from 'vitest';
import { queryShape } from '../../shared/api/audit-calls';
import { storable } from '../../shared/store/storable';
import { call, createUser, type TestUser } from '../setup/api';

/**
 * The audit trail never drops a record (README "Faults and retries"): what a call carried is
 * made storable before its record is written, so even queries DynamoDB could not hold as
 * given are found in audit.getLogs.
 */

let user: TestUser;
const logsOf = async (action: string) =>
  (await call('GET', `/${user.username}/audit/logs?limit=1000`, { token: user.token })).body.auditLogs.filter(
    (l: { action: string }) => l.action === action,
  ) as Array<{ action: string; status: number; query: Record<string, unknown> }>;

beforeAll(async () => {
  user = await createUser();
});

describe('audit records of calls carrying values DynamoDB cannot store as given', () => {
  it("@pryv/monitor's default query (fromTime/toTime ±1.7976931348623157e308) is recorded", async () => {
    const res = await call('GET', `/${user.username}/events?fromTime=-1.7976931348623157e308&toTime=1.7976931348623157e308`, {
      token: user.token,
    });
    expect(res.status).toBe(200);
    const records = await logsOf('events.get');
    // The time bounds are clamped to DynamoDB's range before the call runs (shared/limits.ts), so the
    // record holds the bounds the call used.
    const monitor = records.find((r) => r.query.toTime === 9.99e125);
    expect(monitor, JSON.stringify(records)).toBeDefined();
    expect(monitor).toMatchObject({ status: 200, query: { fromTime: -9.99e125, toTime: 9.99e125 } });
  });

  it('a batch of many calls with oversized method names is recorded, cut with a marker', async () => {
    const calls = Array.from({ length: 1_200 }, (_, i) => ({ method: `${'x'.repeat(300)}${i}`, params: {} }));
    const res = await call('POST', `/${user.username}/`, { token: user.token, body: calls });
    expect(res.status).toBe(200);
    const record = (await logsOf('callBatch')).find((r) => r.query.callCount === 1_200);
    expect(record).toBeDefined();
    const listed = record!.query.calls as string[];
    expect(listed).toHaveLength(1_000);
    expect(Math.max(...listed.map((m) => m.length))).toBeLessThanOrEqual(100);
  });
});

describe('storable: what no audit record may hold', () => {
  it('numbers out of range become text; odd keys are renamed without touching prototypes; long and deep values are cut', () => {
    const parsed = JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{}},"":1,"big":1e309,"tiny":1e-200,"ok":-2.5}');
    const out = storable({ ...parsed, long: 'y'.repeat(5_000), deep: [[[[[[[[1]]]]]]]] }, { maxDepth: 4, maxString: 100 }) as Record<
      string,
      unknown
    >;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(out['<key:__proto__>']).toEqual({ polluted: true });
    expect(out['<key:constructor>']).toEqual({ '<key:prototype>': {} });
    expect(out['<key:>']).toBe(1);
    expect(out.big).toBe('Infinity');
    expect(out.tiny).toBe('1e-200');
    expect(out.ok).toBe(-2.5);
    expect(out.long).toBe(`${'y'.repeat(100)}…[cut: 5000 chars]`);
    expect(JSON.stringify(out.deep)).toBe('[[["<array:1>"]]]'); // the record is level 0: three levels kept below it
  });

  it('the shape of a query keeps a `__proto__` parameter as a renamed key', () => {
    const params = JSON.parse('{"streams":{"__proto__":["a"]},"limit":5}');
    expect(queryShape('events.get', params)).toEqual({ streams: { '<key:__proto__>': ['a'] }, limit: 5 });
  });
});
