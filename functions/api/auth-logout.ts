import { httpHandler } from '../../shared/http/handler';
import { authLogout } from '../../shared/api/methods/auth';

export const handler = httpHandler(authLogout);
