import { regServer } from '../../shared/api/methods/registration';
import { httpHandler } from '../../shared/http/handler';

export const handler = httpHandler(regServer);
