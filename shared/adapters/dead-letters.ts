import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DynamoDBRecord } from 'aws-lambda';
import { config } from '../config';
import { log } from '../log';

/**
 * Stream records that a reader of the table's stream (the change fan-out, the export worker)
 * cannot process, set aside instead of failing their batch (README "Faults and retries"):
 * the record goes to the reader's SQS dead-letter queue (AWS: DEAD_LETTER_QUEUE_URL), or
 * to one JSON file under the data folder (local: DEAD_LETTER_DIR), or, with neither, to a
 * list in memory; and one `stream record set aside` error line names it by its keys (never
 * its values). The queue's client is loaded with the first letter (./dead-letters-sqs.ts).
 * Setting aside that itself fails throws: the caller then fails the record so
 * that it is retried, never dropped.
 */
export type StreamReader = 'fanout' | 'export-worker';

export interface DeadLetter {
  reader: StreamReader;
  reason: string;
  setAsideAt: string;
  record: DynamoDBRecord;
}

/** SQS takes at most 256 KiB per message: a larger record is kept without its images. */
const SQS_MAX_BODY_BYTES = 250_000;
/** In-memory dead letters kept (a runtime without a data folder): the newest ones. */
const MEMORY_MAX = 1_000;

const inMemory: DeadLetter[] = [];

/** The dead letters kept in memory (no queue, no folder configured), oldest first. */
export const deadLettersInMemory = (): readonly DeadLetter[] => inMemory;

/** The `pk`/`sk` strings of a record's keys: what names it in logs (no attribute values). */
function recordKeys(record: DynamoDBRecord): { pk?: string; sk?: string } {
  const keys = record.dynamodb?.Keys as Record<string, { S?: unknown }> | undefined;
  const str = (v: unknown) => (typeof v === 'string' ? v.slice(0, 300) : undefined);
  return { pk: str(keys?.pk?.S), sk: str(keys?.sk?.S) };
}

function bodyOf(letter: DeadLetter): string {
  const body = JSON.stringify(letter);
  if (Buffer.byteLength(body) <= SQS_MAX_BODY_BYTES) return body;
  const { NewImage: _n, OldImage: _o, ...rest } = letter.record.dynamodb ?? {};
  return JSON.stringify({ ...letter, record: { ...letter.record, dynamodb: rest }, imagesOmitted: true });
}

export async function setAsideRecord(reader: StreamReader, record: DynamoDBRecord, err: unknown): Promise<void> {
  const reason = err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 500) : String(err).slice(0, 500);
  const letter: DeadLetter = { reader, reason, setAsideAt: new Date().toISOString(), record };
  const c = config();
  const sequenceNumber = record.dynamodb?.SequenceNumber;
  let where: string;
  if (c.deadLetterQueueUrl) {
    await (await import('./dead-letters-sqs')).sendDeadLetter(c.deadLetterQueueUrl, bodyOf(letter));
    where = 'queue';
  } else if (c.deadLetterDir) {
    await mkdir(c.deadLetterDir, { recursive: true });
    const file = join(c.deadLetterDir, `${reader}-${sequenceNumber ?? record.eventID ?? Date.now()}.json`);
    await writeFile(file, JSON.stringify(letter, null, 2));
    where = file;
  } else {
    inMemory.push(letter);
    if (inMemory.length > MEMORY_MAX) inMemory.splice(0, inMemory.length - MEMORY_MAX);
    where = 'memory';
  }
  log.error('stream record set aside', {
    reader,
    error: err instanceof Error ? err.name : typeof err, // its message may quote a value: kept in the dead letter only
    eventName: record.eventName,
    sequenceNumber,
    ...recordKeys(record),
    where,
  });
}
