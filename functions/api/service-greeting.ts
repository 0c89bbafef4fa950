import { serviceGreeting } from '../../shared/api/methods/service';
import { httpHandler } from '../../shared/http/handler';

export const handler = httpHandler(serviceGreeting);
