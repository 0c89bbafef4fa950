import { httpHandler } from '../../shared/http/handler';
import { eventsCreate } from '../../shared/api/methods/events';

export const handler = httpHandler(eventsCreate);
