import { mfaConfirm } from '../../shared/api/methods/mfa';
import { httpHandler } from '../../shared/http/handler';

export const handler = httpHandler(mfaConfirm);
