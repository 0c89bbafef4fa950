import { httpHandler } from '../../shared/http/handler';
import { authRegister } from '../../shared/api/methods/registration';

export const handler = httpHandler(authRegister);
