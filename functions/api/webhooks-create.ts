import { httpHandler } from '../../shared/http/handler';
import { webhooksCreate } from '../../shared/api/methods/webhooks';

export const handler = httpHandler(webhooksCreate);
