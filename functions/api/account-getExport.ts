import { httpHandler } from '../../shared/http/handler';
import { accountGetExport } from '../../shared/api/methods/export';

export const handler = httpHandler(accountGetExport);
