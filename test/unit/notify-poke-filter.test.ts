import { describe, expect, it } from 'vitest';
import { fanoutActsOn } from '../../shared/notify/changes';
import { keys } from '../../shared/store/keys';

/**
 * Which table writes make the local runtime read the stream at once (infra/local/runtime.ts):
 * those that may be records the fan-out acts on, never audit records, usage counters,
 * index copies or delivery state (they wait for the next poll).
 */
describe('fanoutActsOn', () => {
  const u = 'alice';

  it('acts on event heads, streams and their deletions, accesses and their deletions, new socket connections', () => {
    expect(fanoutActsOn(keys.eventHead(u, 'ckevent1'))).toBe(true);
    expect(fanoutActsOn({ pk: keys.userPartition(u), sk: `${keys.streamPrefix}diary` })).toBe(true);
    expect(fanoutActsOn({ pk: keys.userPartition(u), sk: `${keys.streamDeletionPrefix}diary` })).toBe(true);
    expect(fanoutActsOn({ pk: keys.userPartition(u), sk: `${keys.accessPrefix}tok` })).toBe(true);
    expect(fanoutActsOn({ pk: keys.userPartition(u), sk: `${keys.accessDeletionPrefix}acc1` })).toBe(true);
    expect(fanoutActsOn(keys.socketConnection('AbCdEf123456789='))).toBe(true);
  });

  it('acts on an access update that changes more than usage tracking (accesses.update, logout is left to the poll)', () => {
    const key = { pk: keys.userPartition(u), sk: `${keys.accessPrefix}tok` };
    expect(fanoutActsOn({ ...key, updated: ['permissions', 'serial', 'modified'] })).toBe(true);
    expect(fanoutActsOn({ ...key, updated: ['lastUsed', 'calls'] })).toBe(false);
    expect(fanoutActsOn({ ...key, updated: ['lastUsed', 'calls', 'sessionExpires'] })).toBe(false);
  });

  it('does not act on audit records, index copies, the data meta, webhooks, delivery state or bound-socket items', () => {
    expect(fanoutActsOn({ pk: keys.audit(u), sk: keys.auditRecord(1_795_000_000, 'rec1') })).toBe(false);
    expect(fanoutActsOn({ pk: keys.eventStream(u, 'diary', 'a'), sk: 'd#x#ckevent1' })).toBe(false);
    expect(fanoutActsOn({ pk: keys.eventSync(u), sk: 'y#ckevent1' })).toBe(false);
    expect(fanoutActsOn(keys.dataMeta(u))).toBe(false);
    expect(fanoutActsOn(keys.webhook(u, 'wh1'))).toBe(false);
    expect(fanoutActsOn(keys.webhookDue(1_795_000_000, u, 'wh1'))).toBe(false);
    expect(fanoutActsOn(keys.userSocket(u, 'AbCdEf123456789='))).toBe(false);
    expect(fanoutActsOn(keys.exportJob(u, 'job1'))).toBe(false);
  });
});
