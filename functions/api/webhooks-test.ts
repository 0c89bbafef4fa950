import { webhooksTest } from '../../shared/api/methods/webhooks';
import { httpHandler } from '../../shared/http/handler';

export const handler = httpHandler(webhooksTest);
