import { httpHandler } from '../../shared/http/handler';
import { accountRequestPasswordReset } from '../../shared/api/methods/account-reset';

export const handler = httpHandler(accountRequestPasswordReset);
