import { httpHandler } from '../../shared/http/handler';
import { serviceInfo } from '../../shared/api/methods/service';

export const handler = httpHandler(serviceInfo);
