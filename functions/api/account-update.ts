import { httpHandler } from '../../shared/http/handler';
import { accountUpdate } from '../../shared/api/methods/account';

export const handler = httpHandler(accountUpdate);
