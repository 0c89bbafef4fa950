import { httpHandler } from '../../shared/http/handler';
import { usernameCheck } from '../../shared/api/methods/registration';

export const handler = httpHandler(usernameCheck);
