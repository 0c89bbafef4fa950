import { accessesGetOne } from '../../shared/api/methods/accesses';
import { httpHandler } from '../../shared/http/handler';

export const handler = httpHandler(accessesGetOne);
