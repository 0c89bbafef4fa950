import { httpHandler } from '../../shared/http/handler';
import { authDelete } from '../../shared/api/methods/auth';

export const handler = httpHandler(authDelete);
