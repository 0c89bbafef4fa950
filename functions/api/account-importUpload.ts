import { httpHandler } from '../../shared/http/handler';
import { accountImportUpload } from '../../shared/api/methods/export';

export const handler = httpHandler(accountImportUpload);
