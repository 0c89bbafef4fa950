import { expect } from 'vitest';
import { placementFor } from '../../shared/domain/events/write-checks';
import { StreamTree } from '../../shared/domain/streams/tree';
import type { StoredEvent } from '../../shared/model/events';
import { batchPut } from '../../shared/store/batch';
import { newEventItems } from '../../shared/store/events/items';
import { call, type TestUser, useRuntimeStore } from './api';

/**
 * `count` events in a new stream `bulk` of the user, written straight into the runtime's
 * store as events.create writes them (through the API this would take minutes on a busy
 * machine): a long export for the progress tests.
 */
export async function seedEvents(user: TestUser, count: number): Promise<void> {
  useRuntimeStore();
  const created = await call('POST', `/${user.username}/streams`, { token: user.token, body: { id: 'bulk', name: 'Bulk' } });
  expect(created.status).toBe(201);
  const tree = new StreamTree([created.body.stream]);
  const items: Array<Record<string, unknown>> = [];
  for (let i = 0; i < count; i++) {
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
  // A few batches at once (each of 25 items, as DynamoDB takes them).
  const SLICE = 500;
  const slices = Array.from({ length: Math.ceil(items.length / SLICE) }, (_, i) => items.slice(i * SLICE, (i + 1) * SLICE));
  for (let i = 0; i < slices.length; i += 4) await Promise.all(slices.slice(i, i + 4).map((slice) => batchPut(slice)));
}
