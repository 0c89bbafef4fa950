import { beforeAll, describe, expect, it } from 'vitest';
import { placementFor } from '../../shared/domain/events/write-checks';
import { StreamTree } from '../../shared/domain/streams/tree';
import type { StoredEvent } from '../../shared/model/events';
import { batchPut } from '../../shared/store/batch';
import { newEventItems } from '../../shared/store/events/items';
import { call, createUser, type TestUser, useRuntimeStore } from '../setup/api';

/**
 * A long export, then its import, watched while they run: the status the API answers says
 * `running` with counts done / total, counts that only grow, and ends `done` with every count
 * complete (README "Your data").
 */

const EVENTS = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Thousands of events straight into the store (through the API this would take minutes here). */
async function seed(user: TestUser): Promise<void> {
  useRuntimeStore();
  const created = await call('POST', `/${user.username}/streams`, { token: user.token, body: { id: 'bulk', name: 'Bulk' } });
  expect(created.status).toBe(201);
  const tree = new StreamTree([created.body.stream]);
  const items: Array<Record<string, unknown>> = [];
  for (let i = 0; i < EVENTS; i++) {
    const event: StoredEvent = {
      id: `c${String(i).padStart(24, '0')}`,
      streamIds: ['bulk'],
      time: 1_700_000_000 + i,
      type: 'note/txt',
      content: `note ${i} ${'x'.repeat(200)}`,
      created: 1_700_000_000,
      createdBy: 'seed',
      modified: 1_700_000_000,
      modifiedBy: 'seed',
    };
    items.push(...newEventItems(user.username, event, placementFor(tree, ['bulk'])));
  }
  // A few batches at once, as DynamoDB takes them (25 items each).
  const SLICE = 500;
  const slices = Array.from({ length: Math.ceil(items.length / SLICE) }, (_, i) => items.slice(i * SLICE, (i + 1) * SLICE));
  for (let i = 0; i < slices.length; i += 4) await Promise.all(slices.slice(i, i + 4).map((slice) => batchPut(slice)));
}

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

  // The fixture is thousands of writes: it has the setup's time, not a test's.
  beforeAll(async () => {
    source = await createUser();
    await seed(source);
  });

  it(`shows running with counts done / total while ${EVENTS} events are exported`, async () => {
    const requested = await call('POST', `/${source.username}/account/export`, { token: source.token });
    expect(requested.status).toBe(202);
    const exportPath = `/${source.username}/account/export/${requested.body.export.id}`;
    const exported = await watch(exportPath, source.token, 'export');
    checkProgress(exported, { streams: 1, events: EVENTS, attachments: 0, seriesPoints: 0 }, ['streams', 'events']);
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
    checkProgress(imported, { streams: 1, events: EVENTS, attachments: 0, seriesPoints: 0 }, [
      'streams',
      'events',
      'attachments',
      'seriesPoints',
    ]);
    expect(imported.at(-1).counts).toMatchObject({ streams: 1, events: EVENTS });
  });
});
