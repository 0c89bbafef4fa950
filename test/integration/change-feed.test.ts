import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { apiUrl, call, createUser, type TestUser } from '../setup/api';

/**
 * The change feed end to end: API write → DynamoDB Local stream → local stream consumer →
 * fan-out handler → sinks. The runtime (test/setup/local-runtime.ts, PRYV_TEST_CHANGE_LOG=1)
 * records what its sinks received, readable at the local gateway's GET /__test/changes.
 */
interface ChangeLogEntry {
  username: string;
  messages: string[];
  at: number;
}

async function changesOf(username: string): Promise<ChangeLogEntry[]> {
  const res = await fetch(`${apiUrl()}/__test/changes?username=${encodeURIComponent(username)}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { changes: ChangeLogEntry[] }).changes;
}

const WAIT_MS = 10_000; // far above the expected delay (about a poll interval), for a loaded machine

/** Waits until the user's log, after `from` entries, holds `message`; returns the new entries. */
async function waitFor(username: string, message: string, from = 0): Promise<ChangeLogEntry[]> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const fresh = (await changesOf(username)).slice(from);
    if (fresh.some((c) => c.messages.includes(message))) return fresh;
    if (Date.now() > deadline) throw new Error(`no ${message} for ${username} within ${WAIT_MS} ms: ${JSON.stringify(fresh)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A user whose registration's own change (its personal access) has come through: returns the log length to count from. */
async function quietUser(): Promise<{ user: TestUser; from: number }> {
  const user = await createUser();
  await waitFor(user.username, 'accessesChanged');
  return { user, from: (await changesOf(user.username)).length };
}

const post = (user: TestUser, path: string, body: unknown) => call('POST', `/${user.username}${path}`, { token: user.token, body });
const sid = () => `s-${randomBytes(4).toString('hex')}`;

async function mkStream(user: TestUser, id = sid()): Promise<string> {
  const res = await post(user, '/streams', { id, name: id });
  expect(res.status).toBe(201);
  return id;
}

describe('change feed (DynamoDB Stream → fan-out → sinks)', () => {
  it('turns an event creation into eventsChanged for its user, within a poll or so', async () => {
    const { user, from } = await quietUser();
    const stream = await mkStream(user);
    await waitFor(user.username, 'streamsChanged', from);
    const delays: string[] = [];
    for (let i = 0; i < 5; i++) {
      const before = (await changesOf(user.username)).length;
      const sent = Date.now();
      const res = await post(user, '/events', { streamIds: [stream], type: 'note/txt', content: `hi ${i}` });
      const answered = Date.now();
      expect(res.status).toBe(201);
      const fresh = await waitFor(user.username, 'eventsChanged', before);
      const entry = fresh.find((c) => c.messages.includes('eventsChanged'))!;
      expect(entry.messages).toEqual(['eventsChanged']);
      delays.push(`${entry.at - sent}/${entry.at - answered}`);
    }
    // Delay to the sink call from the request / from the answer (the write precedes the
    // answer's usage update, so the sink may run first): informative, not asserted.
    console.log(`change feed: request → sink / answer → sink, ms: ${delays.join(', ')}`);
  });

  it('turns a stream creation into streamsChanged', async () => {
    const { user, from } = await quietUser();
    await mkStream(user);
    const fresh = await waitFor(user.username, 'streamsChanged', from);
    expect(fresh.flatMap((c) => c.messages)).not.toContain('eventsChanged');
  });

  it('turns accesses.create into accessesChanged', async () => {
    const { user, from } = await quietUser();
    const stream = await mkStream(user);
    await waitFor(user.username, 'streamsChanged', from);
    const before = (await changesOf(user.username)).length;
    const res = await post(user, '/accesses', { name: `shared-${sid()}`, permissions: [{ streamId: stream, level: 'read' }] });
    expect(res.status).toBe(201);
    await waitFor(user.username, 'accessesChanged', before);
  });

  it('reports no accessesChanged for calls that only bump usage counters', async () => {
    const { user, from } = await quietUser();
    for (let i = 0; i < 3; i++) {
      expect((await call('GET', `/${user.username}/access-info`, { token: user.token })).status).toBe(200);
      expect((await call('GET', `/${user.username}/events?limit=1`, { token: user.token })).status).toBe(200);
      expect((await call('GET', `/${user.username}/streams`, { token: user.token })).status).toBe(200);
    }
    // A marker written after the reads: the stream is delivered in order, so once its change
    // is in, any change the reads caused is in too.
    await mkStream(user);
    const fresh = await waitFor(user.username, 'streamsChanged', from);
    expect(fresh.flatMap((c) => c.messages)).not.toContain('accessesChanged');
  });

  it("keeps users apart: one user's writes are not reported under another", async () => {
    const [a, b] = await Promise.all([quietUser(), quietUser()]);
    const stream = await mkStream(b.user);
    expect((await post(b.user, '/events', { streamIds: [stream], type: 'note/txt', content: 'b' })).status).toBe(201);
    await waitFor(b.user.username, 'eventsChanged', b.from);
    // a's marker comes after b's writes: once it is in, b's changes would have been too.
    await mkStream(a.user);
    const freshA = await waitFor(a.user.username, 'streamsChanged', a.from);
    expect(freshA.flatMap((c) => c.messages)).toEqual(['streamsChanged']);
  });

  it('coalesces a burst of 200 parallel event creations into far fewer messages', async () => {
    const { user, from } = await quietUser();
    const stream = await mkStream(user);
    await waitFor(user.username, 'streamsChanged', from);
    const before = (await changesOf(user.username)).length;
    // 200 calls at once on one local process: on a loaded machine some may wait past the
    // gateway's time and answer 503 (a documented server fault); a client sends those again.
    const create = async (i: number) => {
      for (let attempt = 1; ; attempt++) {
        const res = await post(user, '/events', { streamIds: [stream], type: 'count/generic', content: i });
        if (res.status !== 503 || attempt === 5) return res;
        await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
      }
    };
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => create(i)));
    expect(results.map((r) => r.status)).toEqual(Array(200).fill(201));
    // A marker after the burst: once its change is in, every event change is in.
    await mkStream(user);
    const fresh = await waitFor(user.username, 'streamsChanged', before);
    const eventsMessages = fresh.filter((c) => c.messages.includes('eventsChanged')).length;
    console.log(`change feed: 200 parallel event creations → ${eventsMessages} eventsChanged messages`);
    expect(eventsMessages).toBeGreaterThanOrEqual(1);
    // Each poll of the stream (about every 100 ms) gives at most one message per user.
    expect(eventsMessages).toBeLessThan(100);
  }, 150_000); // room for the resends above (each 503 comes after the gateway's 29 s)
});
