/**
 * The floor of `npm run bench:bundles`: a function that only builds the DynamoDB document
 * client every function has (and so loads what the SDK itself loads: https, tls, crypto,
 * streams, its core). No function of ours can start in less; what a bundle takes above it is
 * our share.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';

const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));

export const handler = async (event: { key: string }) => client.send(new GetCommand({ TableName: 'floor', Key: { pk: event.key } }));
