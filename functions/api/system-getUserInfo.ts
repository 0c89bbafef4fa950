import { httpHandler } from '../../shared/http/handler';
import { systemGetUserInfo } from '../../shared/api/methods/system';

export const handler = httpHandler(systemGetUserInfo);
