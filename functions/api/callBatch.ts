import { httpHandler } from '../../shared/http/handler';
import { callBatch } from '../../shared/api/methods/utility';

export const handler = httpHandler(callBatch);
