/**
 * The store's table client as it was before the lean transport (shared/store/dynamodb-http.ts):
 * lib-dynamodb's document commands sent through the AWS SDK's DynamoDBClient, tuned as
 * shared/store/clients.ts tuned it (middleware resolved once per command class, idle
 * middleware removed). Kept for test/bench/sdk-request.ts, which measures both in one process.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand as QueryItemsCommand,
  ScanCommand as ScanItemsCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  DeleteCommand,
  type DeleteCommandOutput,
  GetCommand,
  type GetCommandOutput,
  PutCommand,
  type PutCommandOutput,
  QueryCommand,
  type QueryCommandOutput,
  ScanCommand,
  type ScanCommandOutput,
  TransactWriteCommand,
  type TransactWriteCommandOutput,
  UpdateCommand,
  type UpdateCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { marshall, type marshallOptions } from '@aws-sdk/util-dynamodb';
import { fromWire } from '../../shared/store/document';

// Event times and durations are any JSON number (running events end at 9.9e125): past 2^53
// they are floats to us as to DynamoDB, not integers losing precision.
const MARSHALL: marshallOptions = { removeUndefinedValues: true, convertClassInstanceToMap: false, allowImpreciseNumbers: true };

type Item = Record<string, unknown>;
type Wire = Record<string, AttributeValue>;

const toWire = (item: Item | undefined): Wire | undefined => (item === undefined ? undefined : marshall(item, MARSHALL));

const fromWireOrUndefined = (item: Wire | undefined): Item | undefined => (item === undefined ? undefined : fromWire(item));
const fromPage = (items: Wire[] | undefined): Item[] | undefined => items?.map(fromWire);

type Values = { ExpressionAttributeValues?: Item };
const values = <T extends Values>(input: T) =>
  input.ExpressionAttributeValues === undefined ? undefined : toWire(input.ExpressionAttributeValues);

type KeyedOperation = { Key?: Item; ExpressionAttributeValues?: Item; [field: string]: unknown };

function keyed<T extends KeyedOperation>(op: T): Record<string, unknown> {
  return { ...op, Key: toWire(op.Key), ExpressionAttributeValues: values(op) };
}

type WriteRequest = { PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } };
type WireWriteRequest = { PutRequest?: { Item: Wire }; DeleteRequest?: { Key: Wire } };

/** The SDK-based table client. */
export class SdkTableClient {
  constructor(readonly client: DynamoDBClient) {}

  send(command: GetCommand): Promise<GetCommandOutput>;
  send(command: PutCommand): Promise<PutCommandOutput>;
  send(command: UpdateCommand): Promise<UpdateCommandOutput>;
  send(command: DeleteCommand): Promise<DeleteCommandOutput>;
  send(command: QueryCommand): Promise<QueryCommandOutput>;
  send(command: ScanCommand): Promise<ScanCommandOutput>;
  send(command: BatchGetCommand): Promise<BatchGetCommandOutput>;
  send(command: BatchWriteCommand): Promise<BatchWriteCommandOutput>;
  send(command: TransactWriteCommand): Promise<TransactWriteCommandOutput>;
  async send(command: { input: object }): Promise<unknown> {
    const c = this.client;
    if (command instanceof GetCommand) {
      const out = await c.send(new GetItemCommand({ ...command.input, Key: toWire(command.input.Key) }));
      return { ...out, Item: fromWireOrUndefined(out.Item) };
    }
    if (command instanceof QueryCommand || command instanceof ScanCommand) {
      const input = command.input;
      const wire = { ...input, ExpressionAttributeValues: values(input), ExclusiveStartKey: toWire(input.ExclusiveStartKey) };
      const out = await (command instanceof QueryCommand
        ? c.send(new QueryItemsCommand(wire as never))
        : c.send(new ScanItemsCommand(wire as never)));
      return { ...out, Items: fromPage(out.Items), LastEvaluatedKey: fromWireOrUndefined(out.LastEvaluatedKey) };
    }
    if (command instanceof UpdateCommand) {
      const out = await c.send(new UpdateItemCommand(keyed(command.input) as never));
      return { ...out, Attributes: fromWireOrUndefined(out.Attributes) };
    }
    if (command instanceof PutCommand) {
      const input = command.input;
      const out = await c.send(
        new PutItemCommand({ ...input, Item: toWire(input.Item), ExpressionAttributeValues: values(input) } as never),
      );
      return { ...out, Attributes: fromWireOrUndefined(out.Attributes) };
    }
    if (command instanceof DeleteCommand) {
      const out = await c.send(new DeleteItemCommand(keyed(command.input) as never));
      return { ...out, Attributes: fromWireOrUndefined(out.Attributes) };
    }
    if (command instanceof BatchGetCommand) {
      const RequestItems: Record<string, unknown> = {};
      for (const [table, request] of Object.entries(command.input.RequestItems ?? {})) {
        RequestItems[table] = { ...request, Keys: request.Keys?.map((key) => toWire(key)) };
      }
      const out = await c.send(new BatchGetItemCommand({ ...command.input, RequestItems } as never));
      const Responses: Record<string, Item[]> = {};
      for (const [table, items] of Object.entries(out.Responses ?? {})) Responses[table] = items.map(fromWire);
      let UnprocessedKeys: Record<string, unknown> | undefined;
      if (out.UnprocessedKeys) {
        UnprocessedKeys = {};
        for (const [table, request] of Object.entries(out.UnprocessedKeys)) {
          UnprocessedKeys[table] = { ...request, Keys: request.Keys?.map(fromWire) };
        }
      }
      return { ...out, Responses, UnprocessedKeys };
    }
    if (command instanceof BatchWriteCommand) {
      const map = (requests: Record<string, unknown[]>, convert: (item: Item) => unknown) => {
        const out: Record<string, unknown[]> = {};
        for (const [table, list] of Object.entries(requests)) {
          out[table] = (list as WriteRequest[]).map((r) =>
            r.PutRequest ? { PutRequest: { Item: convert(r.PutRequest.Item) } } : { DeleteRequest: { Key: convert(r.DeleteRequest!.Key) } },
          );
        }
        return out;
      };
      const RequestItems = map(command.input.RequestItems as Record<string, unknown[]>, (item) => toWire(item));
      const out = await c.send(new BatchWriteItemCommand({ ...command.input, RequestItems } as never));
      const unprocessed = out.UnprocessedItems as Record<string, WireWriteRequest[]> | undefined;
      return { ...out, UnprocessedItems: unprocessed && map(unprocessed, (item) => fromWire(item as unknown as Wire)) };
    }
    if (command instanceof TransactWriteCommand) {
      const TransactItems = (command.input.TransactItems ?? []).map((item) => {
        const out: Record<string, unknown> = {};
        if (item.Put) out.Put = { ...item.Put, Item: toWire(item.Put.Item), ExpressionAttributeValues: values(item.Put) };
        if (item.Update) out.Update = keyed(item.Update);
        if (item.Delete) out.Delete = keyed(item.Delete);
        if (item.ConditionCheck) out.ConditionCheck = keyed(item.ConditionCheck);
        return out;
      });
      return c.send(new TransactWriteItemsCommand({ ...command.input, TransactItems } as never));
    }
    throw new Error(`the table client does not send ${command.constructor.name}`);
  }
}

/** A DynamoDBClient set up as the store's was: middleware cached, logger and user agent middleware removed. */
export function tunedSdkClient(endpoint: string, region: string): SdkTableClient {
  const client = new DynamoDBClient({
    region,
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    cacheMiddleware: true,
  });
  for (const name of ['loggerMiddleware', 'getUserAgentMiddleware', 'recursionDetectionMiddleware']) client.middlewareStack.remove(name);
  return new SdkTableClient(client);
}
