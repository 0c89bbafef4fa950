import { httpHandler } from '../../shared/http/handler';
import { emailCheck } from '../../shared/api/methods/registration';

export const handler = httpHandler(emailCheck);
