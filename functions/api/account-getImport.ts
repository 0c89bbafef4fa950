import { accountGetImport } from '../../shared/api/methods/export';
import { httpHandler } from '../../shared/http/handler';

export const handler = httpHandler(accountGetImport);
