import { callBatch } from '../../shared/api/registry';
import { httpHandler } from '../../shared/http/handler';

export const handler = httpHandler(callBatch);
