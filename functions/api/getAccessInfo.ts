import { httpHandler } from '../../shared/http/handler';
import { getAccessInfo } from '../../shared/api/methods/access-info';

export const handler = httpHandler(getAccessInfo);
