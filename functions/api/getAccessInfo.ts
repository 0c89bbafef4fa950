import { getAccessInfo } from '../../shared/api/methods/access-info';
import { httpHandler } from '../../shared/http/handler';

export const handler = httpHandler(getAccessInfo);
