import { httpHandler } from '../../shared/http/handler';
import { eventsCreateAttachmentUpload } from '../../shared/api/methods/attachments';

export const handler = httpHandler(eventsCreateAttachmentUpload);
