import { httpHandler } from '../../shared/http/handler';
import { systemCreateUser } from '../../shared/api/methods/system';

export const handler = httpHandler(systemCreateUser);
