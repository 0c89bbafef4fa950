import { httpHandler } from '../../shared/http/handler';
import { mfaDeactivate } from '../../shared/api/methods/mfa';

export const handler = httpHandler(mfaDeactivate);
