import { httpHandler } from '../../shared/http/handler';
import { serviceGreeting } from '../../shared/api/methods/service';

export const handler = httpHandler(serviceGreeting);
