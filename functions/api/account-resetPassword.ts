import { accountResetPassword } from '../../shared/api/methods/account-reset';
import { httpHandler } from '../../shared/http/handler';

export const handler = httpHandler(accountResetPassword);
