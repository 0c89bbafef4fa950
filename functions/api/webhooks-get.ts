import { httpHandler } from '../../shared/http/handler';
import { webhooksGet } from '../../shared/api/methods/webhooks';

export const handler = httpHandler(webhooksGet);
