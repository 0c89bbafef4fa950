import { httpHandler } from '../../shared/http/handler';
import { accessesCreate } from '../../shared/api/methods/accesses';

export const handler = httpHandler(accessesCreate);
