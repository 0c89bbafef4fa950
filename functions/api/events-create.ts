import { eventsCreate } from '../../shared/api/methods/events';
import { httpHandler } from '../../shared/http/handler';
import { enableDirectSocketPush } from '../direct-push';

enableDirectSocketPush(); // its event writes tell the user's sockets themselves
export const handler = httpHandler(eventsCreate);
