import { httpHandler } from '../../shared/http/handler';
import { regUsernameForEmail } from '../../shared/api/methods/registration';

export const handler = httpHandler(regUsernameForEmail);
