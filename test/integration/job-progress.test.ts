import { beforeAll, describe, expect, it } from 'vitest';
import { call, createUser, type TestUser } from '../setup/api';
import { seedEvents } from '../setup/seed-events';

/**
 * A long export, then its import, watched while they run: the status the API answers says
 * `running` with counts done / total, counts that only grow, and ends `done` with every count
 * complete (README "Your data").
 */

const EVENTS = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Count = { done: number; total?: number };

/** Polls a job as fast as a client might, keeping every state seen. */
async function watch(path: string, token: string, field: 'export' | 'import'): Promise<any[]> {
  const seen: any[] = [];
  const deadline = Date.now() + 90_000;
  for (;;) {
    const res = await call('GET', path, { token });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const job = res.body[field];
    seen.push(job);
    if (job.status === 'done' || job.status === 'failed') return seen;
    if (Date.now() > deadline) throw new Error(`${field} still ${job.status}`);
    await sleep(20);
  }
}

/**
 * Every running state states the totals of `required` kinds (others once known), and done
 * never exceeds a total nor goes back; the job ends done with every count complete.
 */
function checkProgress(seen: any[], totals: Record<string, number>, required: string[]): void {
  const last = seen.at(-1);
  expect(last.status, JSON.stringify(last)).toBe('done');
  const running = seen.filter((job) => job.status === 'running' && job.progress);
  expect(running.length, 'states seen while running, with progress').toBeGreaterThan(0);
  for (const [kind, total] of Object.entries(totals)) {
    let before = 0;
    for (const job of running) {
      const count: Count | undefined = job.progress[kind];
      if (required.includes(kind)) expect(count?.total, kind).toBe(total);
      if (!count) continue;
      if (count.total !== undefined) expect(count.total, kind).toBe(total);
      expect(count.done).toBeGreaterThanOrEqual(before);
      expect(count.done).toBeLessThanOrEqual(total);
      before = count.done;
    }
    expect(last.progress[kind], kind).toEqual({ done: total, total });
  }
}

describe('export and import progress', () => {
  let source: TestUser;
  let archive: Buffer;
  // The account's shown values (README "Account system streams") are exported with its events.
  let accountValues: number;

  // The fixture is thousands of writes: it has the setup's time, not a test's.
  beforeAll(async () => {
    source = await createUser();
    await seedEvents(source, EVENTS);
    const values = await call('GET', `/${source.username}/events?streams=[":_system:account"]&state=all&limit=100`, {
      token: source.token,
    });
    expect(values.status).toBe(200);
    accountValues = values.body.events.length;
    expect(accountValues).toBeGreaterThan(0);
  });

  it(`shows running with counts done / total while ${EVENTS} events are exported`, async () => {
    const requested = await call('POST', `/${source.username}/account/export`, { token: source.token });
    expect(requested.status).toBe(202);
    const exportPath = `/${source.username}/account/export/${requested.body.export.id}`;
    const exported = await watch(exportPath, source.token, 'export');
    // The export counts every event item it reads, the hidden appId value included (read, never written to the archive).
    checkProgress(exported, { streams: 1, events: EVENTS + accountValues + 1, attachments: 0, seriesPoints: 0 }, ['streams', 'events']);
    // Some state was seen part-way: counts that move are the point.
    const partWay = exported.some((job) => job.status === 'running' && job.progress && job.progress.events.done < EVENTS);
    expect(partWay).toBe(true);
    archive = Buffer.from(await (await fetch(exported.at(-1).url)).arrayBuffer());
  });

  it('shows running with counts done / total of what the archive holds while it is imported', async () => {
    const target = await createUser();
    const slot = await call('POST', `/${target.username}/account/import`, { token: target.token, body: { size: archive.length } });
    expect(slot.status).toBe(201);
    const put = await fetch(slot.body.import.upload.url, { method: 'PUT', headers: slot.body.import.upload.headers, body: archive });
    expect(put.status).toBe(200);
    const started = await call('POST', `/${target.username}/account/import/${slot.body.import.id}`, { token: target.token });
    expect(started.status).toBe(202);
    const imported = await watch(`/${target.username}/account/import/${slot.body.import.id}`, target.token, 'import');
    // The archive's account values are read (and counted as done) but not written: the target keeps its own.
    checkProgress(imported, { streams: 1, events: EVENTS + accountValues, attachments: 0, seriesPoints: 0 }, [
      'streams',
      'events',
      'attachments',
      'seriesPoints',
    ]);
    expect(imported.at(-1).counts).toMatchObject({ streams: 1, events: EVENTS });
  });
});
