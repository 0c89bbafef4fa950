import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';

/**
 * A stream record as the streams API's JSON carries it (GetRecords): images already in the
 * form Lambda hands a function (attribute values, binary as base64), the creation time in
 * epoch seconds.
 */
export interface WireStreamRecord {
  eventID?: string;
  eventName?: string;
  eventVersion?: string;
  eventSource?: string;
  awsRegion?: string;
  userIdentity?: unknown;
  dynamodb?: {
    ApproximateCreationDateTime?: number;
    Keys?: Record<string, AttributeValue>;
    NewImage?: Record<string, AttributeValue>;
    OldImage?: Record<string, AttributeValue>;
    SequenceNumber?: string;
    SizeBytes?: number;
    StreamViewType?: string;
  };
}

/**
 * DynamoDB Local writes an empty map in a stream image as `{}` (no type); Lambda hands
 * `{"M":{}}`. Fixed in place, at any depth (the record was just parsed from the answer).
 */
function fixEmptyMaps(image: Record<string, AttributeValue> | undefined): Record<string, AttributeValue> | undefined {
  if (image) for (const name in image) image[name] = fixValue(image[name]!);
  return image;
}
function fixValue(value: AttributeValue): AttributeValue {
  const v = value as { M?: Record<string, AttributeValue>; L?: AttributeValue[] };
  if (v.M !== undefined) fixEmptyMaps(v.M);
  else if (v.L !== undefined) for (let i = 0; i < v.L.length; i++) v.L[i] = fixValue(v.L[i]!);
  else {
    for (const _type in value) return value;
    return { M: {} };
  }
  return value;
}

/**
 * A stream record as read → the record as the Lambda service hands it to a function: the same
 * images (the wire's attribute values are Lambda's, but for DynamoDB Local's empty maps), whole
 * seconds, the mapping's stream ARN.
 */
export function toLambdaRecord(record: WireStreamRecord, streamArn: string): DynamoDBRecord {
  const d = record.dynamodb ?? {};
  return {
    eventID: record.eventID,
    eventName: record.eventName as DynamoDBRecord['eventName'],
    eventVersion: record.eventVersion,
    eventSource: record.eventSource ?? 'aws:dynamodb',
    awsRegion: record.awsRegion,
    eventSourceARN: streamArn,
    userIdentity: record.userIdentity,
    dynamodb: {
      ApproximateCreationDateTime: d.ApproximateCreationDateTime !== undefined ? Math.floor(d.ApproximateCreationDateTime) : undefined,
      Keys: d.Keys,
      NewImage: fixEmptyMaps(d.NewImage),
      OldImage: fixEmptyMaps(d.OldImage),
      SequenceNumber: d.SequenceNumber,
      SizeBytes: d.SizeBytes,
      StreamViewType: d.StreamViewType as NonNullable<DynamoDBRecord['dynamodb']>['StreamViewType'],
    },
  };
}
