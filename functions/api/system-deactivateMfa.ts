import { httpHandler } from '../../shared/http/handler';
import { systemDeactivateMfa } from '../../shared/api/methods/mfa';

export const handler = httpHandler(systemDeactivateMfa);
