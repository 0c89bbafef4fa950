import { httpHandler } from '../../shared/http/handler';
import { eventsGetOne } from '../../shared/api/methods/events';

export const handler = httpHandler(eventsGetOne);
