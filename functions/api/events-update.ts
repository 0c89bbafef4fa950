import { eventsUpdate } from '../../shared/api/methods/events';
import { httpHandler } from '../../shared/http/handler';

export const handler = httpHandler(eventsUpdate);
