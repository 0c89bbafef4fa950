import { httpHandler } from '../../shared/http/handler';
import { register } from '../../shared/api/methods/registration';

export const handler = httpHandler(register);
