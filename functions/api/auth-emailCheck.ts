import { httpHandler } from '../../shared/http/handler';
import { authEmailCheck } from '../../shared/api/methods/registration';

export const handler = httpHandler(authEmailCheck);
