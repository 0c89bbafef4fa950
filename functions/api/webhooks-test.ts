import { httpHandler } from '../../shared/http/handler';
import { webhooksTest } from '../../shared/api/methods/webhooks';

export const handler = httpHandler(webhooksTest);
