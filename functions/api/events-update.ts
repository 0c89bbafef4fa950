import { httpHandler } from '../../shared/http/handler';
import { eventsUpdate } from '../../shared/api/methods/events';

export const handler = httpHandler(eventsUpdate);
