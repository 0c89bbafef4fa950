import { httpHandler } from '../../shared/http/handler';
import { changePassword } from '../../shared/api/methods/account';

export const handler = httpHandler(changePassword);
