import { httpHandler } from '../../shared/http/handler';
import { accessRequestCreate } from '../../shared/api/methods/access-requests';

export const handler = httpHandler(accessRequestCreate);
