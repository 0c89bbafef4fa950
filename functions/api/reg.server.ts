import { httpHandler } from '../../shared/http/handler';
import { userServer } from '../../shared/api/methods/registration';

export const handler = httpHandler(userServer);
