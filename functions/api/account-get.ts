import { httpHandler } from '../../shared/http/handler';
import { accountGet } from '../../shared/api/methods/account';

export const handler = httpHandler(accountGet);
