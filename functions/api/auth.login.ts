import { httpHandler } from '../../shared/http/handler';
import { login } from '../../shared/api/methods/auth';

export const handler = httpHandler(login);
