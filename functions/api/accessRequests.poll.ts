import { httpHandler } from '../../shared/http/handler';
import { accessRequestPoll } from '../../shared/api/methods/access-requests';

export const handler = httpHandler(accessRequestPoll);
