import { httpHandler } from '../../shared/http/handler';
import { accessRequestsUpdate } from '../../shared/api/methods/access-requests';

export const handler = httpHandler(accessRequestsUpdate);
