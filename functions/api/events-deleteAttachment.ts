import { httpHandler } from '../../shared/http/handler';
import { eventsDeleteAttachment } from '../../shared/api/methods/attachments';

export const handler = httpHandler(eventsDeleteAttachment);
