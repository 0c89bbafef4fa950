import { describe, expect, it } from 'vitest';
import { dueAfterWrite } from '../../infra/local/webhook-worker';
import { keys } from '../../shared/store/keys';

/**
 * What wakes the local webhook worker (infra/local/webhook-worker.ts), which sleeps until an
 * attempt may be due instead of polling: which writes of the due partition it is woken for, and when.
 */
describe('local webhook worker: writes that wake it', () => {
  const now = 1_800_000_000_000;
  const due = keys.webhookDue(1_800_000_042.5, 'alice', 'wh1');

  it('an attempt scheduled without a lease: at its due time', () => {
    expect(dueAfterWrite({ ...due, put: ['pk', 'sk', 'at', 'username', 'webhookId'] }, now)).toBe(1_800_000_042_500);
  });

  it('an attempt put claimed (the fan-out runs it), an attempt ended, or another partition: not at all', () => {
    expect(dueAfterWrite({ ...due, put: ['pk', 'sk', 'at', 'username', 'webhookId', 'leaseUntil'] }, now)).toBeUndefined();
    expect(dueAfterWrite({ ...due, deleted: true }, now)).toBeUndefined();
    expect(dueAfterWrite({ ...keys.webhook('alice', 'wh1'), put: ['pk', 'sk'] }, now)).toBeUndefined();
  });

  it('a lease taken or given back: now', () => {
    expect(dueAfterWrite({ ...due, updated: ['leaseUntil'] }, now)).toBe(now);
  });
});
