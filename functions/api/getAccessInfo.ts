import { httpHandler } from '../../shared/http/handler';
import { getAccessInfo } from '../../shared/api/methods/utility';

export const handler = httpHandler(getAccessInfo);
