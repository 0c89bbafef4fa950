import { accessRequestsPoll } from '../../shared/api/methods/access-requests';
import { httpHandler } from '../../shared/http/handler';

export const handler = httpHandler(accessRequestsPoll);
