import { httpHandler } from '../../shared/http/handler';
import { usernameForEmailMethod } from '../../shared/api/methods/registration';

export const handler = httpHandler(usernameForEmailMethod);
