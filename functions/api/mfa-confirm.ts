import { httpHandler } from '../../shared/http/handler';
import { mfaConfirm } from '../../shared/api/methods/mfa';

export const handler = httpHandler(mfaConfirm);
