/**
 * The floor of `npm run bench:bundles`: a function that only builds the store's DynamoDB
 * client every function has (shared/store/clients.ts, made on the first call: its transport
 * loads https, tls and crypto). No function of ours can start in less; what a bundle takes
 * above it is our share.
 */
import { dynamo, table } from '../../shared/store/clients';
import { GetCommand } from '../../shared/store/commands';

export const handler = async (event: { key: string }) => dynamo().send(new GetCommand({ TableName: table(), Key: { pk: event.key } }));
