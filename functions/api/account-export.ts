import { httpHandler } from '../../shared/http/handler';
import { accountExport } from '../../shared/api/methods/export';

export const handler = httpHandler(accountExport);
