import { SERIES_PREFIX } from '../../model/series';
import { batchDelete } from '../batch';
import { table } from '../clients';
import { keys } from '../keys';
import { deletePartition } from '../purge';
import { queryAll } from '../query';
import { deleteSeries } from '../series/chunks';
import { ALL_STREAMS, parseKey } from './items';

/**
 * Removes every event item of a user for account deletion: each head's index copies (its
 * `ix`), history and HF series points, then whatever the user's partitions still hold (stream partitions of
 * `streamIds` and `*`, sync, running, heads). Heads go last, so a retry after an
 * interruption still finds what is left. Safe to repeat.
 */
export async function purgeUserEvents(u: string, streamIds: string[]): Promise<void> {
  const heads = await queryAll({
    TableName: table(),
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': keys.eventHeads(u) },
    ProjectionExpression: 'pk, sk, ix, #type',
    ExpressionAttributeNames: { '#type': 'type' },
    ConsistentRead: true,
  });
  for (const head of heads) {
    await batchDelete(((head.ix as string[] | undefined) ?? []).map(parseKey));
    await deletePartition(keys.eventHistory(u, head.sk as string));
    // HF points: a series holder's the way that stops a compaction under way from writing
    // behind the deletion; any other head's partition (empty, or left by an interrupted
    // deletion of a holder, whose tombstone has no type) as it is.
    if (typeof head.type === 'string' && head.type.startsWith(SERIES_PREFIX)) await deleteSeries(u, head.sk as string);
    else await deletePartition(keys.seriesChunks(u, head.sk as string));
  }
  for (const streamId of new Set([...streamIds, ALL_STREAMS])) {
    for (const state of ['a', 't'] as const) await deletePartition(keys.eventStream(u, streamId, state));
  }
  await deletePartition(keys.eventSync(u));
  await deletePartition(keys.eventRunning(u));
  await deletePartition(keys.eventHeads(u));
}
