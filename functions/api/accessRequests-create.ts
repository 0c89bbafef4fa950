import { httpHandler } from '../../shared/http/handler';
import { accessRequestsCreate } from '../../shared/api/methods/access-requests';

export const handler = httpHandler(accessRequestsCreate);
