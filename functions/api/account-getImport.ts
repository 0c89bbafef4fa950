import { httpHandler } from '../../shared/http/handler';
import { accountGetImport } from '../../shared/api/methods/export';

export const handler = httpHandler(accountGetImport);
