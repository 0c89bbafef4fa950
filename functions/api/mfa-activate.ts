import { httpHandler } from '../../shared/http/handler';
import { mfaActivate } from '../../shared/api/methods/mfa';

export const handler = httpHandler(mfaActivate);
