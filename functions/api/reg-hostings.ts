import { httpHandler } from '../../shared/http/handler';
import { regHostings } from '../../shared/api/methods/registration';

export const handler = httpHandler(regHostings);
