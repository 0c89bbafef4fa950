import { accountGet } from '../../shared/api/methods/account';
import { httpHandler } from '../../shared/http/handler';

export const handler = httpHandler(accountGet);
