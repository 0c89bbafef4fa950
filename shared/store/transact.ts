import { randomUUID } from 'node:crypto';
import { dynamo, table } from './clients';
import { TransactWriteCommand, type TransactWriteCommandInput } from './commands';
import { TransactionCanceledException } from './dynamodb-http';

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

const MAX_CONFLICT_RETRIES = 4; // concurrent transactions on one item cancel each other; a retry settles it

/** Adds the table name to every item, so callers only describe keys and conditions. */
function withTable(items: TransactItem[]): TransactItem[] {
  const TableName = table();
  return items.map((item) => {
    const out: TransactItem = {};
    if (item.Put) out.Put = { ...item.Put, TableName };
    if (item.Update) out.Update = { ...item.Update, TableName };
    if (item.Delete) out.Delete = { ...item.Delete, TableName };
    if (item.ConditionCheck) out.ConditionCheck = { ...item.ConditionCheck, TableName };
    return out;
  });
}

/**
 * Runs a TransactWriteItems. Returns the indexes of the items whose condition failed
 * (empty when it committed), so the caller can name the conflicting fields.
 *
 * Each send carries its own ClientRequestToken, which the client's retries of that send repeat:
 * a send that committed but whose answer was lost (a timeout, a 5xx) is then answered as
 * committed on retry, for 10 minutes, instead of being applied again — where its own
 * conditions (an attempt not yet scheduled, a version unchanged) would now fail and the
 * caller would take a committed write for a refused one (a claimed webhook attempt would
 * then wait out its lease). A send cancelled by a conflict committed nothing: the next one
 * is a new request with a new token.
 */
export async function transactWrite(items: TransactItem[]): Promise<number[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      await dynamo().send(new TransactWriteCommand({ TransactItems: withTable(items), ClientRequestToken: randomUUID() }));
      return [];
    } catch (err) {
      if (!(err instanceof TransactionCanceledException)) throw err;
      const reasons = err.CancellationReasons ?? [];
      const failed = reasons.flatMap((r, i) => (r.Code === 'ConditionalCheckFailed' ? [i] : []));
      if (failed.length > 0) return failed;
      const conflict = reasons.some((r) => r.Code === 'TransactionConflict');
      if (!conflict || attempt >= MAX_CONFLICT_RETRIES) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt + Math.random() * 20));
    }
  }
}
