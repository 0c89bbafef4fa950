import { httpHandler } from '../../shared/http/handler';
import { authDelete } from '../../shared/api/methods/system';

export const handler = httpHandler(authDelete);
