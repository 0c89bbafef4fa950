import { dynamo, table } from './clients';
import { BatchGetCommand, type BatchGetCommandOutput, PutCommand, UpdateCommand } from './commands';
import { keys } from './keys';
import { TABLE_TTL_ATTRIBUTE } from './table-definition';

export interface SubjectState {
  /** End of a cool-down (Unix s), 0 when none was ever set. */
  lockedUntil: number;
  /** Failures counted in the previous window … */
  previousFailures: number;
  /** … and when they happened (Unix s), so the sliding window counts them exactly. */
  previousTimes: number[];
}

/** Locks and previous-window counters of up to a few subjects, in one BatchGetItem. */
export async function readSubjects(subjects: string[], previousWindow: number): Promise<Map<string, SubjectState>> {
  const requested = subjects.flatMap((s) => [keys.loginLock(s), keys.loginFailures(s, previousWindow)]);
  const found = new Map<string, Record<string, unknown>>();
  let pending: Array<Record<string, unknown>> | undefined = requested;
  // BatchGetItem may leave keys unprocessed under load: ask again for those.
  for (let attempt = 0; pending && pending.length > 0 && attempt < 5; attempt++) {
    const out: BatchGetCommandOutput = await dynamo().send(
      new BatchGetCommand({ RequestItems: { [table()]: { Keys: pending, ConsistentRead: true } } }),
    );
    for (const item of out.Responses?.[table()] ?? []) found.set(`${item.pk}|${item.sk}`, item);
    pending = out.UnprocessedKeys?.[table()]?.Keys;
  }
  if (pending && pending.length > 0) throw new Error('login throttle state could not be read');
  const states = new Map<string, SubjectState>();
  for (const s of subjects) {
    const lock = keys.loginLock(s);
    const window = keys.loginFailures(s, previousWindow);
    states.set(s, {
      lockedUntil: Number(found.get(`${lock.pk}|${lock.sk}`)?.until ?? 0),
      previousFailures: Number(found.get(`${window.pk}|${window.sk}`)?.failures ?? 0),
      previousTimes: [...((found.get(`${window.pk}|${window.sk}`)?.times as Set<number> | undefined) ?? [])].map(Number),
    });
  }
  return states;
}

/**
 * Counts one failure at `at` in a window with an atomic ADD (the count, and the time into a
 * number set: a cool-down stops failures, so the set stays a handful); returns the new count.
 */
export async function addFailure(subject: string, window: number, at: number, expires: number): Promise<number> {
  const out = await dynamo().send(
    new UpdateCommand({
      TableName: table(),
      Key: keys.loginFailures(subject, window),
      UpdateExpression: 'ADD failures :one, times :at SET #ttl = :ttl',
      ExpressionAttributeNames: { '#ttl': TABLE_TTL_ATTRIBUTE },
      ExpressionAttributeValues: { ':one': 1, ':at': new Set([at]), ':ttl': Math.ceil(expires) },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  return Number(out.Attributes?.failures ?? 1);
}

/** Starts (or extends) a cool-down. */
export async function putLock(subject: string, until: number): Promise<void> {
  await dynamo().send(
    new PutCommand({
      TableName: table(),
      Item: { ...keys.loginLock(subject), until, [TABLE_TTL_ATTRIBUTE]: Math.ceil(until) },
    }),
  );
}
