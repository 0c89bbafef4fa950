import { httpHandler } from '../../shared/http/handler';
import { accountImport } from '../../shared/api/methods/export';

export const handler = httpHandler(accountImport);
