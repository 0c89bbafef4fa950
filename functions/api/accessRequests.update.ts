import { httpHandler } from '../../shared/http/handler';
import { accessRequestUpdate } from '../../shared/api/methods/access-requests';

export const handler = httpHandler(accessRequestUpdate);
