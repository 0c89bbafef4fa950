import { httpHandler } from '../../shared/http/handler';
import { eventsDelete } from '../../shared/api/methods/events';

export const handler = httpHandler(eventsDelete);
