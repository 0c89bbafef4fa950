import { httpHandler } from '../../shared/http/handler';
import { serviceInfoMethod } from '../../shared/api/methods/service';

export const handler = httpHandler(serviceInfoMethod);
