import { authLogout } from '../../shared/api/methods/auth';
import { httpHandler } from '../../shared/http/handler';

export const handler = httpHandler(authLogout);
