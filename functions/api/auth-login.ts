import { httpHandler } from '../../shared/http/handler';
import { authLogin } from '../../shared/api/methods/auth';

export const handler = httpHandler(authLogin);
