import { batchDelete } from './batch';
import { partitionKeys } from './query';

/** Empties a partition, optionally keeping some sort keys. Safe to repeat. */
export async function deletePartition(pk: string, keep: (sk: string) => boolean = () => false): Promise<number> {
  const keys = (await partitionKeys(pk)).filter((k) => !keep(k.sk));
  await batchDelete(keys);
  return keys.length;
}
