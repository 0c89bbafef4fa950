import { ConditionalCheckFailedException } from './dynamodb-http';

/**
 * A conditional write's outcome: its result, or `false` when its condition did not hold
 * (the item changed, exists already, or is gone). Every other failure is thrown.
 */
export async function ifConditionHolds<T>(write: Promise<T>): Promise<T | false> {
  try {
    return await write;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}
