import { httpHandler } from '../../shared/http/handler';
import { accountChangePassword } from '../../shared/api/methods/account';

export const handler = httpHandler(accountChangePassword);
