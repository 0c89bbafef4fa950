import { httpHandler } from '../../shared/http/handler';
import { mfaChallenge } from '../../shared/api/methods/mfa';

export const handler = httpHandler(mfaChallenge);
