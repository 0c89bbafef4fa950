import { httpHandler } from '../../shared/http/handler';
import { logout } from '../../shared/api/methods/auth';

export const handler = httpHandler(logout);
