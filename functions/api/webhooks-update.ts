import { httpHandler } from '../../shared/http/handler';
import { webhooksUpdate } from '../../shared/api/methods/webhooks';

export const handler = httpHandler(webhooksUpdate);
