import { httpHandler } from '../../shared/http/handler';
import { webhooksGetOne } from '../../shared/api/methods/webhooks';

export const handler = httpHandler(webhooksGetOne);
