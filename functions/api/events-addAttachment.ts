import { httpHandler } from '../../shared/http/handler';
import { eventsAddAttachment } from '../../shared/api/methods/attachments';

export const handler = httpHandler(eventsAddAttachment);
