import { describe, expect, it } from 'vitest';
import { FANOUT_PARTITION_PREFIXES } from '../../infra/constructs/notifications';
import { exportWorkerAccepts, fanoutAccepts, LOCAL_FANOUT_PARTITION_PREFIXES } from '../../infra/local/stream-filters';
import type { WireStreamRecord } from '../../infra/local/stream-records';
import { keys } from '../../shared/store/keys';

/** The local stream readers drop what the stack's event source mappings filter out, and nothing else. */
const record = (eventName: string, key: { pk: string; sk: string }): WireStreamRecord => ({
  eventName,
  dynamodb: {
    Keys: { pk: { S: key.pk }, sk: { S: key.sk } },
    NewImage: eventName === 'REMOVE' ? undefined : { pk: { S: key.pk }, sk: { S: key.sk } },
  },
});

describe('local stream filters', () => {
  it("the change fan-out's partitions are the stack's", () => {
    expect(LOCAL_FANOUT_PARTITION_PREFIXES).toEqual(FANOUT_PARTITION_PREFIXES);
  });

  it('the change fan-out gets event heads, user items and socket connections, not index copies, audit records or series chunks', () => {
    const u = 'alice';
    for (const key of [
      keys.eventHead(u, 'e1'),
      keys.stream(u, 's1'),
      keys.accessByToken(u, 't'),
      keys.socketConnection('c1'),
      keys.socketPush(u, 'p'),
    ]) {
      for (const name of ['INSERT', 'MODIFY', 'REMOVE']) expect(fanoutAccepts(record(name, key))).toBe(true);
    }
    for (const key of [keys.eventSyncKey(u, 1, 'e1'), { pk: keys.audit(u), sk: 'x' }, keys.seriesChunk(u, 'e1', 0), keys.loginLock('x')]) {
      expect(fanoutAccepts(record('INSERT', key))).toBe(false);
    }
    expect(fanoutAccepts({ eventName: 'INSERT', dynamodb: {} })).toBe(false);
  });

  it('the export worker gets export and import job INSERTs only', () => {
    expect(exportWorkerAccepts(record('INSERT', keys.exportJob('alice', 'j1')))).toBe(true);
    expect(exportWorkerAccepts(record('INSERT', keys.importJob('alice', 'j1')))).toBe(true);
    expect(exportWorkerAccepts(record('MODIFY', keys.exportJob('alice', 'j1')))).toBe(false);
    expect(exportWorkerAccepts(record('INSERT', keys.exportActive('alice')))).toBe(false);
    expect(exportWorkerAccepts(record('INSERT', keys.eventHead('alice', 'e1')))).toBe(false);
  });
});
