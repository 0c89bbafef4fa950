import { httpHandler } from '../../shared/http/handler';
import { authUsernameCheck } from '../../shared/api/methods/registration';

export const handler = httpHandler(authUsernameCheck);
