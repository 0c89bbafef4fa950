import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRuntime, startLocalRuntime } from '../../infra/local/runtime';

/**
 * Fault test, on a runtime of its own with a data folder: while several clients create events
 * as fast as they can, the DynamoDB Local JVM is killed (SIGKILL, by its PID). Then:
 * - every answer during the outage is `503 api-unavailable` (a fault of the server, to retry),
 *   never a 500;
 * - the runtime brings DynamoDB Local back by itself (same port, same data) and writes succeed;
 * - every write the API acknowledged (201) is there afterwards: by id, by stream, by time.
 */

const CLIENTS = 6;
const STREAMS = ['fault-a', 'fault-b', 'fault-c'];
const ACKED_BEFORE_KILL = 40;
const ACKED_AFTER_RECOVERY = 20;
const MAX_OUTAGE_MS = 300_000; // a JVM start on a loaded 2-core machine (up to 180 s per attempt)
const MAX_RETRY_WAIT_MS = 2_000; // clients honour Retry-After, up to this

interface Answer {
  status: number;
  errorId?: string;
  retryAfter?: string | null;
  /** When the request was sent. */
  sentAt: number;
}
interface Acked {
  id: string;
  streamId: string;
  time: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let runtime: LocalRuntime;
let dataDir: string;
let token: string;
let api: string;
const acked: Acked[] = [];
const answers: Answer[] = [];
let killedPid = 0;
let killedAt = 0;
let endpointBefore = '';
let recoveredAt: number | undefined;
let firstWriteAfterRecovery: number | undefined;
let ackedAfterRecovery = 0;

async function create(streamId: string, time: number): Promise<Answer & { id?: string }> {
  const sentAt = Date.now();
  try {
    const res = await fetch(`${api}/events`, {
      method: 'POST',
      headers: { authorization: token, 'content-type': 'application/json' },
      body: JSON.stringify({ streamIds: [streamId], type: 'count/generic', content: time, time }),
    });
    const body = (await res.json().catch(() => undefined)) as any;
    return { status: res.status, errorId: body?.error?.id, retryAfter: res.headers.get('retry-after'), sentAt, id: body?.event?.id };
  } catch (err) {
    return { status: 0, errorId: `no answer: ${(err as Error).message}`, sentAt };
  }
}

describe('fault: DynamoDB Local killed under a write load (own runtime, data folder)', () => {
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'pryv-fault-'));
    runtime = await startLocalRuntime({ port: 0, dataDir });
    const reg = await fetch(`${runtime.url}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'fault-user', password: 'pw-fault-user', email: 'fault@example.com', appId: 'fault-test' }),
    });
    expect(reg.status).toBe(201);
    token = new URL(((await reg.json()) as any).apiEndpoint).username;
    api = `${runtime.url}/fault-user`;
    for (const id of STREAMS) {
      const res = await fetch(`${api}/streams`, {
        method: 'POST',
        headers: { authorization: token, 'content-type': 'application/json' },
        body: JSON.stringify({ id, name: id }),
      });
      expect(res.status).toBe(201);
    }

    // Each client writes events with distinct times (so each is findable by its own time window).
    let sequence = 0;
    const t0 = 1_700_000_000;
    let stopLoad = false;
    const client = async (n: number) => {
      while (!stopLoad) {
        const streamId = STREAMS[n % STREAMS.length]!;
        const time = t0 + sequence++;
        const answer = await create(streamId, time);
        answers.push({
          status: answer.status,
          ...(answer.errorId ? { errorId: answer.errorId } : {}),
          retryAfter: answer.retryAfter ?? null,
          sentAt: answer.sentAt,
        });
        if (answer.status === 201 && answer.id) {
          acked.push({ id: answer.id, streamId, time });
          if (recoveredAt !== undefined && answer.sentAt >= recoveredAt) {
            firstWriteAfterRecovery ??= Date.now();
            ackedAfterRecovery++;
          }
        } else {
          // A well-behaved client waits as told (Retry-After), which also leaves the machine to the JVM starting again.
          const told = Number(answer.retryAfter);
          await sleep(Number.isFinite(told) && told > 0 ? Math.min(told * 1000, MAX_RETRY_WAIT_MS) : 20);
        }
      }
    };
    const load = Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n)));

    const loadDeadline = Date.now() + MAX_OUTAGE_MS;
    while (acked.length < ACKED_BEFORE_KILL && Date.now() < loadDeadline) await sleep(20);
    expect(acked.length, 'writes acknowledged before the kill').toBeGreaterThanOrEqual(ACKED_BEFORE_KILL);
    endpointBefore = runtime.dynamodb.endpoint;
    killedPid = runtime.dynamodb.pid;
    killedAt = Date.now();
    process.kill(killedPid, 'SIGKILL');
    // Keep writing through the outage until the runtime has restarted the JVM and a write sent
    // after that succeeded, and a little longer.
    const deadline = killedAt + MAX_OUTAGE_MS;
    while (runtime.restarts().dynamodb === 0 && Date.now() < deadline) await sleep(50);
    await runtime.settled();
    recoveredAt = Date.now();
    // The load goes on until a number of writes sent after the restart were acknowledged.
    while (ackedAfterRecovery < ACKED_AFTER_RECOVERY && Date.now() < deadline) await sleep(50);
    stopLoad = true;
    await load;
    await runtime.settled();
  }, 600_000);

  afterAll(async () => {
    await runtime?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('recovers by itself: DynamoDB Local is started again (new PID, same port) and writes succeed again', () => {
    expect(runtime.restarts().dynamodb).toBe(1);
    expect(runtime.dynamodb.pid).not.toBe(killedPid);
    expect(runtime.dynamodb.endpoint).toBe(endpointBefore);
    expect(firstWriteAfterRecovery, 'no write succeeded after the restart').toBeDefined();
    expect(ackedAfterRecovery).toBeGreaterThanOrEqual(ACKED_AFTER_RECOVERY);
    console.log(
      `fault test: ${answers.length} answers, ${acked.length} acknowledged; DynamoDB Local back ${recoveredAt! - killedAt} ms after the kill`,
    );
  });

  it('every acknowledged write is readable afterwards: by id, by stream and by time range', async () => {
    const get = async (path: string) => {
      const res = await fetch(`${api}${path}`, { headers: { authorization: token } });
      return { status: res.status, body: (await res.json()) as any };
    };
    const missingById: string[] = [];
    const queue = [...acked];
    const reader = async () => {
      for (let a = queue.shift(); a; a = queue.shift()) {
        // A 503 says the database did not answer in time (the restarted engine under load), not
        // that the event is gone: such a read is made again, as a client would.
        let res = await get(`/events/${a.id}`);
        for (let retry = 1; res.status === 503 && retry <= 5; retry++) {
          await new Promise((resolve) => setTimeout(resolve, 200 * retry));
          res = await get(`/events/${a.id}`);
        }
        if (res.status !== 200 || res.body.event?.id !== a.id) missingById.push(a.id);
      }
    };
    await Promise.all(Array.from({ length: 4 }, reader));
    expect(missingById).toEqual([]);

    const times = acked.map((a) => a.time);
    const [from, to] = [Math.min(...times) - 1, Math.max(...times) + 1];
    for (const streamId of STREAMS) {
      const res = await get(`/events?streams=${encodeURIComponent(JSON.stringify([streamId]))}&fromTime=${from}&toTime=${to}&limit=100000`);
      expect(res.status).toBe(200);
      const found = new Set((res.body.events as Array<{ id: string }>).map((e) => e.id));
      expect(acked.filter((a) => a.streamId === streamId && !found.has(a.id)).map((a) => a.id)).toEqual([]);
    }
    // By time alone (no stream filter): every write in the time range of the load.
    const byTime = await get(`/events?fromTime=${from}&toTime=${to}&limit=100000`);
    expect(byTime.status).toBe(200);
    const inRange = new Set((byTime.body.events as Array<{ id: string; time: number }>).map((e) => `${e.id}@${e.time}`));
    expect(acked.filter((a) => !inRange.has(`${a.id}@${a.time}`)).map((a) => a.id)).toEqual([]);
  }, 480_000);

  it('answers while the database is down are 503 api-unavailable, never 500', () => {
    const duringOutage = answers.filter((a) => a.sentAt >= killedAt && a.status !== 201);
    expect(duringOutage.length, 'the load saw the outage').toBeGreaterThan(0);
    const counts: Record<string, number> = {};
    for (const a of duringOutage)
      counts[`${a.status} ${a.errorId ?? ''}`.trim()] = (counts[`${a.status} ${a.errorId ?? ''}`.trim()] ?? 0) + 1;
    expect(counts).toEqual({ '503 api-unavailable': duringOutage.length });
    expect(
      duringOutage.filter((a) => !/^[1-9]\d*$/.test(a.retryAfter ?? '')),
      'every 503 says when to retry',
    ).toEqual([]);
  });
});
