import { httpHandler } from '../../shared/http/handler';
import { eventsGetAttachment } from '../../shared/api/methods/attachments';

export const handler = httpHandler(eventsGetAttachment);
