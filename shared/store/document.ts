import type { AttributeValue, BatchExecuteStatementOutput } from '@aws-sdk/client-dynamodb';
import { convertToAttr, marshall, type marshallOptions } from '@aws-sdk/util-dynamodb';
import type {
  AnyCommand,
  BatchExecuteStatementCommand,
  BatchGetCommand,
  BatchGetCommandOutput,
  BatchWriteCommand,
  BatchWriteCommandOutput,
  DeleteCommand,
  DeleteCommandOutput,
  GetCommand,
  GetCommandOutput,
  PutCommand,
  PutCommandOutput,
  QueryCommand,
  QueryCommandOutput,
  ScanCommand,
  ScanCommandOutput,
  TransactWriteCommand,
  TransactWriteCommandOutput,
  UpdateCommand,
  UpdateCommandOutput,
} from './commands';
import { ConditionalCheckFailedException, type DynamoDBHttp, TransactionCanceledException, type WireInput } from './dynamodb-http';

/**
 * The store's DynamoDB client: it takes the store's document commands (./commands.ts: plain
 * JavaScript values, lib-dynamodb's names and shapes) and sends them as DynamoDB operations
 * through the lean transport (./dynamodb-http.ts), translating values to and from
 * DynamoDB's attribute values itself.
 *
 * Values are written as lib-dynamodb's document client wrote them (util-dynamodb's
 * `marshall`, same options) and read back as it read them, numbers as JavaScript numbers,
 * binary as bytes; test/unit/document.test.ts holds both against lib-dynamodb on the AWS SDK,
 * and test/unit/marshall.test.ts the writing walk (`toWire`) against util-dynamodb's.
 */

// Event times and durations are any JSON number (running events end at 9.9e125): past 2^53
// they are floats to us as to DynamoDB, not integers losing precision.
const MARSHALL: marshallOptions = { removeUndefinedValues: true, convertClassInstanceToMap: false, allowImpreciseNumbers: true };

type Item = Record<string, unknown>;
type Wire = Record<string, AttributeValue>;

/** Binary values as the JSON protocol carries them: base64 (in place: the value was just made by convertToAttr). */
function encodeBinary(value: Record<string, unknown>): void {
  if (value.B !== undefined) value.B = base64(value.B as Uint8Array);
  else if (value.M !== undefined) encodeMap(value.M as Record<string, Record<string, unknown>>);
  else if (value.L !== undefined) for (const v of value.L as Array<Record<string, unknown>>) encodeBinary(v);
  else if (value.BS !== undefined) value.BS = (value.BS as Uint8Array[]).map(base64);
}
function encodeMap(map: Record<string, Record<string, unknown>>): void {
  for (const name in map) encodeBinary(map[name]!);
}
const base64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
/** Bytes as the SDK gave them: a Uint8Array (a view on the decoded buffer, not a copy). */
function bytesOf(text: string): Uint8Array {
  const buffer = Buffer.from(text, 'base64');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * One value as DynamoDB's JSON, as util-dynamodb's `marshall` makes it with the store's
 * options (binary then as base64). The shapes the store writes (strings, finite numbers,
 * booleans, null, arrays, plain objects) are translated here in one walk; anything else (sets,
 * bytes, big integers, boxed values, class instances, NaN and infinities and the errors they
 * raise) goes to util-dynamodb's own `convertToAttr`. test/unit/document.test.ts holds both
 * to the same wire JSON.
 */
function toAttribute(value: unknown): AttributeValue {
  switch (typeof value) {
    case 'string':
      return { S: value };
    case 'number':
      if (Number.isFinite(value)) return { N: String(value) };
      break;
    case 'boolean':
      return { BOOL: value };
    case 'object':
      if (value === null) return { NULL: true };
      if (Array.isArray(value)) {
        const L: AttributeValue[] = [];
        for (const v of value) if (v !== undefined && typeof v !== 'function') L.push(toAttribute(v));
        return { L };
      }
      // An own `constructor` property makes util-dynamodb take the object for a class instance: its path.
      if ((value as object).constructor === Object) return { M: toMap(value as Item) };
  }
  const attribute = convertToAttr(value, MARSHALL);
  encodeBinary(attribute as unknown as Record<string, unknown>);
  return attribute;
}

/** A plain object's attributes, undefined and function values left out (removeUndefinedValues). */
function toMap(item: Item): Wire {
  const out: Wire = {};
  for (const name in item) {
    const v = item[name];
    if (v !== undefined && typeof v !== 'function') out[name] = toAttribute(v);
  }
  return out;
}

/** An item (or expression values) as DynamoDB's JSON: util-dynamodb's marshall, binary as base64. */
export function toWire(item: Item | undefined): Wire | undefined {
  if (item === undefined) return undefined;
  if ((item as object).constructor === Object) return toMap(item);
  const wire = marshall(item, MARSHALL);
  encodeMap(wire as unknown as Record<string, Record<string, unknown>>);
  return wire;
}

/** One attribute value as JavaScript: numbers as numbers, sets as Sets, binary as bytes. */
export function fromAttribute(value: AttributeValue): unknown {
  const v = value as unknown as Record<string, unknown>;
  if (v.S !== undefined) return v.S;
  if (v.N !== undefined) return Number(v.N);
  if (v.M !== undefined) return fromWire(v.M as Wire);
  if (v.L !== undefined) return (v.L as AttributeValue[]).map(fromAttribute);
  if (v.BOOL !== undefined) return v.BOOL;
  if (v.NULL !== undefined) return null;
  if (v.B !== undefined) return typeof v.B === 'string' ? bytesOf(v.B) : v.B;
  if (v.SS !== undefined) return new Set(v.SS as string[]);
  if (v.NS !== undefined) return new Set((v.NS as string[]).map(Number));
  if (v.BS !== undefined) return new Set((v.BS as Array<string | Uint8Array>).map((b) => (typeof b === 'string' ? bytesOf(b) : b)));
  throw new Error(`unsupported attribute value: ${Object.keys(v).join(',')}`);
}

/** An item (or a map attribute) as a plain object. */
export function fromWire(item: Wire): Item {
  const out: Item = {};
  for (const name in item) out[name] = fromAttribute(item[name]!);
  return out;
}

const fromWireOrUndefined = (item: unknown): Item | undefined => (item === undefined ? undefined : fromWire(item as Wire));
const fromPage = (items: unknown): Item[] | undefined => (items as Wire[] | undefined)?.map(fromWire);

type Values = { ExpressionAttributeValues?: Item };
const values = <T extends Values>(input: T) =>
  input.ExpressionAttributeValues === undefined ? undefined : toWire(input.ExpressionAttributeValues);

type KeyedOperation = { Key?: Item; ExpressionAttributeValues?: Item; [field: string]: unknown };

function keyed<T extends KeyedOperation>(op: T): WireInput {
  return { ...op, Key: toWire(op.Key), ExpressionAttributeValues: values(op) };
}

type WriteRequest = { PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } };

function mapWriteRequests(requests: Record<string, unknown[]>, convert: (item: Item) => unknown): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const table in requests) {
    out[table] = (requests[table] as WriteRequest[]).map((r) =>
      r.PutRequest ? { PutRequest: { Item: convert(r.PutRequest.Item) } } : { DeleteRequest: { Key: convert(r.DeleteRequest!.Key) } },
    );
  }
  return out;
}

/** The items an error carries (a failed condition's old item, a cancelled transaction's) as plain objects too. */
function plainErrorItems(err: unknown): unknown {
  if (err instanceof ConditionalCheckFailedException && err.Item) err.Item = fromWire(err.Item as Wire);
  if (err instanceof TransactionCanceledException && err.CancellationReasons) {
    err.CancellationReasons = err.CancellationReasons.map((r) => (r.Item ? { ...r, Item: fromWire(r.Item as Wire) } : r));
  }
  return err;
}

/** The client the store sends its commands through (shared/store/clients.ts makes it). */
export class TableClient {
  constructor(readonly transport: DynamoDBHttp) {}

  send(command: GetCommand): Promise<GetCommandOutput>;
  send(command: PutCommand): Promise<PutCommandOutput>;
  send(command: UpdateCommand): Promise<UpdateCommandOutput>;
  send(command: DeleteCommand): Promise<DeleteCommandOutput>;
  send(command: QueryCommand): Promise<QueryCommandOutput>;
  send(command: ScanCommand): Promise<ScanCommandOutput>;
  send(command: BatchGetCommand): Promise<BatchGetCommandOutput>;
  send(command: BatchWriteCommand): Promise<BatchWriteCommandOutput>;
  send(command: TransactWriteCommand): Promise<TransactWriteCommandOutput>;
  send(command: BatchExecuteStatementCommand): Promise<BatchExecuteStatementOutput>;
  send(command: AnyCommand): Promise<unknown> {
    return this.translate(command).catch((err: unknown) => {
      throw plainErrorItems(err);
    });
  }

  private async translate(command: AnyCommand): Promise<unknown> {
    const t = this.transport;
    switch (command.operation) {
      case 'GetItem': {
        const out = await t.send('GetItem', { ...command.input, Key: toWire(command.input.Key) });
        return { ...out, Item: fromWireOrUndefined(out.Item) };
      }
      case 'Query':
      case 'Scan': {
        const input = command.input;
        const wire = { ...input, ExpressionAttributeValues: values(input), ExclusiveStartKey: toWire(input.ExclusiveStartKey) };
        const out = await t.send(command.operation, wire);
        return { ...out, Items: fromPage(out.Items), LastEvaluatedKey: fromWireOrUndefined(out.LastEvaluatedKey) };
      }
      case 'UpdateItem':
      case 'DeleteItem': {
        const out = await t.send(command.operation, keyed(command.input as KeyedOperation));
        return { ...out, Attributes: fromWireOrUndefined(out.Attributes) };
      }
      case 'PutItem': {
        const input = command.input;
        const out = await t.send('PutItem', { ...input, Item: toWire(input.Item), ExpressionAttributeValues: values(input) });
        return { ...out, Attributes: fromWireOrUndefined(out.Attributes) };
      }
      case 'BatchGetItem': {
        const RequestItems: Record<string, unknown> = {};
        for (const [table, request] of Object.entries(command.input.RequestItems ?? {})) {
          RequestItems[table] = { ...request, Keys: request.Keys?.map((key) => toWire(key)) };
        }
        const out = await t.send('BatchGetItem', { ...command.input, RequestItems });
        const Responses: Record<string, Item[]> = {};
        for (const [table, items] of Object.entries((out.Responses ?? {}) as Record<string, Wire[]>))
          Responses[table] = items.map(fromWire);
        let UnprocessedKeys: Record<string, unknown> | undefined;
        if (out.UnprocessedKeys) {
          UnprocessedKeys = {};
          for (const [table, request] of Object.entries(out.UnprocessedKeys as Record<string, { Keys?: Wire[] }>)) {
            UnprocessedKeys[table] = { ...request, Keys: request.Keys?.map(fromWire) };
          }
        }
        return { ...out, Responses, UnprocessedKeys };
      }
      case 'BatchWriteItem': {
        const RequestItems = mapWriteRequests(command.input.RequestItems as Record<string, unknown[]>, (item) => toWire(item));
        const out = await t.send('BatchWriteItem', { ...command.input, RequestItems });
        const unprocessed = out.UnprocessedItems as Record<string, unknown[]> | undefined;
        return { ...out, UnprocessedItems: unprocessed && mapWriteRequests(unprocessed, (item) => fromWire(item as Wire)) };
      }
      case 'TransactWriteItems': {
        const TransactItems = (command.input.TransactItems ?? []).map((item) => {
          const out: Record<string, unknown> = {};
          if (item.Put) out.Put = { ...item.Put, Item: toWire(item.Put.Item), ExpressionAttributeValues: values(item.Put) };
          if (item.Update) out.Update = keyed(item.Update);
          if (item.Delete) out.Delete = keyed(item.Delete);
          if (item.ConditionCheck) out.ConditionCheck = keyed(item.ConditionCheck);
          return out;
        });
        return t.send('TransactWriteItems', { ...command.input, TransactItems });
      }
      case 'BatchExecuteStatement':
        return t.send('BatchExecuteStatement', command.input as unknown as WireInput);
      default:
        throw new Error(`the table client does not send ${(command as object).constructor.name}`);
    }
  }
}
