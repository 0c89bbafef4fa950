import { httpHandler } from '../../shared/http/handler';
import { eventsConfirmAttachmentUpload } from '../../shared/api/methods/attachments';

export const handler = httpHandler(eventsConfirmAttachmentUpload);
