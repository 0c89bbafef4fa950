import { beforeAll, describe, expect, it } from 'vitest';
import { getEvents } from '../../shared/domain/events/get';
import { loadUserData } from '../../shared/domain/user-data';
import type { Access } from '../../shared/model/accesses';
import { dynamo, table } from '../../shared/store/clients';
import { UpdateCommand } from '../../shared/store/commands';
import type { ReadStats } from '../../shared/store/events/read';
import { keys } from '../../shared/store/keys';
import { readDataMeta } from '../../shared/store/streams';
import { call, createUser, type TestUser, useRuntimeStore } from '../setup/api';

/**
 * Running events (open end) and bounded reads: a read whose range begins after a running
 * event began still returns it (Pryv API reference §2.2.1: events overlapping the range). The
 * running events are Queried only when the data meta says one may have begun before the
 * range (README "Data model"); these tests fail if a write that stores a running event does
 * not say so first, whatever made the event running (creation, update of its duration or
 * time) and whatever the data meta knew before.
 */

const DAY = 24 * 3600;
let now: number;

beforeAll(() => {
  useRuntimeStore();
  now = Math.floor(Date.now() / 1000);
});

async function newUser(): Promise<TestUser> {
  const user = await createUser();
  const res = await call('POST', `/${user.username}/streams`, { token: user.token, body: { id: 'r', name: 'r' } });
  expect(res.status).toBe(201);
  return user;
}

async function create(user: TestUser, params: Record<string, unknown>): Promise<string> {
  const res = await call('POST', `/${user.username}/events`, {
    token: user.token,
    body: { streamIds: ['r'], type: 'note/txt', content: 'x', ...params },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.event.id as string;
}

/** Ids of the events of the last day (a range that began long after the old events). */
async function lastDay(user: TestUser): Promise<string[]> {
  const res = await call('GET', `/${user.username}/events?streams=r&fromTime=${now - DAY}&toTime=${now + 60}`, { token: user.token });
  expect(res.status).toBe(200);
  return (res.body.events as Array<{ id: string }>).map((e) => e.id);
}

/** Requests a last-day read makes (the read alone, in this process, as the method makes it). */
async function lastDayRequests(user: TestUser): Promise<number> {
  const access = { id: 'test', token: 'unused', type: 'personal', name: 'test', permissions: [] } as unknown as Access;
  const data = await loadUserData({ username: user.username, access });
  const stats: ReadStats = { requests: 0, capacity: 0, items: 0 };
  await getEvents(user.username, { fromTime: now - DAY, toTime: now + 60, streams: ['r'] }, data, now + 1, stats);
  return stats.requests;
}

describe('bounded reads and running events', () => {
  it('an account without running events: after its first read, bounded reads make no Query of them', async () => {
    const user = await newUser();
    await create(user, { time: now - 10 * DAY });
    // The first read finds none and records it.
    expect(await lastDay(user)).toEqual([]);
    expect(await readDataMeta(user.username)).toMatchObject({ runningKnown: true });
    expect((await readDataMeta(user.username)).runningFrom).toBeUndefined();
    // One stream without children: one range, no running Query.
    expect(await lastDayRequests(user)).toBe(1);
    const running = await call('GET', `/${user.username}/events?running=true`, { token: user.token });
    expect(running.body.events).toEqual([]);
  });

  it('a running event created long before the range, after a read recorded none: returned', async () => {
    const user = await newUser();
    expect(await lastDay(user)).toEqual([]);
    const old = await create(user, { time: now - 40 * DAY, duration: null });
    expect(await lastDay(user)).toEqual([old]);
    const running = await call('GET', `/${user.username}/events?running=true`, { token: user.token });
    expect(running.body.events.map((e: { id: string }) => e.id)).toEqual([old]);
    // Known to begin before the range: the read Queries the running events again.
    expect(await lastDayRequests(user)).toBe(2);
  });

  it('an event made running by an update (duration null), older than any running event known: returned', async () => {
    const user = await newUser();
    const recent = await create(user, { time: now - 3600, duration: null });
    const finite = await create(user, { time: now - 30 * DAY, duration: 60 });
    expect(await lastDay(user)).toEqual([recent]);
    const res = await call('PUT', `/${user.username}/events/${finite}`, { token: user.token, body: { duration: null } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((await lastDay(user)).sort()).toEqual([recent, finite].sort());
  });

  it('a running event moved earlier by an update (time), before the range: returned', async () => {
    const user = await newUser();
    const id = await create(user, { time: now - 3600, duration: null });
    // Began inside the range: found by the range's own Query.
    expect(await lastDay(user)).toEqual([id]);
    expect(await lastDayRequests(user)).toBe(1);
    const res = await call('PUT', `/${user.username}/events/${id}`, { token: user.token, body: { time: now - 20 * DAY } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(await lastDay(user)).toEqual([id]);
  });

  it('an event that stops running stays out of later ranges, the data meta still covering it', async () => {
    const user = await newUser();
    const id = await create(user, { time: now - 20 * DAY, duration: null });
    expect(await lastDay(user)).toEqual([id]);
    const res = await call('PUT', `/${user.username}/events/${id}`, { token: user.token, body: { duration: 3600 } });
    expect(res.status).toBe(200);
    expect(await lastDay(user)).toEqual([]);
  });

  it('running events stored before the data meta kept track of them: found by the first read, then known', async () => {
    const user = await newUser();
    const old = await create(user, { time: now - 50 * DAY, duration: null });
    // As an account written before the data meta held these marks.
    await dynamo().send(
      new UpdateCommand({ TableName: table(), Key: keys.dataMeta(user.username), UpdateExpression: 'REMOVE runningFrom, runningKnown' }),
    );
    expect(await lastDay(user)).toEqual([old]);
    expect(await readDataMeta(user.username)).toMatchObject({ runningKnown: true, runningFrom: now - 50 * DAY });
    expect(await lastDay(user)).toEqual([old]);
  });
});
