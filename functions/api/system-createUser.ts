import { systemCreateUser } from '../../shared/api/methods/system';
import { httpHandler } from '../../shared/http/handler';

export const handler = httpHandler(systemCreateUser);
