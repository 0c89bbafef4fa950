import { httpHandler } from '../../shared/http/handler';
import { mfaRecover } from '../../shared/api/methods/mfa';

export const handler = httpHandler(mfaRecover);
