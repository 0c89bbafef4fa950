import { httpHandler } from '../../shared/http/handler';
import { deleteUser } from '../../shared/api/methods/system';

export const handler = httpHandler(deleteUser);
