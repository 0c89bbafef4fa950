import { httpHandler } from '../../shared/http/handler';
import { callBatch } from '../../shared/api/registry';

export const handler = httpHandler(callBatch);
