import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, AttributeValue as LambdaAttributeValue } from 'aws-lambda';
import { WRITER_ATTRIBUTE } from './writer';

/**
 * Records of the table's DynamoDB Stream (the change fan-out, the export worker) as plain
 * items. aws-lambda and the SDK type attribute values differently; the wire shape is the same.
 */
type Image = Record<string, LambdaAttributeValue>;

/**
 * An image as an item. Numbers are read as the store reads them (shared/store/clients.ts):
 * JS numbers, rounded past double precision, never BigInts (which fail on `1.2e+29`); with
 * `exactNumbers` they stay strings (for comparing images without rounding). An image of an
 * unknown shape throws: the stream readers set such a record aside.
 */
export const imageToItem = (image: Image, options: { exactNumbers?: boolean } = {}): Record<string, unknown> =>
  unmarshall(image as unknown as Record<string, AttributeValue>, {
    wrapNumbers: options.exactNumbers ? true : (value: string) => Number(value),
  });

/** The `pk` and `sk` of the item a record changed, if it has them as strings. */
export function recordKey(record: DynamoDBRecord): { pk: string; sk: string } | undefined {
  const image = record.dynamodb?.Keys;
  if (!image) return undefined;
  const { pk, sk } = imageToItem(image, { exactNumbers: true });
  return typeof pk === 'string' && typeof sk === 'string' ? { pk, sk } : undefined;
}

/** The item a record inserted (INSERT records only). */
export function insertedItem(record: DynamoDBRecord): Record<string, unknown> | undefined {
  if (record.eventName !== 'INSERT' || !record.dynamodb?.NewImage) return undefined;
  return imageToItem(record.dynamodb.NewImage);
}

/**
 * The request id of the call that wrote the item of a record, when the item keeps it (event
 * heads and tombstones, streams, accesses and their deletion records: shared/store/writer.ts).
 */
export function writerRequestId(record: DynamoDBRecord): string | undefined {
  const rq = record.dynamodb?.NewImage?.[WRITER_ATTRIBUTE];
  return rq && 'S' in rq && typeof rq.S === 'string' ? rq.S : undefined;
}
