import { eventsGetAttachment } from '../../shared/api/methods/attachments';
import { httpHandler } from '../../shared/http/handler';

export const handler = httpHandler(eventsGetAttachment);
