import { httpHandler } from '../../shared/http/handler';
import { hostings } from '../../shared/api/methods/registration';

export const handler = httpHandler(hostings);
