import { httpHandler } from '../../shared/http/handler';
import { accessRequestsPoll } from '../../shared/api/methods/access-requests';

export const handler = httpHandler(accessRequestsPoll);
