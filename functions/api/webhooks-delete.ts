import { httpHandler } from '../../shared/http/handler';
import { webhooksDelete } from '../../shared/api/methods/webhooks';

export const handler = httpHandler(webhooksDelete);
