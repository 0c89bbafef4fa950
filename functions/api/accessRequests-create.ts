import { accessRequestsCreate } from '../../shared/api/methods/access-requests';
import { httpHandler } from '../../shared/http/handler';

export const handler = httpHandler(accessRequestsCreate);
