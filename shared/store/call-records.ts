import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { convertToAttr } from '@aws-sdk/util-dynamodb';
import type { AuditItem } from '../model/audit';
import { dynamo, table } from './clients';
import { BatchExecuteStatementCommand, GetCommand, PutCommand, UpdateCommand } from './commands';
import { ifConditionHolds } from './conditional';
import { toWire } from './document';
import { keys } from './keys';

/**
 * What a call writes once its answer is computed, in one request: its access's usage counters
 * (`calls`, `lastUsed`, a personal session's end) and its audit records. Two requests before
 * (an UpdateItem and a BatchWriteItem, side by side): BatchWriteItem cannot update, so the
 * pair goes as one PartiQL batch (`BatchExecuteStatement`), each statement billed as the
 * UpdateItem or PutItem it stands for: the same write units, one request less per call.
 *
 * PartiQL has no `if_not_exists`: the counters are incremented in place, so this form is for
 * counters the access already holds (the caller knows from the access it read at the start of
 * the call); a first call of a method through an access takes the two requests. Not a
 * transaction: the audit records and the counters succeed or fail each on their own, and the
 * caller writes again, the two-request way, whatever failed (./accesses.ts recordAccessUsage,
 * ./audit.ts putAuditItems).
 */

/** Statements of one BatchExecuteStatement (DynamoDB's limit). */
export const CALL_RECORDS_MAX_STATEMENTS = 25;

/** Counter names and attribute names written into a statement's text (never user input: method ids, audit fields). */
const SAFE_NAME = /^[A-Za-z][A-Za-z0-9_.:-]*$/;

export interface UsageWrite {
  username: string;
  token: string;
  /** Increments, by counter (`events:get`); each counter must already exist on the access. */
  calls: Map<string, number>;
  now: number;
  sessionExpires?: number;
}

export interface AuditWrite {
  partition: string;
  records: AuditItem[];
  expires: number;
}

/**
 * Numbers a call adds to attributes of an item that already exists once its write is done
 * (the account's `dbDocuments`, a series' tally: ./series/state.ts): carried by the same
 * request as the usage and audit records when it is made ({@link writeUsageAndAudit}), else
 * written on their own ({@link addCounters}). An item that no longer exists is not recreated.
 */
export interface CounterAdd {
  key: { pk: string; sk: string };
  adds: Record<string, number>;
}

/**
 * A new item a call stores with its usage and audit records, in the same request, before it
 * answers (a series write's segment: ./series/chunks.ts): one request less than a PutItem of
 * its own. Its key is new (a random part), so the item is written once or found already
 * there from an earlier attempt of the same write ({@link insertItem}).
 */
export interface ItemInsert {
  item: Record<string, unknown> & { pk: string; sk: string };
}

/**
 * Writes a new item on its own (the insert's fallback, or the way when the call's records go
 * apart). Found already there: an earlier attempt of this write that did land (a retried
 * request whose first answer was lost, a statement reported failed after all) when the stored
 * item is this one; another item under the same key throws (the key's random part met
 * another writer's: the write is not stored).
 */
export async function insertItem(insert: ItemInsert): Promise<void> {
  const { item } = insert;
  const put = await ifConditionHolds(
    dynamo().send(new PutCommand({ TableName: table(), Item: item, ConditionExpression: 'attribute_not_exists(pk)' })),
  );
  if (put) return;
  const stored = await dynamo().send(new GetCommand({ TableName: table(), Key: { pk: item.pk, sk: item.sk }, ConsistentRead: true }));
  if (!stored.Item || !sameItem(item, stored.Item)) throw new Error(`item key already taken: ${item.sk}`);
}

/** Whether a stored item is the one given (attribute by attribute; bytes by content). */
function sameItem(given: Record<string, unknown>, stored: Record<string, unknown>): boolean {
  const names = Object.keys(given).filter((name) => given[name] !== undefined);
  if (names.length !== Object.keys(stored).length) return false;
  return names.every((name) => {
    const a = given[name];
    const b = stored[name];
    if (a instanceof Uint8Array) return b instanceof Uint8Array && Buffer.compare(a, b) === 0;
    return a === b;
  });
}

/** Writes a counter add on its own: DynamoDB's ADD (which starts a missing attribute at 0), on an existing item only. */
export async function addCounters(c: CounterAdd): Promise<void> {
  const names = Object.keys(c.adds).filter((name) => c.adds[name] !== 0);
  if (names.length === 0) return;
  await ifConditionHolds(
    dynamo().send(
      new UpdateCommand({
        TableName: table(),
        Key: c.key,
        UpdateExpression: `ADD ${names.map((_, i) => `#a${i} :a${i}`).join(', ')}`,
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: Object.fromEntries(names.map((name, i) => [`#a${i}`, name])),
        ExpressionAttributeValues: Object.fromEntries(names.map((name, i) => [`:a${i}`, c.adds[name]])),
      }),
    ),
  );
}

/**
 * The same add as a statement. PartiQL has no ADD: `x = x + ?` fails on an item without the
 * attribute, and the caller then writes that add on its own ({@link addCounters}).
 */
function counterStatement(c: CounterAdd): { Statement: string; Parameters: AttributeValue[] } {
  const sets: string[] = [];
  const parameters: AttributeValue[] = [];
  for (const [name, value] of Object.entries(c.adds)) {
    sets.push(`SET ${quoted(name)} = ${quoted(name)} + ?`);
    parameters.push(attr(value));
  }
  parameters.push(attr(c.key.pk), attr(c.key.sk));
  return { Statement: `UPDATE ${quoted(table())} ${sets.join(' ')} WHERE "pk" = ? AND "sk" = ?`, Parameters: parameters };
}

/** What became of each part: `gone` is an access that no longer exists (its counters are not written, as before). */
export interface CallRecordsOutcome {
  usage: 'ok' | 'gone' | 'failed';
  audit: 'ok' | 'failed';
  /** The counter adds DynamoDB refused (to write on their own). */
  counters: CounterAdd[];
  /** The inserts DynamoDB refused (to write on their own: {@link insertItem}). */
  inserts: ItemInsert[];
  /** DynamoDB's error code of a failed part, for the log. */
  errors: string[];
}

const attr = (value: unknown): AttributeValue =>
  convertToAttr(value, { removeUndefinedValues: true, convertClassInstanceToMap: false, allowImpreciseNumbers: true });
const quoted = (name: string) => {
  if (!SAFE_NAME.test(name)) throw new Error(`not a name for a statement: ${name}`);
  return `"${name}"`;
};

function usageStatement(u: UsageWrite): { Statement: string; Parameters: AttributeValue[] } {
  const sets = ['SET "lastUsed" = ?'];
  const parameters: AttributeValue[] = [attr(u.now)];
  for (const [counter, count] of u.calls) {
    const path = `"calls".${quoted(counter)}`;
    sets.push(`SET ${path} = ${path} + ?`);
    parameters.push(attr(count));
  }
  if (u.sessionExpires !== undefined) {
    sets.push('SET "sessionExpires" = ?');
    parameters.push(attr(u.sessionExpires));
  }
  const key = keys.accessByToken(u.username, u.token);
  parameters.push(attr(key.pk), attr(key.sk));
  // PartiQL's UPDATE fails on an item that does not exist: a deleted access is not recreated.
  return { Statement: `UPDATE ${quoted(table())} ${sets.join(' ')} WHERE "pk" = ? AND "sk" = ?`, Parameters: parameters };
}

function auditStatement(a: AuditWrite, record: AuditItem): { Statement: string; Parameters: AttributeValue[] } {
  return insertStatement({ pk: a.partition, sk: keys.auditRecord(record.time, record.id), ttl: a.expires, ...record });
}

/** An item's INSERT (fails on an item that exists: `DuplicateItem`); values as the wire carries them (bytes as base64). */
function insertStatement(item: Record<string, unknown>): { Statement: string; Parameters: AttributeValue[] } {
  const names: string[] = [];
  const parameters: AttributeValue[] = [];
  for (const [name, value] of Object.entries(toWire(item)!)) {
    if (!SAFE_NAME.test(name)) throw new Error(`not a name for a statement: ${name}`);
    names.push(`'${name}': ?`);
    parameters.push(value);
  }
  return { Statement: `INSERT INTO ${quoted(table())} VALUE {${names.join(', ')}}`, Parameters: parameters };
}

/**
 * Writes a call's usage counters, audit records, counter adds and new items in one request.
 * Throws only when the request itself failed (nothing is known to be written then); a
 * statement DynamoDB refused is told in the outcome.
 */
export async function writeUsageAndAudit(
  usage: UsageWrite,
  audit: AuditWrite,
  counters: CounterAdd[] = [],
  inserts: ItemInsert[] = [],
): Promise<CallRecordsOutcome> {
  if (audit.records.length + counters.length + inserts.length + 1 > CALL_RECORDS_MAX_STATEMENTS) {
    throw new Error('too many statements for one request');
  }
  const records = audit.records.length + 1;
  const statements = [
    usageStatement(usage),
    ...audit.records.map((r) => auditStatement(audit, r)),
    ...counters.map(counterStatement),
    ...inserts.map((insert) => insertStatement(insert.item)),
  ];
  const out = await dynamo().send(new BatchExecuteStatementCommand({ Statements: statements }));
  const responses = out.Responses ?? [];
  const errors: string[] = [];
  const failed = (i: number) => {
    const error = responses[i]?.Error;
    if (!responses[i]) return 'missing';
    return error ? (error.Code ?? 'error') : undefined;
  };
  const usageError = failed(0);
  if (usageError) errors.push(usageError);
  let auditOk = true;
  for (let i = 1; i < records; i++) {
    const error = failed(i);
    if (error) {
      auditOk = false;
      errors.push(error);
    }
  }
  const refused: CounterAdd[] = [];
  counters.forEach((c, k) => {
    if (failed(records + k)) refused.push(c);
  });
  const refusedInserts: ItemInsert[] = [];
  inserts.forEach((insert, k) => {
    const error = failed(records + counters.length + k);
    if (error) {
      refusedInserts.push(insert);
      errors.push(error);
    }
  });
  return {
    usage: usageError === undefined ? 'ok' : usageError === 'ConditionalCheckFailed' ? 'gone' : 'failed',
    audit: auditOk ? 'ok' : 'failed',
    counters: refused,
    inserts: refusedInserts,
    errors,
  };
}
