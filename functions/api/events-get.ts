import { httpHandler } from '../../shared/http/handler';
import { eventsGet } from '../../shared/api/methods/events';

export const handler = httpHandler(eventsGet);
