import { httpHandler } from '../../shared/http/handler';
import { accountResetPassword } from '../../shared/api/methods/account-reset';

export const handler = httpHandler(accountResetPassword);
