import { httpHandler } from '../../shared/http/handler';
import { accessesUpdate } from '../../shared/api/methods/accesses';

export const handler = httpHandler(accessesUpdate);
