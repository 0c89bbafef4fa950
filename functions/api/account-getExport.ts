import { accountGetExport } from '../../shared/api/methods/export';
import { httpHandler } from '../../shared/http/handler';

export const handler = httpHandler(accountGetExport);
