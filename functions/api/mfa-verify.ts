import { httpHandler } from '../../shared/http/handler';
import { mfaVerify } from '../../shared/api/methods/mfa';

export const handler = httpHandler(mfaVerify);
