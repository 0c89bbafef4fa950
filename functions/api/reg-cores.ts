import { httpHandler } from '../../shared/http/handler';
import { regCores } from '../../shared/api/methods/registration';

export const handler = httpHandler(regCores);
