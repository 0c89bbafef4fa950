import { httpHandler } from '../../shared/http/handler';
import { regServer } from '../../shared/api/methods/registration';

export const handler = httpHandler(regServer);
